// dybnn_dynamic_sign: DynamicSign node (hwsim/nodes/dynamic_sign.py; hls/templates/dynamic_sign.hpp.j2).
// bit = (x << SHIFT_X) >= tau[c] + (delta[c] << SHIFT_DELTA) on the common grid (CMP_BITS), delta from the hyper
// function of the whole frame (dybnn_dynamic_core: frame buffer, statistics, hyper function). tau comes from a
// ROM of CF words (PE thresholds each) read a cycle ahead. Cycles per frame: hls.cycles.dynamic_cycles
// (BUFFERS = 1: H*W*C/PE + HD*C/PE + C/PE*HD; BUFFERS = 2: max(H*W*C/PE, HD*C/PE + C/PE*HD)).
module dybnn_dynamic_sign #(
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
    parameter int HD = 1,             // hidden units
    parameter int W1_BITS = 8,
    parameter bit W1_SIGNED = 1'b1,
    parameter int L1_BITS = 24,
    parameter int A1 = 0,
    parameter int B1_BITS = 8,
    parameter bit B1_SIGNED = 1'b1,
    parameter int H1_BITS = 24,
    parameter int HID_BITS = 8,
    parameter int HID_SHIFT = 0,
    parameter int NOF = 1,            // output folds: hyper outputs / PE (CF or 2*CF)
    parameter int W2_BITS = 8,
    parameter bit W2_SIGNED = 1'b1,
    parameter int L2_BITS = 24,
    parameter int A2 = 0,
    parameter int B2_BITS = 8,
    parameter bit B2_SIGNED = 1'b1,
    parameter int Z_BITS = 24,
    parameter int FZ = 0,             // the clip bound is 2^FZ
    parameter bit ACT = 1'b0,
    parameter int ACT_BITS = 8,
    parameter bit ACT_SIGNED = 1'b1,
    parameter int ACT_SHIFT = 0,
    parameter bit SQUASH = 1'b0,
    parameter int SQ_STEPS = 1,
    parameter int SQ_BITS = 8,
    parameter bit SQ_SIGNED = 1'b1,
    parameter int SQ_LO = 0,
    parameter int DELTA_BITS = 8,     // signed
    parameter W1_INIT_FILE = "",
    parameter B1_INIT_FILE = "",
    parameter W2_INIT_FILE = "",
    parameter B2_INIT_FILE = "",
    parameter SQ_INIT_FILE = "",
    parameter FRAME_STYLE = "block",        // ram_style of the frame buffer
    parameter int FRAME_PACK = 1,     // words per frame-buffer row (dybnn_dynamic_core)
    parameter STAT_STYLE = "distributed",   // ram_style of the channel sums and statistics
    parameter DELTA_STYLE = "distributed",  // ram_style of the deltas
    parameter W1_STYLE = "distributed",     // rom_style of the hyper-function constants
    parameter B1_STYLE = "distributed",
    parameter W2_STYLE = "distributed",
    parameter B2_STYLE = "distributed",
    parameter bit B2_KEEP = 1'b0,     // b2 as a module of its own (dybnn_dynamic_rom)
    parameter int BUFFERS = 1,        // frames in the frame buffer (1, or 2: ping-pong)
    parameter int NFWD = 0,           // outputs 1..NFWD: the buffered input word for the shortcut (0-2)
    parameter bit CONTEXT = 1'b0,     // the hyper function reads a context vector (in1; dybnn_dynamic_context)
    parameter int HCF = CF,           // CONTEXT: context folds C0 / PE
    parameter int TAU_BITS = 8,
    parameter bit TAU_SIGNED = 1'b1,
    parameter int CMP_BITS = 16,
    parameter int SHIFT_X = 0,
    parameter int SHIFT_DELTA = 0,
    parameter TAU_INIT_FILE = "",
    parameter TAU_STYLE = "distributed",
    parameter bit TAU_KEEP = 1'b0     // tau as a module of its own (dybnn_dynamic_rom)
) (
    input  logic                 clk,
    input  logic                 rst_n,
    input  logic [PE*X_BITS-1:0] in0_tdata,
    input  logic                 in0_tvalid,
    output logic                 in0_tready,
    // CONTEXT: the context vector (hyper_context: stem), HCF words of PE statistics per frame, ahead of the frame
    /* verilator lint_off UNUSEDSIGNAL */  // unused without CONTEXT
    input  logic [PE*STAT_BITS-1:0] in1_tdata,
    input  logic                 in1_tvalid,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                 in1_tready,
    output logic [PE-1:0]        out0_tdata,
    output logic                 out0_tvalid,
    input  logic                 out0_tready,
    // outputs 1, 2 (NFWD): the buffered input word, for the residual shortcut (hls.timing.forward_frames)
    output logic [PE*X_BITS-1:0] out1_tdata,
    output logic                 out1_tvalid,
    /* verilator lint_off UNUSEDSIGNAL */  // unused with CONTEXT (no shortcut outputs)
    input  logic                 out1_tready,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic [PE*X_BITS-1:0] out2_tdata,
    output logic                 out2_tvalid,
    /* verilator lint_off UNUSEDSIGNAL */  // unused with CONTEXT
    input  logic                 out2_tready
    /* verilator lint_on UNUSEDSIGNAL */
);
  localparam int CW = $clog2(CF > 1 ? CF : 2);
  logic [PE*X_BITS-1:0] lane_x;
  logic [PE*DELTA_BITS-1:0] lane_d0;
  /* verilator lint_off UNUSEDSIGNAL */  // bank 1 (dz) exists only in DynamicPReLU
  logic [PE*DELTA_BITS-1:0] lane_d1;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [CW-1:0] lane_cf_next;
  logic [PE-1:0] lane_y;
  logic [PE*TAU_BITS-1:0] tau_q;

  if (CONTEXT) begin : g_context
    dybnn_dynamic_context #(
        .PE(PE), .CF(CF), .HCF(HCF), .PIXELS(PIXELS), .X_BITS(X_BITS), .STAT_BITS(STAT_BITS),
        .STAT_SIGNED(STAT_SIGNED), .HD(HD), .W1_BITS(W1_BITS), .W1_SIGNED(W1_SIGNED), .L1_BITS(L1_BITS),
        .A1(A1), .B1_BITS(B1_BITS), .B1_SIGNED(B1_SIGNED), .H1_BITS(H1_BITS), .HID_BITS(HID_BITS),
        .HID_SHIFT(HID_SHIFT), .NOF(NOF), .W2_BITS(W2_BITS), .W2_SIGNED(W2_SIGNED), .L2_BITS(L2_BITS),
        .A2(A2), .B2_BITS(B2_BITS), .B2_SIGNED(B2_SIGNED), .Z_BITS(Z_BITS), .FZ(FZ), .ACT(ACT),
        .ACT_BITS(ACT_BITS), .ACT_SIGNED(ACT_SIGNED), .ACT_SHIFT(ACT_SHIFT), .SQUASH(SQUASH),
        .SQ_STEPS(SQ_STEPS), .SQ_BITS(SQ_BITS), .SQ_SIGNED(SQ_SIGNED), .SQ_LO(SQ_LO), .DELTA_BITS(DELTA_BITS),
        .W1_INIT_FILE(W1_INIT_FILE), .B1_INIT_FILE(B1_INIT_FILE), .W2_INIT_FILE(W2_INIT_FILE),
        .B2_INIT_FILE(B2_INIT_FILE), .SQ_INIT_FILE(SQ_INIT_FILE), .STAT_STYLE(STAT_STYLE),
        .DELTA_STYLE(DELTA_STYLE), .W1_STYLE(W1_STYLE), .B1_STYLE(B1_STYLE), .W2_STYLE(W2_STYLE),
        .B2_STYLE(B2_STYLE), .B2_KEEP(B2_KEEP), .OUT_W(PE)
    ) u_core (
        .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .in1_tdata(in1_tdata), .in1_tvalid(in1_tvalid), .in1_tready(in1_tready), .out0_tdata(out0_tdata),
        .out0_tvalid(out0_tvalid), .out0_tready(out0_tready), .lane_x(lane_x), .lane_d0(lane_d0),
        .lane_d1(lane_d1), .lane_cf_next(lane_cf_next), .lane_y(lane_y));
    assign out1_tdata = '0;
    assign out1_tvalid = 1'b0;
    assign out2_tdata = '0;
    assign out2_tvalid = 1'b0;
  end else begin : g_self
    /* verilator lint_off UNUSEDSIGNAL */  // the context output of dybnn_dynamic_core is HyperContext's
    logic [PE*STAT_BITS-1:0] ctx_d;
    logic ctx_v;
    /* verilator lint_on UNUSEDSIGNAL */
    dybnn_dynamic_core #(
        .PE(PE), .CF(CF), .PIXELS(PIXELS), .X_BITS(X_BITS), .X_SIGNED(X_SIGNED), .PRE(PRE), .PRE_BITS(PRE_BITS),
        .PRE_SIGNED(PRE_SIGNED), .PRE_SHIFT(PRE_SHIFT), .SUM_BITS(SUM_BITS), .STAT_BITS(STAT_BITS),
        .STAT_SIGNED(STAT_SIGNED), .STAT_SHIFT(STAT_SHIFT), .HD(HD), .W1_BITS(W1_BITS), .W1_SIGNED(W1_SIGNED),
        .L1_BITS(L1_BITS), .A1(A1), .B1_BITS(B1_BITS), .B1_SIGNED(B1_SIGNED), .H1_BITS(H1_BITS),
        .HID_BITS(HID_BITS), .HID_SHIFT(HID_SHIFT), .NOF(NOF), .W2_BITS(W2_BITS), .W2_SIGNED(W2_SIGNED),
        .L2_BITS(L2_BITS), .A2(A2), .B2_BITS(B2_BITS), .B2_SIGNED(B2_SIGNED), .Z_BITS(Z_BITS), .FZ(FZ),
        .ACT(ACT), .ACT_BITS(ACT_BITS), .ACT_SIGNED(ACT_SIGNED), .ACT_SHIFT(ACT_SHIFT), .SQUASH(SQUASH),
        .SQ_STEPS(SQ_STEPS), .SQ_BITS(SQ_BITS), .SQ_SIGNED(SQ_SIGNED), .SQ_LO(SQ_LO), .DELTA_BITS(DELTA_BITS),
        .W1_INIT_FILE(W1_INIT_FILE), .B1_INIT_FILE(B1_INIT_FILE), .W2_INIT_FILE(W2_INIT_FILE),
        .B2_INIT_FILE(B2_INIT_FILE), .SQ_INIT_FILE(SQ_INIT_FILE), .FRAME_STYLE(FRAME_STYLE),
        .FRAME_PACK(FRAME_PACK), .STAT_STYLE(STAT_STYLE), .DELTA_STYLE(DELTA_STYLE), .W1_STYLE(W1_STYLE),
        .B1_STYLE(B1_STYLE), .W2_STYLE(W2_STYLE), .B2_STYLE(B2_STYLE), .B2_KEEP(B2_KEEP), .BUFFERS(BUFFERS),
        .NFWD(NFWD),
        .OUT_W(PE)
    ) u_core (
        .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready),
        .out1_tdata(out1_tdata), .out1_tvalid(out1_tvalid), .out1_tready(out1_tready),
        .out2_tdata(out2_tdata), .out2_tvalid(out2_tvalid), .out2_tready(out2_tready), .lane_x(lane_x),
        .lane_d0(lane_d0), .lane_d1(lane_d1), .lane_cf_next(lane_cf_next), .lane_y(lane_y), .ctx_tdata(ctx_d),
        .ctx_tvalid(ctx_v), .ctx_tready(1'b1));
    assign in1_tready = 1'b0;
  end

  dybnn_dynamic_rom #(.DEPTH(CF), .WIDTH(PE * TAU_BITS), .INIT_FILE(TAU_INIT_FILE), .STYLE(TAU_STYLE),
      .KEEP(TAU_KEEP)) u_tau (.clk(clk), .addr(lane_cf_next), .data(tau_q));

  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic [X_BITS-1:0] xr;
    logic [TAU_BITS-1:0] tr;
    logic signed [CMP_BITS-1:0] lhs, t;
    assign xr = lane_x[p*X_BITS+:X_BITS];
    assign tr = tau_q[p*TAU_BITS+:TAU_BITS];
    assign lhs = (X_SIGNED ? CMP_BITS'($signed(xr)) : CMP_BITS'($signed({1'b0, xr}))) <<< SHIFT_X;
    assign t = (TAU_SIGNED ? CMP_BITS'($signed(tr)) : CMP_BITS'($signed({1'b0, tr})))
        + (CMP_BITS'($signed(lane_d0[p*DELTA_BITS+:DELTA_BITS])) <<< SHIFT_DELTA);
    assign lane_y[p] = lhs >= t;
  end
endmodule
