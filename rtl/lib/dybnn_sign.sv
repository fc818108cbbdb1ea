// dybnn_sign: static per-channel thresholds (hwsim Sign, HLS sign.hpp.j2). One PE-wide word per cycle:
//   bit p of the output word = (x_p >= thr[c]) XOR invert[c],  channel c = cf*PE + p,  cf = word index mod C/PE.
// Parameter memory (P_INIT_FILE, C/PE words): lane p at bits [p*(THR_W+1) +: THR_W+1] holds {invert, thr}, thr a
// THR_W-bit two's complement threshold on the input grid.
module dybnn_sign #(
    parameter int PE = 1,
    parameter int C = 1,
    parameter int X_W = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter int THR_W = 9,
    parameter P_INIT_FILE = "",
    parameter P_STYLE = "distributed"
) (
    input  logic            clk,
    input  logic            rst_n,
    input  logic [PE*X_W-1:0] in0_tdata,
    input  logic            in0_tvalid,
    output logic            in0_tready,
    output logic [PE-1:0]   out0_tdata,
    output logic            out0_tvalid,
    input  logic            out0_tready
);
  localparam int CF = C / PE;
  localparam int FW = CF > 1 ? $clog2(CF) : 1;
  localparam int LW = THR_W + 1;
  localparam int CW = (X_W + 1 > THR_W) ? X_W + 1 : THR_W;

  generate
    if (C % PE != 0) begin : g_bad
      $error("dybnn_sign: PE must divide C");
    end
  endgenerate

  logic [FW-1:0] cf;
  logic [FW-1:0] cf_next;
  logic [PE*LW-1:0] prm;
  logic [PE-1:0] y;
  wire adv = !out0_tvalid || out0_tready;
  assign in0_tready = rst_n && adv;
  wire fire = in0_tvalid && in0_tready;
  assign cf_next = !fire ? cf : (cf == FW'(CF - 1)) ? '0 : cf + FW'(1);

  dybnn_rom #(.DEPTH(CF), .WIDTH(PE * LW), .INIT_FILE(P_INIT_FILE), .STYLE(P_STYLE)) u_prm (
      .clk(clk), .addr(cf_next), .data(prm)
  );

  genvar p;
  generate
    for (p = 0; p < PE; p++) begin : g_lane
      logic signed [CW-1:0] x;
      logic signed [CW-1:0] t;
      if (X_SIGNED) begin : g_s
        assign x = CW'($signed(in0_tdata[p*X_W+:X_W]));
      end else begin : g_u
        assign x = $signed({{(CW - X_W) {1'b0}}, in0_tdata[p*X_W+:X_W]});
      end
      assign t = CW'($signed(prm[p*LW+:THR_W]));
      assign y[p] = (x >= t) ^ prm[p*LW+THR_W];
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out0_tvalid <= 1'b0;
      cf <= '0;
    end else begin
      cf <= cf_next;
      if (adv) out0_tvalid <= in0_tvalid;
    end
    if (fire) out0_tdata <= y;
  end
endmodule
