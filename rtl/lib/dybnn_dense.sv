// dybnn_dense: XnorDense (binary weights: XNOR-popcount on a bipolar input, +-x on a fixed-point one) and
// FixedDense (multi-bit weights, multiply-accumulate), the mode set by the matrix unit's parameters; the
// matrix-vector unit dybnn_mvu with its output stage (see there for the parameters and the memory layout).
// Leading axes of the input (pixels after a SlidingWindow) are further vectors: N*NF*SF iterations per frame.
module dybnn_dense #(
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
    parameter P_STYLE = "distributed"
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
  dybnn_mvu #(
      .PE(PE),
      .SIMD(SIMD),
      .NF(NF),
      .SF(SF),
      .KIND(KIND),
      .MASKED(MASKED),
      .X_W(X_W),
      .X_SIGNED(X_SIGNED),
      .IN_W(IN_W),
      .W_W(W_W),
      .ACC_W(ACC_W),
      .STAGE(STAGE),
      .THR_W(THR_W),
      .MUL_W(MUL_W),
      .BIAS_W(BIAS_W),
      .VALUE_W(VALUE_W),
      .REQUANT(REQUANT),
      .SHIFT(SHIFT),
      .OUT_BITS(OUT_BITS),
      .OUT_SIGNED(OUT_SIGNED),
      .W_INIT_FILE(W_INIT_FILE),
      .W_STYLE(W_STYLE),
      .P_INIT_FILE(P_INIT_FILE),
      .P_STYLE(P_STYLE)
  ) u_mvu (
      .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready)
  );
endmodule
