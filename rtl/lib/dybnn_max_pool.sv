// dybnn_max_pool: MaxPool node (hwsim/nodes/max_pool.py; hls/templates/max_pool.hpp.j2). The sliding-window
// generator dybnn_swu (padded words masked out when MASKED) feeds, through the window FIFO (WIN_DEPTH words),
// the reducer dybnn_pool_reduce, which takes one window word per cycle and keeps the running maximum of every channel (BIPOLAR: the OR of the bits); the
// two run concurrently (hls.cycles: max(swu, OH*OW*KH*KW*C/PE) cycles per frame).
module dybnn_max_pool #(
    parameter int H = 1,
    parameter int W = 1,
    parameter int PT = 0,
    parameter int PL = 0,
    parameter int PH = 1,
    parameter int PW = 1,
    parameter int KH = 1,
    parameter int KW = 1,
    parameter int SH = 1,
    parameter int SW = 1,
    parameter int OH = 1,
    parameter int OW = 1,
    parameter int CF = 1,
    parameter bit MASKED = 1'b0,
    parameter LB_STYLE = "distributed",
    parameter int WIN_DEPTH = 2,            // hls.timing.window_buffer_depth
    parameter WIN_STYLE = "srl",
    parameter int PE = 1,
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter bit BIPOLAR = 1'b0,
    parameter ACC_STYLE = "distributed"
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*X_BITS-1:0]   in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*X_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  localparam int DATA_W = PE * X_BITS;
  localparam int WIN_W = DATA_W + (MASKED ? 1 : 0);
  logic [WIN_W-1:0] win_tdata, red_tdata;
  logic win_tvalid, win_tready, red_tvalid, red_tready;

  dybnn_swu #(
      .H(H), .W(W), .PT(PT), .PL(PL), .PH(PH), .PW(PW), .KH(KH), .KW(KW), .SH(SH), .SW(SW), .OH(OH), .OW(OW),
      .CF(CF), .DATA_W(DATA_W), .WIN_W(WIN_W), .MASKED(MASKED), .PAD_ONES(1'b0), .LB_STYLE(LB_STYLE)
  ) u_swu (
      .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
      .out0_tdata(win_tdata), .out0_tvalid(win_tvalid), .out0_tready(win_tready));

  // the window stream of the HLS template's inner dataflow region, as deep as the timing model says
  /* verilator lint_off PINCONNECTEMPTY */
  dybnn_fifo #(.WIDTH(WIN_W), .DEPTH(WIN_DEPTH), .STYLE(WIN_STYLE)) u_win (
      .clk(clk), .rst_n(rst_n), .in0_tdata(win_tdata), .in0_tvalid(win_tvalid), .in0_tready(win_tready),
      .out0_tdata(red_tdata), .out0_tvalid(red_tvalid), .out0_tready(red_tready), .level());
  /* verilator lint_on PINCONNECTEMPTY */

  dybnn_pool_reduce #(
      .PE(PE), .CF(CF), .KK(KH * KW), .MODE(BIPOLAR ? 2 : 1), .SUM_BITS(X_BITS), .REQUANT(1'b0), .OUT_BITS(X_BITS), .OUT_SIGNED(X_SIGNED), .SHIFT(0),
      .MASKED(MASKED), .X_BITS(X_BITS), .X_SIGNED(X_SIGNED), .PRE(1'b0), .PRE_BITS(1), .PRE_SIGNED(1'b0),
      .PRE_SHIFT(0), .RAM_STYLE(ACC_STYLE)
  ) u_reduce (
      .clk(clk), .rst_n(rst_n), .in0_tdata(red_tdata), .in0_tvalid(red_tvalid), .in0_tready(red_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready));
endmodule
