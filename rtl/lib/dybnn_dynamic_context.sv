// dybnn_dynamic_context: the core of a DynamicSign / DynamicPReLU whose hyper function reads a context vector
// (hyper_context: stem; hwsim HyperFunction.context; hls/templates/_context.hpp.j2). No frame buffer: the
// HyperContext node (dybnn_hyper_context) sends the context of a frame before the frame itself, so the unit reads
// the context, runs its hyper function, then streams its frame. Two processes, one iteration per cycle each
// (cycles per frame hls.cycles.context_cycles: max(context_in + hyper1 + hyper2, frame_out)):
//   1. context_in  HCF iterations: statistics word cf of the context stream (in1) into the statistics memory;
//      then the hyper function (dybnn_dynamic_hyper: hyper1 HD*HCF, hyper2 NOF*HD iterations) writes the
//      frame's deltas into one of two banks. A frame's context is read only once the previous frame's hyper
//      function is done and the bank is free: frame f's first context word is read at the earliest in the cycle
//      after frame f-2's last word went out;
//   2. frame_out   WORDS iterations, from the cycle after the frame's deltas are written and the previous frame's
//      last word: word i of the frame stream (in0) and the deltas of its channel fold go to the lanes of the
//      wrapper (lane_* ports), whose result lane_y is the output word (the input word is read in the iteration
//      that writes the output word).
// This is the word schedule of hls.timing._context_unit_words.
module dybnn_dynamic_context #(
    parameter int PE = 1,
    parameter int CF = 1,             // channel folds C / PE of the frame
    parameter int HCF = 1,            // context folds C0 / PE
    parameter int PIXELS = 1,         // H * W
    parameter int X_BITS = 8,
    parameter int STAT_BITS = 8,
    parameter bit STAT_SIGNED = 1'b1,
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
    parameter STAT_STYLE = "distributed",   // ram_style of the statistics
    parameter DELTA_STYLE = "distributed",  // ram_style of the deltas (two banks)
    parameter W1_STYLE = "distributed",     // rom_style of the hyper-function constants
    parameter B1_STYLE = "distributed",
    parameter W2_STYLE = "distributed",
    parameter B2_STYLE = "distributed",
    parameter bit B2_KEEP = 1'b0,     // b2 as a module of its own (dybnn_dynamic_rom)
    parameter int OUT_W = 1,          // output word width
    localparam int CW = $clog2(CF > 1 ? CF : 2)
) (
    input  logic                      clk,
    input  logic                      rst_n,
    input  logic [PE*X_BITS-1:0]      in0_tdata,   // the frame
    input  logic                      in0_tvalid,
    output logic                      in0_tready,
    input  logic [PE*STAT_BITS-1:0]   in1_tdata,   // the context vector
    input  logic                      in1_tvalid,
    output logic                      in1_tready,
    output logic [OUT_W-1:0]          out0_tdata,
    output logic                      out0_tvalid,
    input  logic                      out0_tready,
    // frame_out lanes (combinational, in the wrapper): the word, its deltas, and the channel fold the wrapper's
    // per-channel ROMs must present in the next cycle
    output logic [PE*X_BITS-1:0]      lane_x,
    output logic [PE*DELTA_BITS-1:0]  lane_d0,
    output logic [PE*DELTA_BITS-1:0]  lane_d1,
    output logic [CW-1:0]             lane_cf_next,
    input  logic [OUT_W-1:0]          lane_y
);
  localparam int WORDS = PIXELS * CF;
  localparam int IW = $clog2(WORDS > 1 ? WORDS : 2);
  localparam int HCW = $clog2(HCF > 1 ? HCF : 2);
  localparam int DW = $clog2(2 * CF);

  // ------------------------------------------------------------------ process 1: context in, hyper function
  logic [HCW-1:0] ccf, ccf_n;    // context fold
  logic [1:0] nfr, nfr_n;        // frames whose context is read and whose last word has not gone out (banks held)
  logic ctake;                   // a context word is read
  logic c_last;                  // ... and it is the frame's last
  logic h_free, h_end;
  logic [HCW-1:0] stat_ra;
  // ------------------------------------------------------------------ process 2: frame out
  logic oact, oact_n;            // emitting a frame
  logic [IW-1:0] ri, ri_n;       // word of the frame
  logic [CW-1:0] ocf, ocf_n;     // channel fold
  logic rb, rb_n;                // delta bank of the frame going out
  logic [1:0] ndl, ndl_n;        // frames whose deltas wait for frame_out
  logic emit;                    // a word is read and written
  logic o_last;                  // ... and it is the frame's last
  logic o_go;                    // frame_out starts a frame in the next cycle

  // context in while the hyper function is idle (not in its last iteration: process 1 is sequential)
  assign in1_tready = rst_n && h_free && !h_end && (ccf != '0 || nfr < 2'd2);
  assign ctake = in1_tvalid && in1_tready;
  assign c_last = ctake && 32'(ccf) == HCF - 1;
  assign emit = oact && in0_tvalid && (!out0_tvalid || out0_tready);
  assign in0_tready = emit;
  assign o_last = emit && 32'(ri) == WORDS - 1;
  assign o_go = (!oact || o_last) && (ndl != 2'd0 || h_end);

  always_comb begin
    ccf_n = ccf;
    if (ctake) ccf_n = c_last ? '0 : ccf + 1'b1;
    nfr_n = nfr + 2'(ctake && ccf == '0) - 2'(o_last);
    oact_n = o_go ? 1'b1 : (o_last ? 1'b0 : oact);
    ri_n = ri;
    ocf_n = ocf;
    rb_n = rb;
    if (emit) begin
      ri_n = ri + 1'b1;
      ocf_n = (32'(ocf) == CF - 1) ? '0 : ocf + 1'b1;
      if (o_last) begin
        ri_n = '0;
        ocf_n = '0;
        rb_n = !rb;
      end
    end
    ndl_n = ndl + 2'(h_end) - 2'(o_go);
    if (!rst_n) begin
      ccf_n = '0;
      nfr_n = '0;
      oact_n = 1'b0;
      ri_n = '0;
      ocf_n = '0;
      rb_n = 1'b0;
      ndl_n = '0;
    end
  end

  always_ff @(posedge clk) begin
    ccf <= ccf_n;
    nfr <= nfr_n;
    oact <= oact_n;
    ri <= ri_n;
    ocf <= ocf_n;
    rb <= rb_n;
    ndl <= ndl_n;
  end

  logic [PE*STAT_BITS-1:0] stat_q;
  dybnn_ram #(.DEPTH(HCF), .WIDTH(PE * STAT_BITS), .STYLE(STAT_STYLE)) u_stat (
      .clk(clk), .we(ctake), .waddr(ccf), .wdata(in1_tdata), .raddr(stat_ra), .rdata(stat_q));

  logic [DW-1:0] dl_ra;
  assign dl_ra = DW'(32'(rb_n) * CF + 32'(ocf_n));
  dybnn_dynamic_hyper #(
      .PE(PE), .HCF(HCF), .CF(CF), .STAT_BITS(STAT_BITS), .STAT_SIGNED(STAT_SIGNED), .HD(HD),
      .W1_BITS(W1_BITS), .W1_SIGNED(W1_SIGNED), .L1_BITS(L1_BITS), .A1(A1), .B1_BITS(B1_BITS),
      .B1_SIGNED(B1_SIGNED), .H1_BITS(H1_BITS), .HID_BITS(HID_BITS), .HID_SHIFT(HID_SHIFT), .NOF(NOF),
      .W2_BITS(W2_BITS), .W2_SIGNED(W2_SIGNED), .L2_BITS(L2_BITS), .A2(A2), .B2_BITS(B2_BITS),
      .B2_SIGNED(B2_SIGNED), .Z_BITS(Z_BITS), .FZ(FZ), .ACT(ACT), .ACT_BITS(ACT_BITS), .ACT_SIGNED(ACT_SIGNED),
      .ACT_SHIFT(ACT_SHIFT), .SQUASH(SQUASH), .SQ_STEPS(SQ_STEPS), .SQ_BITS(SQ_BITS), .SQ_SIGNED(SQ_SIGNED),
      .SQ_LO(SQ_LO), .DELTA_BITS(DELTA_BITS), .W1_INIT_FILE(W1_INIT_FILE), .B1_INIT_FILE(B1_INIT_FILE),
      .W2_INIT_FILE(W2_INIT_FILE), .B2_INIT_FILE(B2_INIT_FILE), .SQ_INIT_FILE(SQ_INIT_FILE),
      .DELTA_STYLE(DELTA_STYLE), .W1_STYLE(W1_STYLE), .B1_STYLE(B1_STYLE), .W2_STYLE(W2_STYLE),
      .B2_STYLE(B2_STYLE), .B2_KEEP(B2_KEEP), .SBANKS(1), .DBANKS(2)
  ) u_hyper (
      .clk(clk), .rst_n(rst_n), .go(c_last), .free(h_free), .done(h_end), .stat_ra(stat_ra), .stat_q(stat_q),
      .dl_ra(dl_ra), .d0(lane_d0), .d1(lane_d1));

  assign lane_x = in0_tdata;
  assign lane_cf_next = ocf_n;
  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (emit) out0_tvalid <= 1'b1;
    else if (out0_tready) out0_tvalid <= 1'b0;
    if (emit) out0_tdata <= lane_y;
  end
endmodule
