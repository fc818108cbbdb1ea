// dybnn_prelu_lane: one lane of PReLU_beta(x - g) + z, exact, then requantized (combinational); the datapath of
// hls/templates/_prelu.hpp.j2 and hwsim.reference._prelu_exact. g is on the grid of the subtraction (D_BITS),
// z on the grid of the sum (R_BITS).
module dybnn_prelu_lane #(
    parameter int X_W = 9,          // x, signed
    parameter int SLOPE_W = 9,      // beta, signed
    parameter int SHIFT_X = 0,      // x to the grid of x - g
    parameter int D_BITS = 10,      // x - g
    parameter int SHIFT_POS = 0,    // d >= 0: d << SHIFT_POS (the grid of d * beta)
    parameter int P_BITS = 18,      // PReLU(d)
    parameter int SHIFT_P = 0,      // PReLU(d) to the grid of the sum
    parameter int R_BITS = 19,      // PReLU(d) + z
    parameter int OUT_BITS = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0         // requantization of the sum
) (
    input  logic signed [X_W-1:0]     x,
    input  logic signed [D_BITS-1:0]  g,
    input  logic signed [R_BITS-1:0]  z,
    input  logic signed [SLOPE_W-1:0] slope,
    output logic        [OUT_BITS-1:0] q
);
  logic signed [D_BITS-1:0] d;
  logic signed [P_BITS-1:0] v;
  logic signed [R_BITS-1:0] r;
  // the full product; its top bits are sign copies (P_BITS, from the range analysis, holds the result)
  /* verilator lint_off UNUSEDSIGNAL */
  logic signed [D_BITS+SLOPE_W-1:0] prod;
  /* verilator lint_on UNUSEDSIGNAL */
  always_comb begin
    d = (D_BITS'(x) <<< SHIFT_X) - g;
    prod = (D_BITS + SLOPE_W)'(d) * (D_BITS + SLOPE_W)'(slope);
    v = (d >= 0) ? (P_BITS'(d) <<< SHIFT_POS) : P_BITS'(prod);
    r = (R_BITS'(v) <<< SHIFT_P) + z;
  end
  dybnn_rne_sat #(.IN_W(R_BITS), .BITS(OUT_BITS), .SIGNED(OUT_SIGNED), .SHIFT(SHIFT)) u_q (.v(r), .q(q));
endmodule
