// dybnn_fifo: the stream FIFO between two nodes (an hls::stream of the HLS project), DEPTH words of WIDTH bits.
//
// STYLE (chosen by the generator with the estimator's rule, hls.estimate.memory.fifo_cost):
//   "srl"                           one shift register per bit (SRL16E/SRLC32E): the word enters at sr[0], every
//                                   word moves up one place, the oldest is sr[level-1] (addressed read);
//   "distributed"/"block"/"ultra"   a circular buffer in LUTRAM / BRAM / URAM (dybnn_ram) whose registered
//                                   read is addressed with the next cycle's read pointer (first word fall-through).
// Both hold at most DEPTH words (`level` is the occupancy). in0_tready and out0_tvalid come from registers only;
// a word written in cycle t can leave in cycle t+1.
module dybnn_fifo #(
    parameter int WIDTH = 8,
    parameter int DEPTH = 2,
    parameter STYLE = "srl"
) (
    input  logic             clk,
    input  logic             rst_n,
    input  logic [WIDTH-1:0] in0_tdata,
    input  logic             in0_tvalid,
    output logic             in0_tready,
    output logic [WIDTH-1:0] out0_tdata,
    output logic             out0_tvalid,
    input  logic             out0_tready,
    output logic [31:0]      level
);
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int LW = $clog2(DEPTH + 1);

  generate
    if (DEPTH < 1) begin : g_bad
      $error("dybnn_fifo: DEPTH must be at least 1");
    end
  endgenerate

  logic [LW-1:0] count;
  wire push = in0_tvalid && in0_tready;
  wire pop = out0_tvalid && out0_tready;
  assign level = 32'(count);
  assign in0_tready = rst_n && (count < LW'(DEPTH));

  generate
    if (STYLE == "srl") begin : g_srl
      // one shift register per bit, read at a variable address: the form Yosys's xilinx_srl and Vivado map to
      // SRL16E / SRLC32E (a register array read through a multiplexer stays flip-flops)
      wire [AW-1:0] ra = AW'(count - LW'(1));
      for (genvar b = 0; b < WIDTH; b++) begin : g_bit
        (* shreg_extract = "yes", srl_style = "srl" *) logic [DEPTH-1:0] sr;
        if (DEPTH > 1) begin : g_shift
          always_ff @(posedge clk) if (push) sr <= {sr[DEPTH-2:0], in0_tdata[b]};
        end else begin : g_one
          always_ff @(posedge clk) if (push) sr <= in0_tdata[b];
        end
        assign out0_tdata[b] = sr[ra];
      end
      always_ff @(posedge clk) begin
        if (!rst_n) count <= '0;
        else count <= count + LW'(push) - LW'(pop);
      end
      assign out0_tvalid = count != '0;
    end else begin : g_ram
      // circular buffer read a cycle ahead: raddr is the read pointer of the next cycle, so rdata is always the
      // oldest word (a word written into an empty buffer is forwarded by dybnn_ram's write-first bypass)
      logic [AW-1:0] wp, rp;
      wire [AW-1:0] rp_next = !pop ? rp : (rp == AW'(DEPTH - 1)) ? '0 : rp + AW'(1);
      dybnn_ram #(.DEPTH(DEPTH), .WIDTH(WIDTH), .STYLE(STYLE)) u_mem (
          .clk(clk), .we(push), .waddr(wp), .wdata(in0_tdata), .raddr(rp_next), .rdata(out0_tdata)
      );
      always_ff @(posedge clk) begin
        if (!rst_n) begin
          wp <= '0;
          rp <= '0;
          count <= '0;
        end else begin
          if (push) wp <= (wp == AW'(DEPTH - 1)) ? '0 : wp + AW'(1);
          rp <= rp_next;
          count <= count + LW'(push) - LW'(pop);
        end
      end
      assign out0_tvalid = count != '0;
    end
  endgenerate
endmodule
