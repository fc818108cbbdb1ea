// dybnn_add: Add node (hwsim/nodes/add.py). y = (a << SHIFT_A) + (b << SHIFT_B) exactly (SUM_BITS), then
// requantized to OUT_BITS by SHIFT when REQUANT (else the exact sum is the output, OUT_BITS = SUM_BITS). Both
// inputs are read in the same cycle: one PE-wide word of each per cycle. Input 1 is the residual shortcut (its
// FIFO in the top is as deep as hls.timing says).
module dybnn_add #(
    parameter int PE = 1,
    parameter int A_BITS = 8,
    parameter bit A_SIGNED = 1'b1,
    parameter int B_BITS = 8,
    parameter bit B_SIGNED = 1'b1,
    parameter int SHIFT_A = 0,
    parameter int SHIFT_B = 0,
    parameter int SUM_BITS = 10,
    parameter bit REQUANT = 1'b0,
    parameter int OUT_BITS = 10,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*A_BITS-1:0]   in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    input  logic [PE*B_BITS-1:0]   in1_tdata,
    input  logic                   in1_tvalid,
    output logic                   in1_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  logic adv;
  logic take;
  logic [PE*OUT_BITS-1:0] y;
  assign adv = !out0_tvalid || out0_tready;
  assign take = adv && in0_tvalid && in1_tvalid;
  assign in0_tready = adv && in1_tvalid;
  assign in1_tready = adv && in0_tvalid;

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [A_BITS:0] a;
    logic signed [B_BITS:0] b;
    logic signed [SUM_BITS-1:0] s;
    assign a = A_SIGNED ? {in0_tdata[p*A_BITS+A_BITS-1], in0_tdata[p*A_BITS+:A_BITS]}
                        : {1'b0, in0_tdata[p*A_BITS+:A_BITS]};
    assign b = B_SIGNED ? {in1_tdata[p*B_BITS+B_BITS-1], in1_tdata[p*B_BITS+:B_BITS]}
                        : {1'b0, in1_tdata[p*B_BITS+:B_BITS]};
    assign s = (SUM_BITS'(a) <<< SHIFT_A) + (SUM_BITS'(b) <<< SHIFT_B);
    if (REQUANT) begin : g_rq
      dybnn_rne_sat #(.IN_W(SUM_BITS), .BITS(OUT_BITS), .SIGNED(OUT_SIGNED), .SHIFT(SHIFT)) u_q (
          .v(s), .q(y[p*OUT_BITS+:OUT_BITS]));
    end else begin : g_exact
      assign y[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(s);
    end
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (adv) out0_tvalid <= in0_tvalid && in1_tvalid;
    if (take) out0_tdata <= y;
  end
endmodule
