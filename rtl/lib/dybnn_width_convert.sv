// dybnn_width_convert: a stream between a producer and a consumer that fold the same tensor differently
// (dybnn::width_convert of the HLS project): IN_E -> OUT_E elements of BITS bits per word, G = gcd(IN_E, OUT_E)
// elements moved per iteration (one iteration per cycle; an input word is read when the previous one is used
// up, an output word is written when it is complete). Both words are shift registers that move G elements per
// iteration (constant shifts: no barrel shifter over the word, no index products).
module dybnn_width_convert #(
    parameter int IN_E = 1,
    parameter int OUT_E = 2,
    parameter int BITS = 1,
    parameter int G = 1
) (
    input  logic                  clk,
    input  logic                  rst_n,
    input  logic [IN_E*BITS-1:0]  in0_tdata,
    input  logic                  in0_tvalid,
    output logic                  in0_tready,
    output logic [OUT_E*BITS-1:0] out0_tdata,
    output logic                  out0_tvalid,
    input  logic                  out0_tready
);
  generate
    if (IN_E % G != 0 || OUT_E % G != 0) begin : g_bad
      $error("dybnn_width_convert: G must divide IN_E and OUT_E");
    end
  endgenerate

  localparam int NI = IN_E / G;   // iterations per input word
  localparam int NO = OUT_E / G;  // iterations per output word
  localparam int IW = $clog2(NI + 1);
  localparam int OW = NO > 1 ? $clog2(NO) : 1;
  localparam int GB = G * BITS;

  // iw: the input word's elements not yet used, shifted down by G elements per iteration ((NI - 1) * G of them);
  // ow: the output word's elements already filled, entering at the top ((NO - 1) * G of them)
  logic [OUT_E*BITS-1:0] ow_next;
  logic [IW-1:0] ip;            // iterations of the input word already done (NI: none left)
  logic [OW-1:0] op;            // iterations of the output word already done
  logic [GB-1:0] part;          // the G elements moved this iteration
  wire need_in = ip == IW'(NI);
  wire last = op == OW'(NO - 1);
  wire adv = !out0_tvalid || out0_tready;
  wire step = rst_n && (!need_in || in0_tvalid) && (!last || adv);
  assign in0_tready = rst_n && need_in && (!last || adv);

  generate
    if (NI > 1) begin : g_in
      logic [(NI-1)*GB-1:0] iw;
      assign part = need_in ? in0_tdata[GB-1:0] : iw[GB-1:0];
      always_ff @(posedge clk) begin
        if (step) iw <= need_in ? in0_tdata[IN_E*BITS-1:GB] : (iw >> GB);
      end
    end else begin : g_in_whole
      assign part = in0_tdata;
    end
    if (NO > 1) begin : g_out
      logic [(NO-1)*GB-1:0] ow;
      assign ow_next = {part, ow};
      always_ff @(posedge clk) begin
        if (step) ow <= ow_next[OUT_E*BITS-1:GB];
      end
    end else begin : g_out_whole
      assign ow_next = part;
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ip <= IW'(NI);
      op <= '0;
      out0_tvalid <= 1'b0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (step) begin
        ip <= (need_in ? IW'(0) : ip) + IW'(1);
        if (last) begin
          op <= '0;
          out0_tdata <= ow_next;
          out0_tvalid <= 1'b1;
        end else begin
          op <= op + OW'(1);
        end
      end
    end
  end
endmodule
