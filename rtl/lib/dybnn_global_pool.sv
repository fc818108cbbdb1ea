// dybnn_global_pool: GlobalPool node (hwsim/nodes/global_pool.py). (H, W, C) -> (C,): per-channel sum over the
// PIXELS = H*W pixels (of the elements requantized to PRE_BITS when PRE), times 2^-shift, requantized when
// REQUANT. One input word per cycle; the sums of channel fold cf leave with the last pixel's word cf (hls.cycles
// "pool": H*W*C/PE cycles per frame, no extra loop).
module dybnn_global_pool #(
    parameter int PE = 1,
    parameter int CF = 1,
    parameter int PIXELS = 1,
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter bit PRE = 1'b0,
    parameter int PRE_BITS = 8,
    parameter bit PRE_SIGNED = 1'b1,
    parameter int PRE_SHIFT = 0,
    parameter int SUM_BITS = 16,
    parameter bit REQUANT = 1'b0,
    parameter int OUT_BITS = 16,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0,
    parameter RAM_STYLE = "distributed"
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*X_BITS-1:0]   in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  dybnn_pool_reduce #(
      .PE(PE), .CF(CF), .KK(PIXELS), .MODE(0), .MASKED(1'b0), .X_BITS(X_BITS), .X_SIGNED(X_SIGNED), .PRE(PRE),
      .PRE_BITS(PRE_BITS), .PRE_SIGNED(PRE_SIGNED), .PRE_SHIFT(PRE_SHIFT), .SUM_BITS(SUM_BITS),
      .REQUANT(REQUANT), .OUT_BITS(OUT_BITS), .OUT_SIGNED(OUT_SIGNED), .SHIFT(SHIFT), .RAM_STYLE(RAM_STYLE)
  ) u_reduce (
      .clk(clk), .rst_n(rst_n), .in0_tdata(in0_tdata), .in0_tvalid(in0_tvalid), .in0_tready(in0_tready),
      .out0_tdata(out0_tdata), .out0_tvalid(out0_tvalid), .out0_tready(out0_tready));
endmodule
