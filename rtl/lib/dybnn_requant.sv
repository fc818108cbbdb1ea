// dybnn_requant: Requant node (hwsim/nodes/requant.py). y = requant(x -> out) element by element: round half to
// even by SHIFT bits (SHIFT <= 0: exact left shift), saturate to OUT_BITS. One PE-wide word per cycle
// (hls.cycles "stream": elements / PE cycles per frame).
module dybnn_requant #(
    parameter int PE = 1,
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter int OUT_BITS = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0
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
  logic adv;
  logic [PE*OUT_BITS-1:0] y;
  assign adv = !out0_tvalid || out0_tready;
  assign in0_tready = adv;

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [X_BITS:0] x;
    assign x = X_SIGNED ? {in0_tdata[p*X_BITS+X_BITS-1], in0_tdata[p*X_BITS+:X_BITS]}
                        : {1'b0, in0_tdata[p*X_BITS+:X_BITS]};
    dybnn_rne_sat #(.IN_W(X_BITS + 1), .BITS(OUT_BITS), .SIGNED(OUT_SIGNED), .SHIFT(SHIFT)) u_q (
        .v(x), .q(y[p*OUT_BITS+:OUT_BITS]));
  end

  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (adv) out0_tvalid <= in0_tvalid;
    if (adv && in0_tvalid) out0_tdata <= y;
  end
endmodule
