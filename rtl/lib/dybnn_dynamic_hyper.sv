// dybnn_dynamic_hyper: the hyper-function process of a DyBNN dynamic unit (hwsim/nodes/base.py HyperFunction;
// hls/templates/_hyper.hpp.j2), shared by dybnn_dynamic_core (the statistics of the unit's own frame) and
// dybnn_dynamic_context (a context vector read from a stream, hyper_context: stem). One iteration per cycle
// (hls.cycles "hyper1", "hyper2"), started by `go` (the caller's: a frame's statistics are complete and the
// process is `free`):
//   hyper1  HD*HCF iterations (j, cf): a = sum over cf, p of stat[p][cf] * w1[p][j][cf]; at cf = HCF-1
//           hidden[j] = requant(relu((a << A1) + b1[j])) (HID_SHIFT, unsigned HID_BITS);
//   hyper2  NOF*HD iterations (of, j): acc[p] += hidden[j] * w2[p][of][j]; at j = HD-1 z = (acc[p] << A2) +
//           b2[p][of], then the squash (SQUASH: level SQ_LO + #(sq_thr <= z)) or the clip to [-2^FZ, 2^FZ] and,
//           when ACT, requant (ACT_SHIFT): delta of output of*PE + p.
// The statistics are the caller's memory (SBANKS banks of HCF words), read one cycle ahead at `stat_ra`; the
// deltas are written here, DBANKS banks of CF words (CF: the unit's channel folds), read by the caller at `dl_ra`
// (one cycle ahead). Outputs of*PE + p with of < CF are delta bank 0 (DynamicSign's delta, DynamicPReLU's dg);
// of >= CF bank 1 (dz). The bank of statistics read and of deltas written alternates frame by frame when there
// are two. `free`: idle or in the last iteration, so `go` starts the next frame without a bubble.
/* verilator lint_off UNUSEDSIGNAL */  // which bits of the sign-extended operands are used depends on the widths
module dybnn_dynamic_hyper #(
    parameter int PE = 1,
    parameter int HCF = 1,            // statistic folds: hyper-function inputs / PE
    parameter int CF = 1,             // the unit's channel folds C / PE (words per delta bank)
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
    parameter DELTA_STYLE = "distributed",  // ram_style of the deltas
    parameter W1_STYLE = "distributed",     // rom_style of the hyper-function constants
    parameter B1_STYLE = "distributed",
    parameter W2_STYLE = "distributed",
    parameter B2_STYLE = "distributed",
    parameter bit B2_KEEP = 1'b0,     // b2 as a module of its own (dybnn_dynamic_rom)
    parameter int SBANKS = 1,         // banks of statistics (1 or 2)
    parameter int DBANKS = 1,         // banks of deltas (1 or 2)
    localparam int SW = $clog2(SBANKS * HCF > 1 ? SBANKS * HCF : 2),
    localparam int DW = $clog2(DBANKS * CF > 1 ? DBANKS * CF : 2)
) (
    input  logic                      clk,
    input  logic                      rst_n,
    input  logic                      go,      // start a frame in the next cycle (only while free)
    output logic                      free,    // idle, or in the last iteration
    output logic                      done,    // the last iteration: the frame's deltas are written
    output logic [SW-1:0]             stat_ra, // statistics word read in the next cycle: bank*HCF + cf
    input  logic [PE*STAT_BITS-1:0]   stat_q,
    input  logic [DW-1:0]             dl_ra,   // delta word read in the next cycle: bank*CF + cf
    output logic [PE*DELTA_BITS-1:0]  d0,
    output logic [PE*DELTA_BITS-1:0]  d1
);
  localparam int CW = $clog2(CF > 1 ? CF : 2);
  localparam int HCW = $clog2(HCF > 1 ? HCF : 2);
  localparam int HW = $clog2(HD > 1 ? HD : 2);
  localparam int OW = $clog2(NOF > 1 ? NOF : 2);
  localparam int N1 = HD * HCF;
  localparam int N2 = NOF * HD;
  localparam int AW1 = $clog2(N1 > 1 ? N1 : 2);
  localparam int AW2 = $clog2(N2 > 1 ? N2 : 2);
  localparam int NBANK = NOF > CF ? 2 : 1;
  localparam int ZC = (Z_BITS > FZ + 2 ? Z_BITS : FZ + 2);  // z and the clip bounds
  localparam int SQN = (1 << SQ_STEPS) - 1;
  localparam int SQC = (Z_BITS > SQ_BITS ? Z_BITS : SQ_BITS) + 1;
  localparam logic [1:0] H_IDLE = 2'd0, H_1 = 2'd1, H_2 = 2'd2;

  logic [1:0] hst, hst_n;
  logic [HCW-1:0] hcf, hcf_n;    // statistic fold (hyper1)
  logic [HW-1:0] j, j_n;         // hidden unit (hyper1, hyper2)
  logic [OW-1:0] of, of_n;       // output fold (hyper2)
  logic [CW-1:0] ob, ob_n;       // of modulo CF
  logic part, part_n;            // of >= CF (delta bank 1: DynamicPReLU's dz)
  logic [AW1-1:0] a1i, a1i_n;    // hyper1 iteration j*HCF + cf: w1 word
  logic [AW2-1:0] a2i, a2i_n;    // hyper2 iteration of*HD + j: w2 word
  logic hb, hb_n;                // statistics / delta bank of the frame in the hyper function

  assign done = hst == H_2 && 32'(a2i) == N2 - 1;
  assign free = hst == H_IDLE || done;

  always_comb begin
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
        if (32'(hcf) == HCF - 1) begin
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
        if (done) begin
          hst_n = H_IDLE;
          hb_n = DBANKS > 1 ? !hb : 1'b0;
          j_n = '0;
          of_n = '0;
          a2i_n = '0;
        end
      end
      default: ;
    endcase
    if (go) begin  // the first hyper1 iteration's reads are issued now
      hst_n = H_1;
      hcf_n = '0;
      j_n = '0;
      a1i_n = '0;
    end
    if (!rst_n) begin
      hst_n = H_IDLE;
      hcf_n = '0;
      j_n = '0;
      of_n = '0;
      ob_n = '0;
      part_n = 1'b0;
      a1i_n = '0;
      a2i_n = '0;
      hb_n = 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    hst <= hst_n;
    hcf <= hcf_n;
    j <= j_n;
    of <= of_n;
    ob <= ob_n;
    part <= part_n;
    a1i <= a1i_n;
    a2i <= a2i_n;
    hb <= hb_n;
  end

  // ------------------------------------------------------------------ memories
  // The weight tables w1 and w2 as LUT ROMs are modules of their own (keep_hierarchy, dybnn_dynamic_rom: their
  // late address made ABC9 rebuild every column around the address logic), b2 where the generator sets B2_KEEP
  // (more than four words, not constant: a constant bias stays inline and removes z's adder); b1 (HD words) inline.
  assign stat_ra = SW'(32'(SBANKS > 1 ? hb_n : 1'b0) * HCF + 32'(hcf_n));
  logic [DW-1:0] dl_wa;
  assign dl_wa = DW'(32'(hb) * CF + 32'(ob));

  logic [PE*W1_BITS-1:0] w1_q;
  dybnn_dynamic_rom #(.DEPTH(N1), .WIDTH(PE * W1_BITS), .INIT_FILE(W1_INIT_FILE), .STYLE(W1_STYLE),
      .KEEP(W1_STYLE != "block")) u_w1 (.clk(clk), .addr(a1i_n), .data(w1_q));
  logic [B1_BITS-1:0] b1_q;
  dybnn_rom #(.DEPTH(HD), .WIDTH(B1_BITS), .INIT_FILE(B1_INIT_FILE), .STYLE(B1_STYLE)) u_b1 (
      .clk(clk), .addr(j_n), .data(b1_q));

  logic hid_we;
  logic [HID_BITS-1:0] hid_d, hid_q;
  dybnn_ram #(.DEPTH(HD), .WIDTH(HID_BITS), .STYLE("distributed")) u_hidden (
      .clk(clk), .we(hid_we), .waddr(j), .wdata(hid_d), .raddr(j_n), .rdata(hid_q));

  logic [PE*W2_BITS-1:0] w2_q;
  dybnn_dynamic_rom #(.DEPTH(N2), .WIDTH(PE * W2_BITS), .INIT_FILE(W2_INIT_FILE), .STYLE(W2_STYLE),
      .KEEP(W2_STYLE != "block")) u_w2 (.clk(clk), .addr(a2i_n), .data(w2_q));
  logic [PE*B2_BITS-1:0] b2_q;
  dybnn_dynamic_rom #(.DEPTH(NOF), .WIDTH(PE * B2_BITS), .INIT_FILE(B2_INIT_FILE), .STYLE(B2_STYLE),
      .KEEP(B2_KEEP)) u_b2 (.clk(clk), .addr(of_n), .data(b2_q));

  logic dl_we;
  logic [PE*DELTA_BITS-1:0] dl_d;
  dybnn_ram #(.DEPTH(DBANKS * CF), .WIDTH(PE * DELTA_BITS), .STYLE(DELTA_STYLE)) u_delta0 (
      .clk(clk), .we(dl_we && !part), .waddr(dl_wa), .wdata(dl_d), .raddr(dl_ra), .rdata(d0));
  if (NBANK == 2) begin : g_bank1
    dybnn_ram #(.DEPTH(DBANKS * CF), .WIDTH(PE * DELTA_BITS), .STYLE(DELTA_STYLE)) u_delta1 (
        .clk(clk), .we(dl_we && part), .waddr(dl_wa), .wdata(dl_d), .raddr(dl_ra), .rdata(d1));
  end else begin : g_nobank1
    assign d1 = '0;
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
  assign hid_we = hst == H_1 && 32'(hcf) == HCF - 1;
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
endmodule
/* verilator lint_on UNUSEDSIGNAL */
