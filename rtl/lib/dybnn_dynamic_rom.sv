// dybnn_dynamic_rom: a constant table of a dynamic unit (dybnn_rom), as a module of its own when KEEP
// (keep_hierarchy; the generator sets KEEP for a LUT ROM of more than four words with a column that is not
// constant, rtl/gen_dynamic.py). Flattened, a table's address (a counter's next value, behind a carry chain and
// multiplexers) arrives late, and Yosys's delay-driven ABC9 mapping rebuilds every bit column around the address
// logic: 2 to 15 times the LUTs of the ROM alone (docs/estimation.md, the dynamic units). Kept, a column is the
// ROM's own LUTs and the address logic is computed once. A constant table stays inline (its constant bits then
// remove the logic they feed, e.g. a zero bias's adder).
module dybnn_dynamic_rom #(
    parameter int DEPTH = 2,
    parameter int WIDTH = 8,
    parameter INIT_FILE = "",
    parameter STYLE = "distributed",
    parameter bit KEEP = 1'b0
) (
    input  logic                                     clk,
    input  logic [$clog2(DEPTH > 1 ? DEPTH : 2)-1:0] addr,
    output logic [WIDTH-1:0]                         data
);
  if (KEEP) begin : g_kept
    (* keep_hierarchy *)
    dybnn_rom #(.DEPTH(DEPTH), .WIDTH(WIDTH), .INIT_FILE(INIT_FILE), .STYLE(STYLE)) u_rom (
        .clk(clk), .addr(addr), .data(data));
  end else begin : g_inline
    dybnn_rom #(.DEPTH(DEPTH), .WIDTH(WIDTH), .INIT_FILE(INIT_FILE), .STYLE(STYLE)) u_rom (
        .clk(clk), .addr(addr), .data(data));
  end
endmodule
