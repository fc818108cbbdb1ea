// dybnn_label_select: indices of the K largest of C scores, largest first, ties to the lower index (hwsim
// LabelSelect, HLS label_select.hpp.j2). Two sequential loops per frame, as the cycle model counts them:
// "select" reads the C/PE score words (PE insertions into a sorted list of K entries per word; a score enters only
// above a strictly smaller one), then "emit" writes the K indices, one OUT_W-bit word per cycle.
module dybnn_label_select #(
    parameter int PE = 1,
    parameter int C = 2,
    parameter int K = 1,
    parameter int X_W = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter int IDX_W = 1,
    parameter int OUT_W = 1
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic [PE*X_W-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [OUT_W-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
  localparam int WORDS = C / PE;
  localparam int XW = X_W + 1;  // scores compared as signed XW-bit values

  logic signed [XW-1:0] best[K];
  logic [IDX_W-1:0] index[K];
  logic [K-1:0] used;
  logic signed [XW-1:0] best_n[K];
  logic [IDX_W-1:0] index_n[K];
  logic [K-1:0] used_n;
  logic emitting;
  int unsigned i;  // word (select) or index (emit) counter

  wire adv = !out0_tvalid || out0_tready;
  assign in0_tready = rst_n && !emitting;
  wire fire = in0_tvalid && in0_tready;

  // the PE insertions of one word, in element order
  always_comb begin
    logic signed [XW-1:0] cx;
    logic [IDX_W-1:0] ci;
    logic cu;
    logic placed;
    logic signed [XW-1:0] tx;
    logic [IDX_W-1:0] ti;
    logic tu;
    for (int k = 0; k < K; k++) begin
      best_n[k] = best[k];
      index_n[k] = index[k];
    end
    used_n = used;
    cx = '0;
    ci = '0;
    cu = 1'b0;
    placed = 1'b0;
    tx = '0;
    ti = '0;
    tu = 1'b0;
    for (int p = 0; p < PE; p++) begin
      if (X_SIGNED) cx = XW'($signed(in0_tdata[p*X_W+:X_W]));
      else cx = $signed({1'b0, in0_tdata[p*X_W+:X_W]});
      ci = IDX_W'(i * PE + p);
      cu = 1'b1;
      placed = 1'b0;
      for (int k = 0; k < K; k++) begin
        if (!placed && (!used_n[k] || cx > best_n[k])) placed = 1'b1;
        if (placed && cu) begin
          tx = best_n[k];
          ti = index_n[k];
          tu = used_n[k];
          best_n[k] = cx;
          index_n[k] = ci;
          used_n[k] = 1'b1;
          cx = tx;
          ci = ti;
          cu = tu;
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      used <= '0;
      emitting <= 1'b0;
      i <= 0;
      out0_tvalid <= 1'b0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (!emitting) begin
        if (fire) begin
          for (int k = 0; k < K; k++) begin
            best[k] <= best_n[k];
            index[k] <= index_n[k];
          end
          used <= used_n;
          if (i == WORDS - 1) begin
            i <= 0;
            emitting <= 1'b1;
          end else begin
            i <= i + 1;
          end
        end
      end else if (adv) begin
        out0_tdata <= OUT_W'(index[i]);
        out0_tvalid <= 1'b1;
        if (i == K - 1) begin
          i <= 0;
          emitting <= 1'b0;
          used <= '0;
        end else begin
          i <= i + 1;
        end
      end
    end
  end
endmodule
