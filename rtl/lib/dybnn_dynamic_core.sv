// dybnn_dynamic_core: the frame buffer and channel statistics of DynamicSign and DynamicPReLU (hwsim/nodes/base.py
// HyperFunction; hls/templates/_frame_in.hpp.j2, _hyper.hpp.j2, _frame_buffer.hpp.j2) and of HyperContext
// (hls/templates/hyper_context.hpp.j2). Three processes, one iteration per cycle each (hls.cycles "frame_in",
// "hyper1", "hyper2" or "context_out", "frame_out"; cycles per frame hls.cycles.dynamic_cycles: BUFFERS = 1
// max(in, out) + hyper, BUFFERS = 2 max(in, hyper, out)):
//   frame_in   WORDS iterations: store word i in the frame buffer, add its elements (requantized to PRE_BITS
//              when PRE) to the channel sums; with the last pixel, stat = requant(sum) (STAT_SHIFT);
//   hyper      once a frame's statistics are complete: the hyper function (dybnn_dynamic_hyper: hyper1, HD*CF
//              iterations, then hyper2, NOF*HD iterations) writes the frame's deltas; or, with CONTEXT_OUT
//              (HyperContext), context_out: CF iterations, each writes statistics word cf to the ctx stream (an
//              iteration waits while the ctx output register is full);
//   frame_out  once a frame's deltas (context) are complete: WORDS iterations: word i of the frame buffer and the
//              deltas of its channel fold go to the lanes of the wrapper (lane_* ports), whose result lane_y is
//              the output word.
// The frame buffer is a ring of BUFFERS frames: frame_in writes a slot only once frame_out has emitted it, so
// it runs at most BUFFERS frames ahead; with that order one bank of statistics and of deltas per buffered
// frame is enough (frame f + BUFFERS cannot start before frame f goes out). Every memory is read one cycle
// ahead (its address is the next iteration's) and each process starts its next frame in the cycle after the
// previous one's last iteration when its input is ready, so no loop has a bubble.
/* verilator lint_off UNUSEDSIGNAL */  // which bits of the sign-extended operands are used depends on the widths
module dybnn_dynamic_core #(
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
    parameter int FRAME_PACK = 1,     // words per frame-buffer row (dybnn_pack_ram; 1: dybnn_ram)
    parameter STAT_STYLE = "distributed",   // ram_style of the channel sums and statistics
    parameter DELTA_STYLE = "distributed",  // ram_style of the deltas
    parameter W1_STYLE = "distributed",     // rom_style of the hyper-function constants
    parameter B1_STYLE = "distributed",
    parameter W2_STYLE = "distributed",
    parameter B2_STYLE = "distributed",
    parameter bit B2_KEEP = 1'b0,     // b2 as a module of its own (dybnn_dynamic_rom)
    parameter int BUFFERS = 1,        // frames in the frame buffer (hls.folding Fold.buffers: 1, or 2 ping-pong)
    parameter int NFWD = 0,           // outputs 1..NFWD: the buffered input word (hls.timing.forward_frames), 0-2
    parameter int OUT_W = 1,          // output word width
    parameter bit CONTEXT_OUT = 1'b0, // HyperContext: send the statistics out (ctx) instead of a hyper function
    localparam int CW = $clog2(CF > 1 ? CF : 2)
) (
    input  logic                      clk,
    input  logic                      rst_n,
    input  logic [PE*X_BITS-1:0]      in0_tdata,
    input  logic                      in0_tvalid,
    output logic                      in0_tready,
    output logic [OUT_W-1:0]          out0_tdata,
    output logic                      out0_tvalid,
    input  logic                      out0_tready,
    // the frame as buffered, word for word with out0, for the residual shortcut (used when NFWD >= 1, 2)
    output logic [PE*X_BITS-1:0]      out1_tdata,
    output logic                      out1_tvalid,
    input  logic                      out1_tready,
    output logic [PE*X_BITS-1:0]      out2_tdata,
    output logic                      out2_tvalid,
    input  logic                      out2_tready,
    // CONTEXT_OUT: the statistics of every frame, CF words, before the frame goes out
    output logic [PE*STAT_BITS-1:0]   ctx_tdata,
    output logic                      ctx_tvalid,
    input  logic                      ctx_tready,
    // frame_out lanes (combinational, in the wrapper): the word, its deltas, and the channel fold the wrapper's
    // per-channel ROMs must present in the next cycle
    output logic [PE*X_BITS-1:0]      lane_x,
    output logic [PE*DELTA_BITS-1:0]  lane_d0,
    output logic [PE*DELTA_BITS-1:0]  lane_d1,
    output logic [CW-1:0]             lane_cf_next,
    input  logic [OUT_W-1:0]          lane_y
);
  localparam int WORDS = PIXELS * CF;
  localparam int RING = BUFFERS * WORDS;  // the frame buffer: a ring of BUFFERS frames
  localparam int RW = $clog2(RING > 1 ? RING : 2);
  localparam int IW = $clog2(WORDS > 1 ? WORDS : 2);
  localparam int PW = $clog2(PIXELS > 1 ? PIXELS : 2);
  localparam int BK = BUFFERS * CF;  // statistics / deltas: one bank of CF words per buffered frame
  localparam int BW = $clog2(BK > 1 ? BK : 2);

  // ------------------------------------------------------------------ frame_in process
  logic [CW-1:0] wcf, wcf_n;     // channel fold
  logic [PW-1:0] wpx, wpx_n;     // pixel
  logic wb, wb_n;                // statistics bank of the frame coming in
  logic [RW-1:0] wp, wp_n;       // ring write pointer
  logic [RW:0] occ, occ_n;       // words in the ring (written, not yet emitted)
  logic take;                    // a word is read
  logic in_last;                 // ... and it is the frame's last
  // ------------------------------------------------------------------ hyper (context_out) process
  logic [1:0] nst, nst_n;        // frames whose statistics wait for the hyper function
  logic h_free;                  // the hyper function is idle or in its last iteration
  logic h_end;                   // its last iteration (the frame's deltas are written)
  logic h_go;                    // the hyper function starts a frame in the next cycle
  logic [BW-1:0] stat_ra;        // statistics word it reads in the next cycle
  // ------------------------------------------------------------------ frame_out process
  logic oact, oact_n;            // emitting a frame
  logic [IW-1:0] ri, ri_n;       // word of the frame
  logic [CW-1:0] ocf, ocf_n;     // channel fold
  logic rb, rb_n;                // delta bank of the frame going out
  logic [RW-1:0] rp, rp_n;       // ring read pointer
  logic [1:0] ndl, ndl_n;        // frames whose deltas wait for frame_out
  logic emit;                    // a word is written
  logic o_last;                  // ... and it is the frame's last
  logic o_go;                    // frame_out starts a frame in the next cycle

  // frame_in writes a slot that frame_out has emitted, in the cycle it is emitted at the latest (its word is
  // then in the output register already), so a full ring takes a word in the cycle frame_out emits one.
  // every output takes the word in the same cycle (each keeps its own valid until it is taken)
  assign emit = oact && (!out0_tvalid || out0_tready) && (NFWD < 1 || !out1_tvalid || out1_tready)
      && (NFWD < 2 || !out2_tvalid || out2_tready);
  assign o_last = emit && 32'(ri) == WORDS - 1;
  assign in0_tready = rst_n && (32'(occ) < RING || emit);
  assign take = in0_tvalid && in0_tready;
  assign in_last = take && 32'(wpx) == PIXELS - 1 && 32'(wcf) == CF - 1;
  assign h_go = h_free && (nst != 2'd0 || in_last);
  assign o_go = (!oact || o_last) && (ndl != 2'd0 || h_end);

  always_comb begin
    // frame_in
    wcf_n = wcf;
    wpx_n = wpx;
    wb_n = wb;
    wp_n = wp;
    if (take) begin
      wp_n = (32'(wp) == RING - 1) ? '0 : wp + 1'b1;
      wcf_n = wcf + 1'b1;
      if (32'(wcf) == CF - 1) begin
        wcf_n = '0;
        wpx_n = wpx + 1'b1;
      end
      if (in_last) begin
        wpx_n = '0;
        wb_n = BUFFERS > 1 ? !wb : 1'b0;
      end
    end
    occ_n = occ + (RW + 1)'(take) - (RW + 1)'(emit);
    nst_n = nst + 2'(in_last) - 2'(h_go);
    // frame_out
    oact_n = o_go ? 1'b1 : (o_last ? 1'b0 : oact);
    ri_n = ri;
    ocf_n = ocf;
    rb_n = rb;
    rp_n = rp;
    if (emit) begin
      rp_n = (32'(rp) == RING - 1) ? '0 : rp + 1'b1;
      ri_n = ri + 1'b1;
      ocf_n = (32'(ocf) == CF - 1) ? '0 : ocf + 1'b1;
      if (o_last) begin
        ri_n = '0;
        ocf_n = '0;
        rb_n = BUFFERS > 1 ? !rb : 1'b0;
      end
    end
    ndl_n = ndl + 2'(h_end) - 2'(o_go);
    if (!rst_n) begin
      wcf_n = '0;
      wpx_n = '0;
      wb_n = 1'b0;
      wp_n = '0;
      occ_n = '0;
      nst_n = '0;
      oact_n = 1'b0;
      ri_n = '0;
      ocf_n = '0;
      rb_n = 1'b0;
      rp_n = '0;
      ndl_n = '0;
    end
  end

  always_ff @(posedge clk) begin
    wcf <= wcf_n;
    wpx <= wpx_n;
    wb <= wb_n;
    wp <= wp_n;
    occ <= occ_n;
    nst <= nst_n;
    oact <= oact_n;
    ri <= ri_n;
    ocf <= ocf_n;
    rb <= rb_n;
    rp <= rp_n;
    ndl <= ndl_n;
  end

  // ------------------------------------------------------------------ memories
  // bank b, channel fold c of the statistics and delta memories: word b*CF + c
  logic [BW-1:0] stat_wa, dl_ra;
  assign stat_wa = BW'(32'(wb) * CF + 32'(wcf));
  assign dl_ra = BW'(32'(rb_n) * CF + 32'(ocf_n));

  logic [PE*X_BITS-1:0] frame_q;
  if (FRAME_PACK > 1) begin : g_frame_packed
    dybnn_pack_ram #(.DEPTH(RING), .WIDTH(PE * X_BITS), .PACK(FRAME_PACK), .STYLE(FRAME_STYLE)) u_frame (
        .clk(clk), .we(take), .waddr(wp), .wdata(in0_tdata), .raddr(rp_n), .rdata(frame_q));
  end else begin : g_frame
    dybnn_ram #(.DEPTH(RING), .WIDTH(PE * X_BITS), .STYLE(FRAME_STYLE)) u_frame (
        .clk(clk), .we(take), .waddr(wp), .wdata(in0_tdata), .raddr(rp_n), .rdata(frame_q));
  end

  logic [PE*SUM_BITS-1:0] sum_q, sum_d;
  dybnn_ram #(.DEPTH(CF), .WIDTH(PE * SUM_BITS), .STYLE(STAT_STYLE)) u_sum (
      .clk(clk), .we(take), .waddr(wcf), .wdata(sum_d), .raddr(wcf_n), .rdata(sum_q));

  logic [PE*STAT_BITS-1:0] stat_q, stat_d;
  dybnn_ram #(.DEPTH(BK), .WIDTH(PE * STAT_BITS), .STYLE(STAT_STYLE)) u_stat (
      .clk(clk), .we(take && 32'(wpx) == PIXELS - 1), .waddr(stat_wa), .wdata(stat_d),
      .raddr(stat_ra), .rdata(stat_q));

  // ------------------------------------------------------------------ frame_in: statistics
  for (genvar p = 0; p < PE; p++) begin : g_in
    logic [X_BITS-1:0] xr;
    logic signed [X_BITS:0] x;
    logic signed [SUM_BITS-1:0] xs, s;
    assign xr = in0_tdata[p*X_BITS+:X_BITS];
    assign x = X_SIGNED ? {xr[X_BITS-1], xr} : {1'b0, xr};
    if (PRE) begin : g_pre
      logic [PRE_BITS-1:0] xq;
      dybnn_rne_sat #(.IN_W(X_BITS + 1), .BITS(PRE_BITS), .SIGNED(PRE_SIGNED), .SHIFT(PRE_SHIFT)) u_pre (
          .v(x), .q(xq));
      assign xs = PRE_SIGNED ? SUM_BITS'($signed(xq)) : SUM_BITS'($signed({1'b0, xq}));
    end else begin : g_nopre
      assign xs = SUM_BITS'(x);
    end
    assign s = (wpx == '0 ? '0 : $signed(sum_q[p*SUM_BITS+:SUM_BITS])) + xs;
    assign sum_d[p*SUM_BITS+:SUM_BITS] = s;
    dybnn_rne_sat #(.IN_W(SUM_BITS), .BITS(STAT_BITS), .SIGNED(STAT_SIGNED), .SHIFT(STAT_SHIFT)) u_stat (
        .v(s), .q(stat_d[p*STAT_BITS+:STAT_BITS]));
  end

  // ------------------------------------------------------------------ hyper function, or context out
  if (CONTEXT_OUT) begin : g_context
    // context_out (HyperContext, hls/templates/hyper_context.hpp.j2): CF iterations, iteration cf writes the
    // statistics word (bank cb, fold cf) into the ctx output register; the frame leaves after its context
    logic cact, cact_n;          // sending a frame's context
    logic [CW-1:0] ccf, ccf_n;   // statistics fold
    logic cb, cb_n;              // statistics bank
    logic fire;
    assign fire = cact && (!ctx_tvalid || ctx_tready);
    assign h_end = fire && 32'(ccf) == CF - 1;
    assign h_free = !cact || h_end;
    always_comb begin
      cact_n = h_go ? 1'b1 : (h_end ? 1'b0 : cact);
      ccf_n = ccf;
      cb_n = cb;
      if (fire) begin
        ccf_n = (32'(ccf) == CF - 1) ? '0 : ccf + 1'b1;
        if (h_end) cb_n = BUFFERS > 1 ? !cb : 1'b0;
      end
      if (!rst_n) begin
        cact_n = 1'b0;
        ccf_n = '0;
        cb_n = 1'b0;
      end
    end
    always_ff @(posedge clk) begin
      cact <= cact_n;
      ccf <= ccf_n;
      cb <= cb_n;
      if (!rst_n) ctx_tvalid <= 1'b0;
      else if (fire) ctx_tvalid <= 1'b1;
      else if (ctx_tready) ctx_tvalid <= 1'b0;
      if (fire) ctx_tdata <= stat_q;
    end
    assign stat_ra = BW'(32'(cb_n) * CF + 32'(ccf_n));
    assign lane_d0 = '0;
    assign lane_d1 = '0;
  end else begin : g_hyper
    dybnn_dynamic_hyper #(
        .PE(PE), .HCF(CF), .CF(CF), .STAT_BITS(STAT_BITS), .STAT_SIGNED(STAT_SIGNED), .HD(HD),
        .W1_BITS(W1_BITS), .W1_SIGNED(W1_SIGNED), .L1_BITS(L1_BITS), .A1(A1), .B1_BITS(B1_BITS),
        .B1_SIGNED(B1_SIGNED), .H1_BITS(H1_BITS), .HID_BITS(HID_BITS), .HID_SHIFT(HID_SHIFT), .NOF(NOF),
        .W2_BITS(W2_BITS), .W2_SIGNED(W2_SIGNED), .L2_BITS(L2_BITS), .A2(A2), .B2_BITS(B2_BITS),
        .B2_SIGNED(B2_SIGNED), .Z_BITS(Z_BITS), .FZ(FZ), .ACT(ACT), .ACT_BITS(ACT_BITS), .ACT_SIGNED(ACT_SIGNED),
        .ACT_SHIFT(ACT_SHIFT), .SQUASH(SQUASH), .SQ_STEPS(SQ_STEPS), .SQ_BITS(SQ_BITS), .SQ_SIGNED(SQ_SIGNED),
        .SQ_LO(SQ_LO), .DELTA_BITS(DELTA_BITS), .W1_INIT_FILE(W1_INIT_FILE), .B1_INIT_FILE(B1_INIT_FILE),
        .W2_INIT_FILE(W2_INIT_FILE), .B2_INIT_FILE(B2_INIT_FILE), .SQ_INIT_FILE(SQ_INIT_FILE),
        .DELTA_STYLE(DELTA_STYLE), .W1_STYLE(W1_STYLE), .B1_STYLE(B1_STYLE), .W2_STYLE(W2_STYLE),
        .B2_STYLE(B2_STYLE), .B2_KEEP(B2_KEEP), .SBANKS(BUFFERS), .DBANKS(BUFFERS)
    ) u_hyper (
        .clk(clk), .rst_n(rst_n), .go(h_go), .free(h_free), .done(h_end), .stat_ra(stat_ra), .stat_q(stat_q),
        .dl_ra(dl_ra), .d0(lane_d0), .d1(lane_d1));
    assign ctx_tvalid = 1'b0;
    assign ctx_tdata = '0;
  end

  // ------------------------------------------------------------------ frame_out
  assign lane_x = frame_q;
  assign lane_cf_next = ocf_n;
  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (emit) out0_tvalid <= 1'b1;
    else if (out0_tready) out0_tvalid <= 1'b0;
    if (!rst_n || NFWD < 1) out1_tvalid <= 1'b0;
    else if (emit) out1_tvalid <= 1'b1;
    else if (out1_tready) out1_tvalid <= 1'b0;
    if (!rst_n || NFWD < 2) out2_tvalid <= 1'b0;
    else if (emit) out2_tvalid <= 1'b1;
    else if (out2_tready) out2_tvalid <= 1'b0;
    if (emit) out0_tdata <= lane_y;
  end
  // the forwarded word's registers only where NFWD asks for them (else the output ports would keep them); out2
  // holds the same word as out1 (Yosys merges the two registers)
  if (NFWD >= 1) begin : g_fwd1
    always_ff @(posedge clk) if (emit) out1_tdata <= frame_q;
  end else begin : g_nofwd1
    assign out1_tdata = '0;
  end
  if (NFWD >= 2) begin : g_fwd2
    always_ff @(posedge clk) if (emit) out2_tdata <= frame_q;
  end else begin : g_nofwd2
    assign out2_tdata = '0;
  end
endmodule
/* verilator lint_on UNUSEDSIGNAL */
