// dybnn_rom: constant table with a registered read (one read per cycle), contents from INIT_FILE ($readmemh,
// one hexadecimal word per line, written by the generator). STYLE is the Xilinx rom_style the generator chose
// ("distributed" or "block"); the table is declared under that attribute.
module dybnn_rom #(
    parameter int DEPTH = 2,
    parameter int WIDTH = 8,
    parameter INIT_FILE = "",
    parameter STYLE = "distributed"
) (
    input  logic                             clk,
    input  logic [$clog2(DEPTH > 1 ? DEPTH : 2)-1:0] addr,
    output logic [WIDTH-1:0]                 data
);
  // the table is filled by $readmemh only: with the default INIT_FILE ("", lint) it is undriven
  /* verilator lint_off UNDRIVEN */
  generate
    if (STYLE == "block") begin : g_block
      (* rom_style = "block" *) logic [WIDTH-1:0] mem[DEPTH];
      if (INIT_FILE != "") begin : g_init
        initial $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) data <= mem[addr];
    end else begin : g_dist
      (* rom_style = "distributed" *) logic [WIDTH-1:0] mem[DEPTH];
      if (INIT_FILE != "") begin : g_init
        initial $readmemh(INIT_FILE, mem);
      end
      always_ff @(posedge clk) data <= mem[addr];
    end
  endgenerate
  /* verilator lint_on UNDRIVEN */
endmodule
