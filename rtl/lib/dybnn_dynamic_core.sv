// dybnn_dynamic_core: the frame buffer, channel statistics and hyper function shared by DynamicSign and
// DynamicPReLU (hwsim/nodes/base.py HyperFunction; hls/templates/_frame_in.hpp.j2, _hyper.hpp.j2,
// _frame_buffer.hpp.j2). Three processes, one iteration per cycle each (hls.cycles "frame_in", "hyper1",
// "hyper2", "frame_out"; cycles per frame hls.cycles.dynamic_cycles: BUFFERS = 1 max(in, out) + hyper,
// BUFFERS = 2 max(in, hyper, out)):
//   frame_in   WORDS iterations: store word i in the frame buffer, add its elements (requantized to PRE_BITS
//              when PRE) to the channel sums; with the last pixel, stat = requant(sum) (STAT_SHIFT);
//   hyper      once a frame's statistics are complete: hyper1, HD*CF iterations (j, cf): a = sum over cf, p of
//              stat[p][cf] * w1[p][j][cf]; at cf = CF-1 hidden[j] = requant(relu((a << A1) + b1[j]))
//              (HID_SHIFT, unsigned HID_BITS); then hyper2, NOF*HD iterations (of, j): acc[p] += hidden[j] *
//              w2[p][of][j]; at j = HD-1 z = (acc[p] << A2) + b2[p][of], then the squash (SQUASH: level
//              SQ_LO + #(sq_thr <= z)) or the clip to [-2^FZ, 2^FZ] and, when ACT, requant (ACT_SHIFT): delta of
//              output of*PE + p;
//   frame_out  once a frame's deltas are complete: WORDS iterations: word i of the frame buffer and the deltas
//              of its channel fold go to the lanes of the wrapper (lane_* ports), whose result lane_y is the
//              output word.
// The frame buffer is a ring of BUFFERS frames: frame_in writes a slot only once frame_out has emitted it, so
// it runs at most BUFFERS frames ahead; with that order one bank of statistics and of deltas per buffered
// frame is enough (frame f + BUFFERS cannot start before frame f goes out). Outputs of*PE + p with of < CF are
// delta bank 0 (DynamicSign's delta, DynamicPReLU's dg); of >= CF bank 1 (dz). Every memory is read one cycle
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
    parameter STAT_STYLE = "distributed",   // ram_style of the channel sums and statistics
    parameter DELTA_STYLE = "distributed",  // ram_style of the deltas
    parameter W1_STYLE = "distributed",     // rom_style of the hyper-function constants
    parameter B1_STYLE = "distributed",
    parameter W2_STYLE = "distributed",
    parameter B2_STYLE = "distributed",
    parameter int BUFFERS = 1,        // frames in the frame buffer (hls.folding Fold.buffers: 1, or 2 ping-pong)
    parameter int NFWD = 0,           // outputs 1..NFWD: the buffered input word (hls.timing.forward_frames), 0-2
    parameter int OUT_W = 1,          // output word width
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
  localparam int HW = $clog2(HD > 1 ? HD : 2);
  localparam int OW = $clog2(NOF > 1 ? NOF : 2);
  localparam int N1 = HD * CF;
  localparam int N2 = NOF * HD;
  localparam int AW1 = $clog2(N1 > 1 ? N1 : 2);
  localparam int AW2 = $clog2(N2 > 1 ? N2 : 2);
  localparam int NBANK = NOF > CF ? 2 : 1;
  localparam int BK = BUFFERS * CF;  // statistics / deltas: one bank of CF words per buffered frame
  localparam int BW = $clog2(BK > 1 ? BK : 2);
  localparam int ZC = (Z_BITS > FZ + 2 ? Z_BITS : FZ + 2);  // z and the clip bounds
  localparam int SQN = (1 << SQ_STEPS) - 1;
  localparam int SQC = (Z_BITS > SQ_BITS ? Z_BITS : SQ_BITS) + 1;
  localparam logic [1:0] H_IDLE = 2'd0, H_1 = 2'd1, H_2 = 2'd2;

  // ------------------------------------------------------------------ frame_in process
  logic [CW-1:0] wcf, wcf_n;     // channel fold
  logic [PW-1:0] wpx, wpx_n;     // pixel
  logic wb, wb_n;                // statistics bank of the frame coming in
  logic [RW-1:0] wp, wp_n;       // ring write pointer
  logic [RW:0] occ, occ_n;       // words in the ring (written, not yet emitted)
  logic take;                    // a word is read
  logic in_last;                 // ... and it is the frame's last
  // ------------------------------------------------------------------ hyper process
  logic [1:0] hst, hst_n;
  logic [CW-1:0] hcf, hcf_n;     // channel fold (hyper1)
  logic [HW-1:0] j, j_n;         // hidden unit (hyper1, hyper2)
  logic [OW-1:0] of, of_n;       // output fold (hyper2)
  logic [CW-1:0] ob, ob_n;       // of modulo CF
  logic part, part_n;            // of >= CF (delta bank 1: DynamicPReLU's dz)
  logic [AW1-1:0] a1i, a1i_n;    // hyper1 iteration j*CF + cf: w1 word
  logic [AW2-1:0] a2i, a2i_n;    // hyper2 iteration of*HD + j: w2 word
  logic hb, hb_n;                // statistics / delta bank of the frame in the hyper function
  logic [1:0] nst, nst_n;        // frames whose statistics wait for the hyper function
  logic h_end;                   // last hyper2 iteration (its deltas are written)
  logic h_go;                    // the hyper function starts a frame in the next cycle
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
  assign h_end = hst == H_2 && 32'(a2i) == N2 - 1;
  assign h_go = (hst == H_IDLE || h_end) && (nst != 2'd0 || in_last);
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
    // hyper function
    hst_n = hst;
    hcf_n = hcf;
    j_n = j;
    of_n = of;
    ob_n = ob;
    part_n = part;
    a1i_n = a1i;
    a2i_n = a2i;
    hb_n = hb;
    case (hst)
      H_1: begin
        a1i_n = a1i + 1'b1;
        hcf_n = hcf + 1'b1;
        if (32'(hcf) == CF - 1) begin
          hcf_n = '0;
          j_n = j + 1'b1;
        end
        if (32'(a1i) == N1 - 1) begin
          hst_n = H_2;
          j_n = '0;
          of_n = '0;
          ob_n = '0;
          part_n = 1'b0;
          a2i_n = '0;
        end
      end
      H_2: begin
        a2i_n = a2i + 1'b1;
        j_n = j + 1'b1;
        if (32'(j) == HD - 1) begin
          j_n = '0;
          of_n = of + 1'b1;
          ob_n = ob + 1'b1;
          if (32'(ob) == CF - 1) begin
            ob_n = '0;
            part_n = 1'b1;
          end
        end
        if (h_end) begin
          hst_n = H_IDLE;
          hb_n = BUFFERS > 1 ? !hb : 1'b0;
          j_n = '0;
          of_n = '0;
          a2i_n = '0;
        end
      end
      default: ;
    endcase
    if (h_go) begin  // the first hyper1 iteration's reads are issued now
      hst_n = H_1;
      hcf_n = '0;
      j_n = '0;
      a1i_n = '0;
    end
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
      hst_n = H_IDLE;
      hcf_n = '0;
      j_n = '0;
      of_n = '0;
      ob_n = '0;
      part_n = 1'b0;
      a1i_n = '0;
      a2i_n = '0;
      hb_n = 1'b0;
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
    hst <= hst_n;
    hcf <= hcf_n;
    j <= j_n;
    of <= of_n;
    ob <= ob_n;
    part <= part_n;
    a1i <= a1i_n;
    a2i <= a2i_n;
    hb <= hb_n;
    oact <= oact_n;
    ri <= ri_n;
    ocf <= ocf_n;
    rb <= rb_n;
    rp <= rp_n;
    ndl <= ndl_n;
  end

  // ------------------------------------------------------------------ memories
  // bank b, channel fold c of the statistics and delta memories: word b*CF + c
  logic [BW-1:0] stat_wa, stat_ra, dl_wa, dl_ra;
  assign stat_wa = BW'(32'(wb) * CF + 32'(wcf));
  assign stat_ra = BW'(32'(hb_n) * CF + 32'(hcf_n));
  assign dl_wa = BW'(32'(hb) * CF + 32'(ob));
  assign dl_ra = BW'(32'(rb_n) * CF + 32'(ocf_n));

  logic [PE*X_BITS-1:0] frame_q;
  dybnn_ram #(.DEPTH(RING), .WIDTH(PE * X_BITS), .STYLE(FRAME_STYLE)) u_frame (
      .clk(clk), .we(take), .waddr(wp), .wdata(in0_tdata), .raddr(rp_n), .rdata(frame_q));

  logic [PE*SUM_BITS-1:0] sum_q, sum_d;
  dybnn_ram #(.DEPTH(CF), .WIDTH(PE * SUM_BITS), .STYLE(STAT_STYLE)) u_sum (
      .clk(clk), .we(take), .waddr(wcf), .wdata(sum_d), .raddr(wcf_n), .rdata(sum_q));

  logic [PE*STAT_BITS-1:0] stat_q, stat_d;
  dybnn_ram #(.DEPTH(BK), .WIDTH(PE * STAT_BITS), .STYLE(STAT_STYLE)) u_stat (
      .clk(clk), .we(take && 32'(wpx) == PIXELS - 1), .waddr(stat_wa), .wdata(stat_d),
      .raddr(stat_ra), .rdata(stat_q));

  logic [PE*W1_BITS-1:0] w1_q;
  dybnn_rom #(.DEPTH(N1), .WIDTH(PE * W1_BITS), .INIT_FILE(W1_INIT_FILE), .STYLE(W1_STYLE)) u_w1 (
      .clk(clk), .addr(a1i_n), .data(w1_q));
  logic [B1_BITS-1:0] b1_q;
  dybnn_rom #(.DEPTH(HD), .WIDTH(B1_BITS), .INIT_FILE(B1_INIT_FILE), .STYLE(B1_STYLE)) u_b1 (
      .clk(clk), .addr(j_n), .data(b1_q));

  logic hid_we;
  logic [HID_BITS-1:0] hid_d, hid_q;
  dybnn_ram #(.DEPTH(HD), .WIDTH(HID_BITS), .STYLE("distributed")) u_hidden (
      .clk(clk), .we(hid_we), .waddr(j), .wdata(hid_d), .raddr(j_n), .rdata(hid_q));

  logic [PE*W2_BITS-1:0] w2_q;
  dybnn_rom #(.DEPTH(N2), .WIDTH(PE * W2_BITS), .INIT_FILE(W2_INIT_FILE), .STYLE(W2_STYLE)) u_w2 (
      .clk(clk), .addr(a2i_n), .data(w2_q));
  logic [PE*B2_BITS-1:0] b2_q;
  dybnn_rom #(.DEPTH(NOF), .WIDTH(PE * B2_BITS), .INIT_FILE(B2_INIT_FILE), .STYLE(B2_STYLE)) u_b2 (
      .clk(clk), .addr(of_n), .data(b2_q));

  logic dl_we;
  logic [PE*DELTA_BITS-1:0] dl_d;
  dybnn_ram #(.DEPTH(BK), .WIDTH(PE * DELTA_BITS), .STYLE(DELTA_STYLE)) u_delta0 (
      .clk(clk), .we(dl_we && !part), .waddr(dl_wa), .wdata(dl_d), .raddr(dl_ra),
      .rdata(lane_d0));
  if (NBANK == 2) begin : g_bank1
    dybnn_ram #(.DEPTH(BK), .WIDTH(PE * DELTA_BITS), .STYLE(DELTA_STYLE)) u_delta1 (
        .clk(clk), .we(dl_we && part), .waddr(dl_wa), .wdata(dl_d), .raddr(dl_ra),
        .rdata(lane_d1));
  end else begin : g_nobank1
    assign lane_d1 = '0;
  end

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

  // ------------------------------------------------------------------ the MAC lanes
  // One multiplier per PE lane, shared by the two layers (they never run in the same cycle; hls/estimate/dynamic.py
  // counts PE MAC units): in hyper1 the lane's statistic times its w1 weight, in hyper2 the hidden value times
  // the lane's w2 weight. The product is exact (MA x MB signed bits), so its low L1_BITS / L2_BITS bits are those
  // of the product taken at that width.
  localparam int MA = (STAT_BITS > HID_BITS ? STAT_BITS : HID_BITS) + 1;
  localparam int MB = (W1_BITS > W2_BITS ? W1_BITS : W2_BITS) + 1;
  logic signed [MA+MB-1:0] prod[PE];
  for (genvar p = 0; p < PE; p++) begin : g_mac
    logic signed [MA-1:0] ma;
    logic signed [MB-1:0] mb;
    always_comb begin
      if (hst == H_1) begin
        ma = STAT_SIGNED ? MA'($signed(stat_q[p*STAT_BITS+:STAT_BITS]))
                         : MA'($signed({1'b0, stat_q[p*STAT_BITS+:STAT_BITS]}));
        mb = W1_SIGNED ? MB'($signed(w1_q[p*W1_BITS+:W1_BITS])) : MB'($signed({1'b0, w1_q[p*W1_BITS+:W1_BITS]}));
      end else begin
        ma = MA'($signed({1'b0, hid_q}));
        mb = W2_SIGNED ? MB'($signed(w2_q[p*W2_BITS+:W2_BITS])) : MB'($signed({1'b0, w2_q[p*W2_BITS+:W2_BITS]}));
      end
    end
    assign prod[p] = (MA + MB)'(ma) * (MA + MB)'(mb);
  end

  // ------------------------------------------------------------------ hyper1
  logic signed [L1_BITS-1:0] a1, l1;
  always_comb begin
    l1 = (hcf == '0) ? '0 : a1;
    for (int p = 0; p < PE; p++) l1 = l1 + L1_BITS'(prod[p]);
  end
  logic signed [H1_BITS-1:0] h1;
  always_comb begin
    h1 = (H1_BITS'(l1) <<< A1) + (B1_SIGNED ? H1_BITS'($signed(b1_q)) : H1_BITS'($signed({1'b0, b1_q})));
    if (h1 < 0) h1 = '0;  // ReLU
  end
  dybnn_rne_sat #(.IN_W(H1_BITS), .BITS(HID_BITS), .SIGNED(1'b0), .SHIFT(HID_SHIFT)) u_hid (.v(h1), .q(hid_d));
  assign hid_we = hst == H_1 && 32'(hcf) == CF - 1;
  always_ff @(posedge clk) if (hst == H_1) a1 <= l1;

  // ------------------------------------------------------------------ hyper2
  assign dl_we = hst == H_2 && 32'(j) == HD - 1;
  for (genvar p = 0; p < PE; p++) begin : g_h2
    logic signed [L2_BITS-1:0] acc, l2;
    logic signed [Z_BITS-1:0] z;
    logic signed [DELTA_BITS-1:0] dv;
    assign l2 = (j == '0 ? '0 : acc) + L2_BITS'(prod[p]);
    always_ff @(posedge clk) if (hst == H_2) acc <= l2;
    assign z = (Z_BITS'(l2) <<< A2)
        + (B2_SIGNED ? Z_BITS'($signed(b2_q[p*B2_BITS+:B2_BITS])) : Z_BITS'($signed({1'b0, b2_q[p*B2_BITS+:B2_BITS]})));
    if (SQUASH) begin : g_squash
      (* rom_style = "distributed" *) logic [SQ_BITS-1:0] sq_thr[SQN];
      if (SQ_INIT_FILE != "") begin : g_init
        initial $readmemh(SQ_INIT_FILE, sq_thr);
      end
      logic [SQ_STEPS-1:0] n;
      logic [SQ_STEPS-1:0] probe;
      logic signed [SQC-1:0] t;
      always_comb begin
        n = '0;
        for (int b = SQ_STEPS - 1; b >= 0; b--) begin
          probe = n | (SQ_STEPS'(1) << b);
          t = SQ_SIGNED ? SQC'($signed(sq_thr[32'(probe)-1])) : SQC'($signed({1'b0, sq_thr[32'(probe)-1]}));
          if (t <= SQC'(z)) n = probe;
        end
      end
      assign dv = DELTA_BITS'(SQ_LO) + DELTA_BITS'($signed({1'b0, n}));
    end else begin : g_clip
      logic signed [ZC-1:0] zc;
      logic signed [ZC-1:0] one;
      always_comb begin
        one = ZC'(1) <<< FZ;
        zc = ZC'(z);
        if (zc < -one) zc = -one;
        if (zc > one) zc = one;
      end
      if (ACT) begin : g_act
        logic [ACT_BITS-1:0] aq;
        dybnn_rne_sat #(.IN_W(ZC), .BITS(ACT_BITS), .SIGNED(ACT_SIGNED), .SHIFT(ACT_SHIFT)) u_act (.v(zc), .q(aq));
        assign dv = ACT_SIGNED ? DELTA_BITS'($signed(aq)) : DELTA_BITS'($signed({1'b0, aq}));
      end else begin : g_noact
        assign dv = DELTA_BITS'(zc);
      end
    end
    assign dl_d[p*DELTA_BITS+:DELTA_BITS] = dv;
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
    if (emit) begin
      out0_tdata <= lane_y;
      out1_tdata <= frame_q;
      out2_tdata <= frame_q;
    end
  end
endmodule
/* verilator lint_on UNUSEDSIGNAL */
