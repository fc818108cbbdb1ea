// dybnn_pack_ram: a buffer written in address order whose memory rows hold PACK consecutive words (as HLS's
// ARRAY_RESHAPE of a sequential buffer, hls.estimate.memory.map_sequential_buffer): a URAM288 is 72 bits wide,
// so a frame of 16-bit words fills it 4 to a row instead of 1. The words of a row gather in PACK - 1 registers
// and the row is written with its last word (address PACK*r + PACK - 1); a read returns its word one cycle after
// the address (registered, with dybnn_ram's write-first bypass for the row written in that cycle). A word whose
// row is not complete reads the row's previous contents: the caller reads a frame only after its last word and
// PACK divides the frame (the generator's rule), so it never does. PACK is a power of two (the lane is the
// address's low bits); DEPTH a multiple of PACK, at least 2 * PACK.
module dybnn_pack_ram #(
    parameter int DEPTH = 4,
    parameter int WIDTH = 8,
    parameter int PACK = 2,
    parameter STYLE = "ultra"
) (
    input  logic                     clk,
    input  logic                     we,
    input  logic [$clog2(DEPTH)-1:0] waddr,
    input  logic [WIDTH-1:0]         wdata,
    input  logic [$clog2(DEPTH)-1:0] raddr,
    output logic [WIDTH-1:0]         rdata
);
  localparam int LW = $clog2(PACK);
  localparam int AW = $clog2(DEPTH);
  logic [(PACK-1)*WIDTH-1:0] gather;
  logic [PACK*WIDTH-1:0] row_q;
  logic [LW-1:0] lane;
  logic last;
  assign last = waddr[LW-1:0] == LW'(PACK - 1);
  always_ff @(posedge clk) begin
    if (we && !last) gather[32'(waddr[LW-1:0])*WIDTH+:WIDTH] <= wdata;
    lane <= raddr[LW-1:0];
  end
  dybnn_ram #(.DEPTH(DEPTH / PACK), .WIDTH(PACK * WIDTH), .STYLE(STYLE)) u_mem (
      .clk(clk), .we(we && last), .waddr(waddr[AW-1:LW]), .wdata({wdata, gather}), .raddr(raddr[AW-1:LW]),
      .rdata(row_q));
  assign rdata = row_q[32'(lane)*WIDTH+:WIDTH];
endmodule
