// dybnn_sliding_window: SlidingWindow, the convolution input generator (im2col on a stream): (H, W, C) ->
// (OH, OW, KH*KW*C) with window elements in (ky, kx, c) order and the border = pad value (PAD_ONES: +1 bits,
// else -1 bits or fixed-point 0). The generator dybnn_swu at SIMD = PE (see there for the loop structure).
module dybnn_sliding_window #(
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
    parameter int DATA_W = 1,
    parameter int WIN_W = 1,
    parameter bit PAD_ONES = 1'b0,
    parameter LB_STYLE = "distributed"
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic [DATA_W-1:0] in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [WIN_W-1:0]  out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
  dybnn_swu #(
      .H(H),
      .W(W),
      .PT(PT),
      .PL(PL),
      .PH(PH),
      .PW(PW),
      .KH(KH),
      .KW(KW),
      .SH(SH),
      .SW(SW),
      .OH(OH),
      .OW(OW),
      .CF(CF),
      .DATA_W(DATA_W),
      .WIN_W(WIN_W),
      .PAD_ONES(PAD_ONES),
      .LB_STYLE(LB_STYLE),
      .MASKED(1'b0)
  ) u_swu (
      .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
  );
endmodule
