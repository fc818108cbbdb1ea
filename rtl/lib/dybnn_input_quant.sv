// dybnn_input_quant: the float32 graph input to fixed point, to bits, or to ordered keys (hwsim InputQuant, HLS
// input_quant.hpp.j2), PE elements per word, one word per cycle. Lane p of the input word holds the IEEE-754
// binary32 bit pattern of element p (bits [32p +: 32]). MODE:
//   0  q = saturate(round_half_even(x * 2^FRAC)) as an OUT_W-bit (OUT_SIGNED) integer; NaN -> 0, +-inf saturate
//   1  bit = (x >= 0): +0, -0 and positive numbers give 1, NaN gives 0 (OUT_W = 1)
//   2  the ordered int32 key: the bit pattern b when b >= 0, else -(b & 0x7fffffff) (OUT_W = 32)
// Integer logic only, exactly as dybnn::float_to_fixed of the HLS project and hwsim.encoding.
module dybnn_input_quant #(
    parameter int PE = 1,
    parameter int MODE = 0,
    parameter int OUT_W = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int FRAC = 0
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic [PE*32-1:0]  in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [PE*OUT_W-1:0] out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
  function automatic logic [OUT_W-1:0] to_fixed(input logic [31:0] f);
    logic neg;
    logic [7:0] e;
    logic [63:0] m;
    int shift;
    int r;
    logic [63:0] hi;
    logic [63:0] limit;
    logic [63:0] mag;
    logic [63:0] fl;
    logic [63:0] rem;
    logic [63:0] half;
    /* verilator lint_off UNUSEDSIGNAL */  // only the low OUT_W bits of q are the result (saturated before)
    logic [64:0] q;
    /* verilator lint_on UNUSEDSIGNAL */
    neg = f[31];
    e = f[30:23];
    m = (e == 8'd0) ? {41'd0, f[22:0]} : {40'd0, 1'b1, f[22:0]};
    // |x| = m * 2^(e - 150) (normal), m * 2^-149 (subnormal)
    shift = ((e == 8'd0) ? 1 : int'(e)) - 150 + FRAC;
    hi = OUT_SIGNED ? (64'd1 << (OUT_W - 1)) - 64'd1 : (64'd1 << OUT_W) - 64'd1;
    limit = neg ? (OUT_SIGNED ? hi + 64'd1 : 64'd0) : hi;
    r = 0;
    fl = '0;
    rem = '0;
    half = '0;
    if (e == 8'd255) begin
      mag = (f[22:0] != 23'd0) ? 64'd0 : limit;  // NaN -> 0, +-inf saturates
    end else if (m == 64'd0) begin
      mag = 64'd0;
    end else if (shift >= 0) begin
      mag = (shift > 62 || m > (limit >> shift)) ? limit : (m << shift);
    end else if (-shift > 25) begin
      mag = 64'd0;  // below half of the last place
    end else begin
      r = -shift;
      fl = m >> r;
      rem = m - (fl << r);
      half = 64'd1 << (r - 1);
      mag = fl + {63'd0, (rem > half) || (rem == half && fl[0])};
      if (mag > limit) mag = limit;
    end
    q = neg ? -{1'b0, mag} : {1'b0, mag};
    to_fixed = q[OUT_W-1:0];
  endfunction

  logic [PE*OUT_W-1:0] y;
  genvar p;
  generate
    for (p = 0; p < PE; p++) begin : g_lane
      wire [31:0] f = in0_tdata[32*p+:32];
      if (MODE == 1) begin : g_bit
        wire nan = (f[30:23] == 8'hff) && (f[22:0] != 23'd0);
        assign y[p*OUT_W+:OUT_W] = OUT_W'(!nan && (!f[31] || f[30:0] == 31'd0));
      end else if (MODE == 2) begin : g_key
        wire [31:0] neg_key = 32'd0 - {1'b0, f[30:0]};
        assign y[p*OUT_W+:OUT_W] = OUT_W'(f[31] ? neg_key : f);
      end else begin : g_fixed
        assign y[p*OUT_W+:OUT_W] = to_fixed(f);
      end
    end
  endgenerate

  wire adv = !out0_tvalid || out0_tready;
  assign in0_tready = rst_n && adv;
  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (adv) out0_tvalid <= in0_tvalid;
    if (in0_tvalid && in0_tready) out0_tdata <= y;
  end
endmodule
