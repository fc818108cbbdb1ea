// dybnn_pool_reduce: the reducer of MaxPool, AvgPool (behind a sliding-window generator) and GlobalPool: one
// input word per cycle, KK words per channel fold and output word (a window, or a whole frame for
// GlobalPool), in (k, cf) order with CF words per k; the result of channel fold cf leaves with its last word
// (hls/templates/max_pool.hpp.j2, avg_pool.hpp.j2 "reduce", global_pool.hpp.j2).
// MODE 0: sum (of the elements requantized to PRE_BITS by PRE_SHIFT when PRE), then requantized by SHIFT when
// REQUANT; MODE 1: maximum (signed/unsigned by X_SIGNED); MODE 2: OR of bits. With MASKED, bit PE*X_BITS of
// an input word is 1 in_map the map: padded words take no part in the maximum / OR.
// The PE x CF accumulators are a RAM read one word ahead (RAM_STYLE).
/* verilator lint_off UNUSEDSIGNAL */  // which operand bits a MODE uses depends on the parameters
module dybnn_pool_reduce #(
    parameter int PE = 1,
    parameter int CF = 1,
    parameter int KK = 1,
    parameter int MODE = 0,
    parameter bit MASKED = 1'b0,
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter bit PRE = 1'b0,
    parameter int PRE_BITS = 8,
    parameter bit PRE_SIGNED = 1'b1,
    parameter int PRE_SHIFT = 0,
    parameter int SUM_BITS = 16,
    parameter bit REQUANT = 1'b0,
    parameter int OUT_BITS = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0,
    parameter RAM_STYLE = "distributed",
    localparam int IN_W = PE * X_BITS + (MASKED ? 1 : 0),
    localparam int ACC_BITS = MODE == 0 ? SUM_BITS : X_BITS
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [IN_W-1:0]        in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  localparam int AW = $clog2(CF > 1 ? CF : 2);
  localparam int KW = $clog2(KK > 1 ? KK : 2);

  logic last;  // the word in front completes the output word
  logic take;
  logic [AW-1:0] cf, cf_next;
  logic [KW-1:0] k;
  logic in_map;
  logic [PE*ACC_BITS-1:0] acc_r, acc_w;
  logic [PE*OUT_BITS-1:0] y;

  assign last = 32'(k) == KK - 1;
  assign in0_tready = !last || !out0_tvalid || out0_tready;
  assign take = in0_tvalid && in0_tready;
  assign in_map = MASKED ? in0_tdata[IN_W-1] : 1'b1;

  always_comb begin
    cf_next = cf;
    if (take) cf_next = (32'(cf) == CF - 1) ? '0 : cf + 1'b1;
    if (!rst_n) cf_next = '0;
  end

  dybnn_ram #(.DEPTH(CF), .WIDTH(PE * ACC_BITS), .STYLE(RAM_STYLE)) u_acc (
      .clk(clk), .we(take), .waddr(cf), .wdata(acc_w), .raddr(cf_next), .rdata(acc_r));

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic [X_BITS-1:0] xr;
    logic signed [X_BITS:0] x;
    assign xr = in0_tdata[p*X_BITS+:X_BITS];
    assign x = X_SIGNED ? {xr[X_BITS-1], xr} : {1'b0, xr};
    if (MODE == 0) begin : g_sum
      logic signed [SUM_BITS-1:0] s;
      logic signed [SUM_BITS-1:0] prev;
      logic signed [SUM_BITS-1:0] xs;
      if (PRE) begin : g_pre
        logic [PRE_BITS-1:0] xq;
        dybnn_rne_sat #(.IN_W(X_BITS + 1), .BITS(PRE_BITS), .SIGNED(PRE_SIGNED), .SHIFT(PRE_SHIFT)) u_pre (
            .v(x), .q(xq));
        assign xs = PRE_SIGNED ? SUM_BITS'($signed(xq)) : SUM_BITS'($signed({1'b0, xq}));
      end else begin : g_nopre
        assign xs = SUM_BITS'(x);
      end
      assign prev = k == '0 ? '0 : acc_r[p*ACC_BITS+:ACC_BITS];
      assign s = prev + xs;
      assign acc_w[p*ACC_BITS+:ACC_BITS] = s;
      if (REQUANT) begin : g_rq
        dybnn_rne_sat #(.IN_W(SUM_BITS), .BITS(OUT_BITS), .SIGNED(OUT_SIGNED), .SHIFT(SHIFT)) u_q (
            .v(s), .q(y[p*OUT_BITS+:OUT_BITS]));
      end else begin : g_exact
        assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(s);
      end
    end else if (MODE == 1) begin : g_max
      logic signed [X_BITS:0] m;
      logic signed [X_BITS:0] prev;
      logic [X_BITS-1:0] pr;
      assign pr = acc_r[p*ACC_BITS+:ACC_BITS];
      always_comb begin
        if (k == '0) prev = X_SIGNED ? {1'b1, 1'b1, {(X_BITS - 1) {1'b0}}} : '0;  // the type's minimum
        else prev = X_SIGNED ? {pr[X_BITS-1], pr} : {1'b0, pr};
        m = (in_map && x > prev) ? x : prev;
      end
      assign acc_w[p*ACC_BITS+:ACC_BITS] = m[X_BITS-1:0];
      assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(m);
    end else begin : g_or
      logic [X_BITS-1:0] m;
      assign m = (k == '0 ? '0 : acc_r[p*ACC_BITS+:ACC_BITS]) | (in_map ? xr : '0);
      assign acc_w[p*ACC_BITS+:ACC_BITS] = m;
      assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(m);
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out0_tvalid <= 1'b0;
      cf <= '0;
      k <= '0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (take && last) out0_tvalid <= 1'b1;
      cf <= cf_next;
      if (take && 32'(cf) == CF - 1) k <= last ? '0 : k + 1'b1;
    end
    if (take && last) out0_tdata <= y;
  end
endmodule
/* verilator lint_on UNUSEDSIGNAL */
