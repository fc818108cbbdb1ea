// dybnn_width_convert: a stream between a producer and a consumer that fold the same tensor differently
// (dybnn::width_convert of the HLS project): IN_E -> OUT_E elements of BITS bits per word, G = gcd(IN_E, OUT_E)
// elements moved per iteration (one iteration per cycle; an input word is read when the previous one is used
// up, an output word is written when it is complete).
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

  logic [IN_E*BITS-1:0] iw;
  logic [OUT_E*BITS-1:0] ow;
  logic [OUT_E*BITS-1:0] ow_next;
  int unsigned ip;  // elements of iw already used (IN_E: none left)
  int unsigned op;  // elements of ow already filled
  logic [IN_E*BITS-1:0] src;
  wire need_in = ip == IN_E;
  wire last = op + G == OUT_E;
  wire adv = !out0_tvalid || out0_tready;
  wire step = rst_n && (!need_in || in0_tvalid) && (!last || adv);
  assign in0_tready = rst_n && need_in && (!last || adv);

  always_comb begin
    src = need_in ? in0_tdata : iw;
    ow_next = ow;
    ow_next[op*BITS+:G*BITS] = src[(need_in ? 0 : ip)*BITS+:G*BITS];
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      ip <= IN_E;
      op <= 0;
      out0_tvalid <= 1'b0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (step) begin
        if (need_in) iw <= in0_tdata;
        ip <= (need_in ? 0 : ip) + G;
        ow <= ow_next;
        if (last) begin
          op <= 0;
          out0_tdata <= ow_next;
          out0_tvalid <= 1'b1;
        end else begin
          op <= op + G;
        end
      end
    end
  end
endmodule
