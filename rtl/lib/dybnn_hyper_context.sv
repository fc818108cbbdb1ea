// dybnn_hyper_context: HyperContext node (hwsim/nodes/hyper_context.py; hls/templates/hyper_context.hpp.j2), the one
// frame buffer of a hyper_context: stem network. dybnn_dynamic_core with CONTEXT_OUT: frame_in stores the frame
// in a ring of BUFFERS frames and pools it (channel sums, elements requantized to PRE_BITS when PRE; with the last
// pixel s = requant(sum) by STAT_SHIFT); context_out then sends the CF statistics words (out1, the context vector
// every dynamic unit reads as its in1), and only then frame_out releases the frame unchanged (out0). So the
// context of frame f reaches every dynamic unit before any word of its frame f can. Cycles per frame:
// hls.cycles.dynamic_cycles with hyper = context_out = CF (BUFFERS = 1: H*W*C/PE + C/PE; BUFFERS = 2:
// H*W*C/PE).
module dybnn_hyper_context #(
    parameter int PE = 1,
    parameter int CF = 1,             // channel folds C / PE
    parameter int PIXELS = 1,         // H * W
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter bit PRE = 1'b0,
    parameter int PRE_BITS = 8,
    parameter bit PRE_SIGNED = 1'b1,
    parameter int PRE_SHIFT = 0,
    parameter int SUM_BITS = 16,
    parameter int STAT_BITS = 8,
    parameter bit STAT_SIGNED = 1'b1,
    parameter int STAT_SHIFT = 0,
    parameter FRAME_STYLE = "block",        // ram_style of the frame buffer
    parameter int FRAME_PACK = 1,     // words per frame-buffer row (dybnn_dynamic_core)
    parameter STAT_STYLE = "distributed",   // ram_style of the channel sums and statistics
    parameter int BUFFERS = 1         // frames in the frame buffer (1, or 2: ping-pong)
) (
    input  logic                     clk,
    input  logic                     rst_n,
    input  logic [PE*X_BITS-1:0]     in0_tdata,
    input  logic                     in0_tvalid,
    output logic                     in0_tready,
    output logic [PE*X_BITS-1:0]     out0_tdata,   // the frame
    output logic                     out0_tvalid,
    input  logic                     out0_tready,
    output logic [PE*STAT_BITS-1:0]  out1_tdata,   // the context vector
    output logic                     out1_tvalid,
    input  logic                     out1_tready
);
  localparam int CW = $clog2(CF > 1 ? CF : 2);
  logic [PE*X_BITS-1:0] lane_x;
  /* verilator lint_off UNUSEDSIGNAL */  // no hyper function: no deltas; no shortcut outputs
  logic [PE*8-1:0] lane_d0, lane_d1;
  logic [CW-1:0] lane_cf_next;
  logic [PE*X_BITS-1:0] fwd1, fwd2;
  logic fwd1_v, fwd2_v;
  /* verilator lint_on UNUSEDSIGNAL */

  dybnn_dynamic_core #(
      .PE(PE), .CF(CF), .PIXELS(PIXELS), .X_BITS(X_BITS), .X_SIGNED(X_SIGNED), .PRE(PRE), .PRE_BITS(PRE_BITS),
      .PRE_SIGNED(PRE_SIGNED), .PRE_SHIFT(PRE_SHIFT), .SUM_BITS(SUM_BITS), .STAT_BITS(STAT_BITS),
      .STAT_SIGNED(STAT_SIGNED), .STAT_SHIFT(STAT_SHIFT), .DELTA_BITS(8), .FRAME_STYLE(FRAME_STYLE),
      .FRAME_PACK(FRAME_PACK), .STAT_STYLE(STAT_STYLE), .BUFFERS(BUFFERS), .NFWD(0), .OUT_W(PE * X_BITS),
      .CONTEXT_OUT(1'b1)
  ) u_core (
      .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready),
      .out1_tdata(fwd1), .out1_tvalid(fwd1_v), .out1_tready(1'b1),
      .out2_tdata(fwd2), .out2_tvalid(fwd2_v), .out2_tready(1'b1),
      .ctx_tdata(out1_tdata), .ctx_tvalid(out1_tvalid), .ctx_tready(out1_tready),
      .lane_x(lane_x), .lane_d0(lane_d0), .lane_d1(lane_d1), .lane_cf_next(lane_cf_next), .lane_y(lane_x));
endmodule
