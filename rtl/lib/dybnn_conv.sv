// dybnn_conv: XnorConv (binary weights) and FixedConv (multi-bit weights, the stem); the matrix unit's mode
// parameters say which. As in the HLS template, the sliding-window generator
// dybnn_swu and the matrix-vector unit dybnn_mvu run concurrently, connected by a stream of WIN_DEPTH words
// (hls.timing.window_buffer_depth; the inner dataflow region: the node's cycles per frame are the larger of the two loops); HAS_SWU = 0 (a 1x1, stride-1,
// unpadded convolution) feeds the input straight to the matrix unit. MASKED (0-padding of bits) makes the
// window words carry a valid bit. Parameters: dybnn_mvu's and dybnn_swu's (IN_W = the stream's word width).
module dybnn_conv #(
    parameter bit HAS_SWU = 1'b1,
    parameter int WIN_DEPTH = 2,
    parameter WIN_STYLE = "srl",
    parameter int PE = 1,
    parameter int SIMD = 1,
    parameter int NF = 1,
    parameter int SF = 1,
    parameter int KIND = 0,
    parameter bit MASKED = 1'b0,
    parameter int X_W = 1,
    parameter bit X_SIGNED = 1'b0,
    parameter int IN_W = 1,
    parameter int W_W = 1,
    parameter int ACC_W = 8,
    parameter int STAGE = 0,
    parameter int THR_W = 8,
    parameter int MUL_W = 2,
    parameter int BIAS_W = 2,
    parameter int VALUE_W = 8,
    parameter bit REQUANT = 1'b0,
    parameter int SHIFT = 0,
    parameter int OUT_BITS = 1,
    parameter bit OUT_SIGNED = 1'b0,
    parameter W_INIT_FILE = "",
    parameter W_STYLE = "distributed",
    parameter P_INIT_FILE = "",
    parameter P_STYLE = "distributed",
    parameter VEC_STYLE = "distributed",
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
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [DATA_W-1:0]        in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  // the matrix unit's input: the window stream (through its FIFO) or, without a window generator, the input
  logic [IN_W-1:0] mv_tdata;
  logic mv_tvalid, mv_tready;
  generate
    if (HAS_SWU) begin : g_swu
      logic [IN_W-1:0] win_tdata;
      logic win_tvalid, win_tready;
      /* verilator lint_off PINCONNECTEMPTY */  // the inner stream's occupancy is not observed
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
          .MASKED(MASKED)
      ) u_swu (
          .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
          .out0_tdata(win_tdata), .out0_tvalid(win_tvalid), .out0_tready(win_tready)
      );
      dybnn_fifo #(.WIDTH(IN_W), .DEPTH(WIN_DEPTH), .STYLE(WIN_STYLE)) u_win (
          .clk(clk), .rst_n(rst_n), .in0_tdata(win_tdata), .in0_tvalid(win_tvalid), .in0_tready(win_tready),
          .out0_tdata(mv_tdata), .out0_tvalid(mv_tvalid), .out0_tready(mv_tready), .level()
      );
      /* verilator lint_on PINCONNECTEMPTY */
    end else begin : g_direct
      assign mv_tdata = in0_tdata;
      assign mv_tvalid = in0_tvalid;
      assign in0_tready = mv_tready;
    end
  endgenerate
  dybnn_mvu #(
      .PE(PE),
      .SIMD(SIMD),
      .NF(NF),
      .SF(SF),
      .KIND(KIND),
      .MASKED(MASKED),
      .X_W(X_W),
      .X_SIGNED(X_SIGNED),
      .IN_W(IN_W),
      .W_W(W_W),
      .ACC_W(ACC_W),
      .STAGE(STAGE),
      .THR_W(THR_W),
      .MUL_W(MUL_W),
      .BIAS_W(BIAS_W),
      .VALUE_W(VALUE_W),
      .REQUANT(REQUANT),
      .SHIFT(SHIFT),
      .OUT_BITS(OUT_BITS),
      .OUT_SIGNED(OUT_SIGNED),
      .W_INIT_FILE(W_INIT_FILE),
      .W_STYLE(W_STYLE),
      .P_INIT_FILE(P_INIT_FILE),
      .P_STYLE(P_STYLE),
      .VEC_STYLE(VEC_STYLE)
      ) u_mvu (
      .clk(clk), .rst_n(rst_n), .in0_tdata(mv_tdata), .in0_tvalid(mv_tvalid), .in0_tready(mv_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
  );
endmodule
