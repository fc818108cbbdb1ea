// dybnn_rne_sat: requantization of one exact integer (combinational).
// q = saturate(round_half_to_even(v * 2^-SHIFT)) to a BITS-bit (SIGNED or unsigned) integer; SHIFT <= 0 is an
// exact left shift. Mirrors hwsim.encoding.requantize and dybnn::requantize of the HLS templates.
module dybnn_rne_sat #(
    parameter int IN_W = 8,     // width of v (signed two's complement)
    parameter int BITS = 8,     // result width
    parameter bit SIGNED = 1'b1,
    parameter int SHIFT = 0
) (
    input  logic signed [IN_W-1:0] v,
    output logic        [BITS-1:0] q
);
  localparam int S = SHIFT > 0 ? SHIFT : 0;
  localparam int L = SHIFT < 0 ? -SHIFT : 0;
  localparam int VW = (IN_W > S + 1 ? IN_W : S + 1) + 1;  // v extended: holds floor and the remainder
  localparam int R0 = IN_W + L + 2;
  localparam int R = (VW + 1 > R0 ? (VW + 1 > BITS + 2 ? VW + 1 : BITS + 2) : (R0 > BITS + 2 ? R0 : BITS + 2));

  logic signed [R-1:0] r;
  logic signed [R-1:0] lo;
  logic signed [R-1:0] hi;
  logic signed [R-1:0] one;

  generate
    if (S > 0) begin : g_round
      logic signed [VW-1:0] vx;
      logic signed [VW-1:0] fl;
      logic [S-1:0] rem;
      logic up;
      always_comb begin
        vx = VW'(v);
        fl = vx >>> S;
        rem = vx[S-1:0];
        up = (rem > (S'(1) << (S - 1))) || ((rem == (S'(1) << (S - 1))) && fl[0]);
        r = R'(fl) + R'($signed({1'b0, up}));
      end
    end else begin : g_shift
      always_comb r = R'(v) <<< L;
    end
  endgenerate

  always_comb begin
    one = R'(1);
    lo = SIGNED ? -(one <<< (BITS - 1)) : '0;
    hi = SIGNED ? (one <<< (BITS - 1)) - one : (one <<< BITS) - one;
    if (r < lo) q = lo[BITS-1:0];
    else if (r > hi) q = hi[BITS-1:0];
    else q = r[BITS-1:0];
  end
endmodule
