// dybnn_dynamic_prelu: DynamicPReLU node (hwsim/nodes/dynamic_prelu.py; hls/templates/dynamic_prelu.hpp.j2).
// y = requant(PReLU_beta(x - gamma[c] - dg[c]) + zeta[c] + dz[c] -> out) with g = gamma + (dg << G_DELTA_SHIFT)
// on the grid of the subtraction (D_BITS) and z = zeta + (dz << Z_DELTA_SHIFT) on the grid of the sum (R_BITS);
// dg (bank 0) and dz (bank 1) are the 2C outputs of the hyper function of the whole frame (dybnn_dynamic_core).
// gamma, zeta, beta: ROMs of CF words read a cycle ahead. Cycles per frame: hls.cycles.dynamic_cycles
// (BUFFERS = 1: H*W*C/PE + HD*C/PE + 2C/PE*HD; BUFFERS = 2: max(H*W*C/PE, HD*C/PE + 2C/PE*HD)).
module dybnn_dynamic_prelu #(
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
    parameter int GAMMA_BITS = 8,
    parameter bit GAMMA_SIGNED = 1'b1,
    parameter int ZETA_BITS = 8,
    parameter bit ZETA_SIGNED = 1'b1,
    parameter int BETA_BITS = 8,
    parameter bit BETA_SIGNED = 1'b1,
    parameter int SHIFT_X = 0,
    parameter int D_BITS = 10,
    parameter int SHIFT_POS = 0,
    parameter int P_BITS = 18,
    parameter int SHIFT_P = 0,
    parameter int R_BITS = 19,
    parameter int G_DELTA_SHIFT = 0,
    parameter int Z_DELTA_SHIFT = 0,
    parameter int OUT_BITS = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0,
    parameter GAMMA_INIT_FILE = "",
    parameter ZETA_INIT_FILE = "",
    parameter BETA_INIT_FILE = "",
    parameter GAMMA_STYLE = "distributed",
    parameter ZETA_STYLE = "distributed",
    parameter BETA_STYLE = "distributed",
    parameter bit GAMMA_KEEP = 1'b0,  // the table as a module of its own (dybnn_dynamic_rom)
    parameter bit ZETA_KEEP = 1'b0,
    parameter bit BETA_KEEP = 1'b0
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*X_BITS-1:0]   in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    // CONTEXT: the context vector (hyper_context: stem), HCF words of PE statistics per frame, ahead of the frame
    /* verilator lint_off UNUSEDSIGNAL */  // unused without CONTEXT
    input  logic [PE*STAT_BITS-1:0] in1_tdata,
    input  logic                 in1_tvalid,
    /* verilator lint_on UNUSEDSIGNAL */
    output logic                 in1_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready,
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
  logic [PE*DELTA_BITS-1:0] lane_d0, lane_d1;
  logic [CW-1:0] lane_cf_next;
  logic [PE*OUT_BITS-1:0] lane_y;
  logic [PE*GAMMA_BITS-1:0] gamma_q;
  logic [PE*ZETA_BITS-1:0] zeta_q;
  logic [PE*BETA_BITS-1:0] beta_q;

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
        .B2_STYLE(B2_STYLE), .B2_KEEP(B2_KEEP), .OUT_W(PE * OUT_BITS)
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
        .OUT_W(PE * OUT_BITS)
    ) u_core (
        .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
        .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready),
        .out1_tdata(out1_tdata), .out1_tvalid(out1_tvalid), .out1_tready(out1_tready),
        .out2_tdata(out2_tdata), .out2_tvalid(out2_tvalid), .out2_tready(out2_tready), .lane_x(lane_x),
        .lane_d0(lane_d0), .lane_d1(lane_d1), .lane_cf_next(lane_cf_next), .lane_y(lane_y), .ctx_tdata(ctx_d),
        .ctx_tvalid(ctx_v), .ctx_tready(1'b1));
    assign in1_tready = 1'b0;
  end

  dybnn_dynamic_rom #(.DEPTH(CF), .WIDTH(PE * GAMMA_BITS), .INIT_FILE(GAMMA_INIT_FILE), .STYLE(GAMMA_STYLE),
      .KEEP(GAMMA_KEEP)) u_gamma (.clk(clk), .addr(lane_cf_next), .data(gamma_q));
  dybnn_dynamic_rom #(.DEPTH(CF), .WIDTH(PE * ZETA_BITS), .INIT_FILE(ZETA_INIT_FILE), .STYLE(ZETA_STYLE),
      .KEEP(ZETA_KEEP)) u_zeta (.clk(clk), .addr(lane_cf_next), .data(zeta_q));
  dybnn_dynamic_rom #(.DEPTH(CF), .WIDTH(PE * BETA_BITS), .INIT_FILE(BETA_INIT_FILE), .STYLE(BETA_STYLE),
      .KEEP(BETA_KEEP)) u_beta (.clk(clk), .addr(lane_cf_next), .data(beta_q));

  for (genvar p = 0; p < PE; p++) begin : g_lane
    logic [X_BITS-1:0] xr;
    logic [GAMMA_BITS-1:0] gr;
    logic [ZETA_BITS-1:0] zr;
    logic [BETA_BITS-1:0] br;
    logic signed [X_BITS:0] x;
    logic signed [BETA_BITS:0] slope;
    logic signed [D_BITS-1:0] g;
    logic signed [R_BITS-1:0] z;
    assign xr = lane_x[p*X_BITS+:X_BITS];
    assign gr = gamma_q[p*GAMMA_BITS+:GAMMA_BITS];
    assign zr = zeta_q[p*ZETA_BITS+:ZETA_BITS];
    assign br = beta_q[p*BETA_BITS+:BETA_BITS];
    assign x = X_SIGNED ? {xr[X_BITS-1], xr} : {1'b0, xr};
    assign slope = BETA_SIGNED ? {br[BETA_BITS-1], br} : {1'b0, br};
    assign g = (GAMMA_SIGNED ? D_BITS'($signed(gr)) : D_BITS'($signed({1'b0, gr})))
        + (D_BITS'($signed(lane_d0[p*DELTA_BITS+:DELTA_BITS])) <<< G_DELTA_SHIFT);
    assign z = (ZETA_SIGNED ? R_BITS'($signed(zr)) : R_BITS'($signed({1'b0, zr})))
        + (R_BITS'($signed(lane_d1[p*DELTA_BITS+:DELTA_BITS])) <<< Z_DELTA_SHIFT);
    dybnn_prelu_lane #(
        .X_W(X_BITS + 1), .SLOPE_W(BETA_BITS + 1), .SHIFT_X(SHIFT_X), .D_BITS(D_BITS), .SHIFT_POS(SHIFT_POS),
        .P_BITS(P_BITS), .SHIFT_P(SHIFT_P), .R_BITS(R_BITS), .OUT_BITS(OUT_BITS), .OUT_SIGNED(OUT_SIGNED),
        .SHIFT(SHIFT)
    ) u_lane (.x(x), .g(g), .z(z), .slope(slope), .q(lane_y[p*OUT_BITS+:OUT_BITS]));
  end
endmodule
