// dybnn_mvu: the matrix-vector unit of XnorDense/XnorConv/FixedDense/FixedConv with its fused output stage
// (HLS _mvu.hpp.j2, FINN MVAU structure). N vectors per frame of MW = SF*SIMD inputs -> MH = NF*PE outputs:
// one loop of N*NF*SF iterations, one per cycle; iteration (nf, sf) takes input word sf of the vector (read from
// the stream while nf == 0 and kept in `vec` for the other neuron folds), adds the SIMD products of each of the
// PE output channels nf*PE + p to its accumulator, and at sf == SF-1 writes the PE outputs as one word.
//
// KIND 0 (xnor): binary x binary, partial = 2*popcount(XNOR(x, w)) - SIMD; with MASKED the input word carries a
//                valid bit at bit SIMD (0-padding of a convolution: a padded word contributes 0)
// KIND 1 (signed_add): binary weights on an X_W-bit input: +x where the weight bit is 1, -x where it is 0
// KIND 2 (mac): W_W-bit signed weights, multiply-accumulate
// STAGE 0 (threshold): bit p = (acc >= thr) XOR invert                         (OUT_BITS = 1)
// STAGE 1 (affine): v = acc*mul + bias (VALUE_W bits, exact); REQUANT: round half to even by SHIFT bits and
//                saturate to OUT_BITS (dybnn_rne_sat), else v's low OUT_BITS bits
// Memories: W (NF*SF words, tile nf*SF + sf; lane p holds the SIMD weights of output channel nf*PE + p: SIMD
// bits, or SIMD W_W-bit fields), P (NF words; lane p: {invert, thr} or {bias, mul}, LSB first).
module dybnn_mvu #(
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
    parameter VEC_STYLE = "distributed"
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [IN_W-1:0]        in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  localparam int TILES = NF * SF;
  localparam int TW = TILES > 1 ? $clog2(TILES) : 1;
  localparam int NW = NF > 1 ? $clog2(NF) : 1;
  localparam int SW = SF > 1 ? $clog2(SF) : 1;
  localparam int WL = KIND == 2 ? SIMD * W_W : SIMD;  // weight bits per lane
  localparam int PL = STAGE == 0 ? THR_W + 1 : MUL_W + BIAS_W;  // parameter bits per lane
  localparam int CW = ACC_W > THR_W ? ACC_W : THR_W;  // threshold comparison width

  generate
    if (KIND == 0 && X_W != 1) begin : g_bad_x
      $error("dybnn_mvu: KIND 0 (xnor) needs X_W = 1");
    end
    if (IN_W != SIMD * X_W + (MASKED ? 1 : 0)) begin : g_bad_in
      $error("dybnn_mvu: IN_W must be SIMD*X_W (+1 when MASKED)");
    end
  endgenerate

  logic [NW-1:0] nf;
  logic [SW-1:0] sf;
  logic [TW-1:0] tile;
  logic [NW-1:0] nf_next;
  logic [TW-1:0] tile_next;
  logic [PE*WL-1:0] wword;
  logic [PE*PL-1:0] pword;
  logic [IN_W-1:0] x;
  logic [PE*OUT_BITS-1:0] y;

  wire need_in = nf == '0;
  wire last_sf = sf == SW'(SF - 1);
  wire adv = !out0_tvalid || out0_tready;
  wire step = rst_n && (!need_in || in0_tvalid) && (!last_sf || adv);
  assign in0_tready = rst_n && need_in && (!last_sf || adv);

  assign tile_next = !step ? tile : (tile == TW'(TILES - 1)) ? '0 : tile + TW'(1);
  assign nf_next = !(step && last_sf) ? nf : (nf == NW'(NF - 1)) ? '0 : nf + NW'(1);

  generate
    if (W_STYLE != "block" && TILES > 4) begin : g_w_kept
      (* keep_hierarchy *)
      dybnn_rom #(.DEPTH(TILES), .WIDTH(PE * WL), .INIT_FILE(W_INIT_FILE), .STYLE(W_STYLE)) u_w (
          .clk(clk), .addr(tile_next), .data(wword)
      );
    end else begin : g_w
      dybnn_rom #(.DEPTH(TILES), .WIDTH(PE * WL), .INIT_FILE(W_INIT_FILE), .STYLE(W_STYLE)) u_w (
          .clk(clk), .addr(tile_next), .data(wword)
      );
    end
  endgenerate
  dybnn_rom #(.DEPTH(NF), .WIDTH(PE * PL), .INIT_FILE(P_INIT_FILE), .STYLE(P_STYLE)) u_p (
      .clk(clk), .addr(nf_next), .data(pword)
  );

  // the input vector, kept for the neuron folds nf > 0: word sf is written while nf == 0 and read while nf > 0.
  // VEC_STYLE (the generator's memory rule): "registers" (flip-flops and a multiplexer), "distributed" (LUTRAM,
  // read asynchronously at sf) or "block" (block RAM, read one cycle ahead at the next iteration's sf: a step
  // moves sf, so the word read is never the one written in the same cycle; with SF = 2 the word written is
  // read in the next cycle, after the write). One word (SF = 1) is a register.
  generate
    if (NF > 1 && SF == 1) begin : g_vec1
      logic [IN_W-1:0] vec;
      always_ff @(posedge clk) if (step && need_in) vec <= in0_tdata;
      assign x = need_in ? in0_tdata : vec;
    end else if (NF > 1 && VEC_STYLE == "block") begin : g_vec_block
      logic [SW-1:0] sf_next;
      logic [IN_W-1:0] vq;
      assign sf_next = !step ? sf : last_sf ? '0 : sf + SW'(1);
      (* ram_style = "block" *) logic [IN_W-1:0] vec[SF];
      always_ff @(posedge clk) begin
        if (step && need_in) vec[sf] <= in0_tdata;
        vq <= vec[sf_next];
      end
      assign x = need_in ? in0_tdata : vq;
    end else if (NF > 1 && VEC_STYLE == "registers") begin : g_vec_regs
      (* ram_style = "registers" *) logic [IN_W-1:0] vec[SF];
      always_ff @(posedge clk) if (step && need_in) vec[sf] <= in0_tdata;
      assign x = need_in ? in0_tdata : vec[sf];
    end else if (NF > 1) begin : g_vec_dist
      (* ram_style = "distributed" *) logic [IN_W-1:0] vec[SF];
      always_ff @(posedge clk) if (step && need_in) vec[sf] <= in0_tdata;
      assign x = need_in ? in0_tdata : vec[sf];
    end else begin : g_novec
      assign x = in0_tdata;
    end
  endgenerate

  genvar p;
  generate
    for (p = 0; p < PE; p++) begin : g_pe
      logic signed [ACC_W-1:0] acc;
      logic signed [ACC_W-1:0] partial;
      logic signed [ACC_W-1:0] acc_new;
      wire [WL-1:0] w = wword[p*WL+:WL];
      if (KIND == 0) begin : g_xnor
        always_comb begin
          logic [SIMD-1:0] agree;
          int n;
          agree = ~(x[SIMD-1:0] ^ w);
          n = 0;
          for (int s = 0; s < SIMD; s++) n = n + int'(agree[s]);
          partial = ACC_W'(2 * n - SIMD);
          if (MASKED && !x[IN_W-1]) partial = '0;  // padded position: contributes nothing
        end
      end else begin : g_sum
        always_comb begin
          logic signed [ACC_W-1:0] xs;
          logic signed [ACC_W-1:0] ws;
          partial = '0;
          for (int s = 0; s < SIMD; s++) begin
            xs = X_SIGNED ? ACC_W'($signed(x[s*X_W+:X_W])) : ACC_W'($signed({1'b0, x[s*X_W+:X_W]}));
            if (KIND == 1) begin
              ws = '0;
              partial = w[s] ? partial + xs : partial - xs;
            end else begin
              ws = ACC_W'($signed(w[s*W_W+:W_W]));
              partial = partial + xs * ws;
            end
          end
        end
      end
      assign acc_new = (sf == '0 ? ACC_W'(0) : acc) + partial;
      always_ff @(posedge clk) if (step) acc <= acc_new;

      // output stage on the finished accumulator
      if (STAGE == 0) begin : g_thr
        wire signed [CW-1:0] a = CW'(acc_new);
        wire signed [CW-1:0] t = CW'($signed(pword[p*PL+:THR_W]));
        assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'((a >= t) ^ pword[p*PL+THR_W]);
      end else begin : g_affine
        wire signed [VALUE_W-1:0] mul = VALUE_W'($signed(pword[p*PL+:MUL_W]));
        wire signed [VALUE_W-1:0] bias = VALUE_W'($signed(pword[p*PL+MUL_W+:BIAS_W]));
        wire signed [VALUE_W-1:0] v = VALUE_W'(acc_new) * mul + bias;
        if (REQUANT) begin : g_rq
          dybnn_rne_sat #(.IN_W(VALUE_W), .BITS(OUT_BITS), .SIGNED(OUT_SIGNED), .SHIFT(SHIFT)) u_rq (
              .v(v), .q(y[p*OUT_BITS+:OUT_BITS])
          );
        end else begin : g_trunc
          assign y[p*OUT_BITS+:OUT_BITS] = v[OUT_BITS-1:0];
        end
      end
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      nf <= '0;
      sf <= '0;
      tile <= '0;
      out0_tvalid <= 1'b0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (step) begin
        tile <= tile_next;
        nf <= nf_next;
        sf <= last_sf ? '0 : sf + SW'(1);
        if (last_sf) out0_tvalid <= 1'b1;
      end
    end
    if (step && last_sf) out0_tdata <= y;
  end
endmodule
