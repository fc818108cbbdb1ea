// dybnn_multi_threshold: a monotone map by sorted thresholds (hwsim MultiThreshold, HLS multi_threshold.hpp.j2):
//   y = BASE + #{t : x >= thr[c][t]}   as an OUT_W-bit integer (the count is computed in SUM_W signed bits),
// channel c = cf*PE + p, one PE-wide word per cycle. Parameter memory (P_INIT_FILE, C/PE words, only when
// STEPS > 0): lane p at bits [p*STEPS*THR_W +: STEPS*THR_W], threshold t of the lane at [t*THR_W +: THR_W].
module dybnn_multi_threshold #(
    parameter int PE = 1,
    parameter int C = 1,
    parameter int X_W = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter int STEPS = 1,
    parameter int THR_W = 9,
    parameter int BASE = 0,
    parameter int SUM_W = 8,
    parameter int OUT_W = 8,
    parameter P_INIT_FILE = "",
    parameter P_STYLE = "distributed"
) (
    input  logic                clk,
    input  logic                rst_n,
    input  logic [PE*X_W-1:0]   in0_tdata,
    input  logic                in0_tvalid,
    output logic                in0_tready,
    output logic [PE*OUT_W-1:0] out0_tdata,
    output logic                out0_tvalid,
    input  logic                out0_tready
);
  localparam int CF = C / PE;
  localparam int FW = CF > 1 ? $clog2(CF) : 1;
  localparam int TW = THR_W > 1 ? THR_W : 1;
  localparam int LW = (STEPS > 0 ? STEPS : 1) * TW;
  localparam int CW = (X_W + 1 > TW) ? X_W + 1 : TW;

  logic [FW-1:0] cf;
  logic [FW-1:0] cf_next;
  logic [PE*LW-1:0] prm;
  logic [PE*OUT_W-1:0] y;
  wire adv = !out0_tvalid || out0_tready;
  assign in0_tready = rst_n && adv;
  wire fire = in0_tvalid && in0_tready;
  assign cf_next = !fire ? cf : (cf == FW'(CF - 1)) ? '0 : cf + FW'(1);

  generate
    if (STEPS > 0) begin : g_rom
      dybnn_rom #(.DEPTH(CF), .WIDTH(PE * LW), .INIT_FILE(P_INIT_FILE), .STYLE(P_STYLE)) u_prm (
          .clk(clk), .addr(cf_next), .data(prm)
      );
    end else begin : g_none
      assign prm = '0;
    end
  endgenerate

  genvar p, t;
  generate
    for (p = 0; p < PE; p++) begin : g_lane
      logic signed [CW-1:0] x;
      logic [STEPS:0] ge;  // ge[t]: x >= thr[t]; ge[STEPS] unused
      if (X_SIGNED) begin : g_s
        assign x = CW'($signed(in0_tdata[p*X_W+:X_W]));
      end else begin : g_u
        assign x = $signed({{(CW - X_W) {1'b0}}, in0_tdata[p*X_W+:X_W]});
      end
      for (t = 0; t < STEPS; t++) begin : g_t
        assign ge[t] = x >= CW'($signed(prm[p*LW+t*TW+:TW]));
      end
      assign ge[STEPS] = 1'b0;
      logic signed [SUM_W-1:0] v;
      always_comb begin
        v = SUM_W'(BASE);
        for (int i = 0; i < STEPS; i++) v = v + SUM_W'(ge[i]);
      end
      assign y[p*OUT_W+:OUT_W] = OUT_W'(v);
    end
  endgenerate

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out0_tvalid <= 1'b0;
      cf <= '0;
    end else begin
      cf <= cf_next;
      if (adv) out0_tvalid <= in0_tvalid;
    end
    if (fire) out0_tdata <= y;
  end
endmodule
