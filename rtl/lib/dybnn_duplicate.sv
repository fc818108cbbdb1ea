// dybnn_duplicate: a stream fork (hwsim Duplicate, HLS duplicate.hpp.j2). Each input word is written to all
// NOUT outputs; the next word is taken when every output register is free (the HLS loop's blocking writes).
// Outputs are packed: stream k is out_tdata[k*WIDTH +: WIDTH], out_tvalid[k], out_tready[k].
module dybnn_duplicate #(
    parameter int WIDTH = 8,
    parameter int NOUT = 2
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [WIDTH-1:0]      in0_tdata,
    input  logic                  in0_tvalid,
    output logic                  in0_tready,
    output logic [NOUT*WIDTH-1:0] out_tdata,
    output logic [NOUT-1:0]       out_tvalid,
    input  logic [NOUT-1:0]       out_tready
);
  wire adv = &(~out_tvalid | out_tready);
  assign in0_tready = rst_n && adv;
  wire fire = in0_tvalid && in0_tready;
  always_ff @(posedge clk) begin
    if (!rst_n) out_tvalid <= '0;
    else if (fire) out_tvalid <= '1;
    else out_tvalid <= out_tvalid & ~out_tready;
    if (fire) out_tdata <= {NOUT{in0_tdata}};
  end
endmodule
