// dybnn_flatten: (H, W, C) -> (H*W*C,) channels last; the stream order does not change (HLS flatten.hpp.j2):
// one word per cycle through an output register.
module dybnn_flatten #(
    parameter int WIDTH = 8
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic [WIDTH-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [WIDTH-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready
);
  wire adv = !out0_tvalid || out0_tready;
  assign in0_tready = rst_n && adv;
  always_ff @(posedge clk) begin
    if (!rst_n) out0_tvalid <= 1'b0;
    else if (adv) out0_tvalid <= in0_tvalid;
    if (in0_tvalid && in0_tready) out0_tdata <= in0_tdata;
  end
endmodule
