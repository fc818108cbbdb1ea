// dybnn_ram: simple dual-port memory, one write and one registered read per cycle. A read of the address
// written in the same cycle returns the new word (write-first bypass), so a read-modify-write loop whose next
// address is issued a cycle ahead runs at one iteration per cycle. STYLE is the Xilinx ram_style the generator
// chose ("distributed", "block" or "ultra").
module dybnn_ram #(
    parameter int DEPTH = 2,
    parameter int WIDTH = 8,
    parameter STYLE = "distributed"
) (
    input  logic                                     clk,
    input  logic                                     we,
    input  logic [$clog2(DEPTH > 1 ? DEPTH : 2)-1:0] waddr,
    input  logic [WIDTH-1:0]                         wdata,
    input  logic [$clog2(DEPTH > 1 ? DEPTH : 2)-1:0] raddr,
    output logic [WIDTH-1:0]                         rdata
);
  logic [WIDTH-1:0] q;
  logic [WIDTH-1:0] fwd;
  logic bypass;
  generate
    if (STYLE == "block") begin : g_block
      (* ram_style = "block" *) logic [WIDTH-1:0] mem[DEPTH];
      always_ff @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        q <= mem[raddr];
      end
    end else if (STYLE == "ultra") begin : g_ultra
      (* ram_style = "ultra" *) logic [WIDTH-1:0] mem[DEPTH];
      always_ff @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        q <= mem[raddr];
      end
    end else begin : g_dist
      (* ram_style = "distributed" *) logic [WIDTH-1:0] mem[DEPTH];
      always_ff @(posedge clk) begin
        if (we) mem[waddr] <= wdata;
        q <= mem[raddr];
      end
    end
  endgenerate
  always_ff @(posedge clk) begin
    bypass <= we && (waddr == raddr);
    fwd <= wdata;
  end
  assign rdata = bypass ? fwd : q;
endmodule
