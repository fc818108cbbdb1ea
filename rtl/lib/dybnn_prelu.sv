// dybnn_prelu: PReLU node (hwsim/nodes/prelu.py). y = requant(PReLU_beta(x - gamma[c]) + zeta[c] -> out), per
// channel constants from three ROMs of CF words (word cf holds channels cf*PE .. cf*PE+PE-1, element p at
// [p*W +: W]). One PE-wide word per cycle; the ROMs are read a cycle ahead (address = the channel fold of the
// next word), so there is no bubble.
module dybnn_prelu #(
    parameter int PE = 1,
    parameter int CF = 1,
    parameter int X_BITS = 8,
    parameter bit X_SIGNED = 1'b1,
    parameter int GAMMA_BITS = 8,
    parameter bit GAMMA_SIGNED = 1'b1,
    parameter int ZETA_BITS = 8,
    parameter bit ZETA_SIGNED = 1'b1,
    parameter int BETA_BITS = 8,
    parameter bit BETA_SIGNED = 1'b1,
    parameter int SHIFT_X = 0,
    parameter int D_BITS = 10,
    parameter int SHIFT_POS = 0,
    parameter int P_BITS = 18,
    parameter int SHIFT_P = 0,
    parameter int R_BITS = 19,
    parameter int OUT_BITS = 8,
    parameter bit OUT_SIGNED = 1'b1,
    parameter int SHIFT = 0,
    parameter GAMMA_INIT_FILE = "",
    parameter ZETA_INIT_FILE = "",
    parameter BETA_INIT_FILE = "",
    parameter GAMMA_STYLE = "distributed",
    parameter ZETA_STYLE = "distributed",
    parameter BETA_STYLE = "distributed"
) (
    input  logic                   clk,
    input  logic                   rst_n,
    input  logic [PE*X_BITS-1:0]   in0_tdata,
    input  logic                   in0_tvalid,
    output logic                   in0_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  localparam int AW = $clog2(CF > 1 ? CF : 2);
  logic adv;
  logic take;
  logic [AW-1:0] cf;
  logic [AW-1:0] cf_next;
  logic [PE*GAMMA_BITS-1:0] gamma_w;
  logic [PE*ZETA_BITS-1:0] zeta_w;
  logic [PE*BETA_BITS-1:0] beta_w;
  logic [PE*OUT_BITS-1:0] y;

  assign adv = !out0_tvalid || out0_tready;
  assign take = adv && in0_tvalid;
  assign in0_tready = adv;
  always_comb begin
    cf_next = cf;
    if (take) cf_next = (32'(cf) == CF - 1) ? '0 : cf + 1'b1;
    if (!rst_n) cf_next = '0;
  end

  dybnn_rom #(.DEPTH(CF), .WIDTH(PE * GAMMA_BITS), .INIT_FILE(GAMMA_INIT_FILE), .STYLE(GAMMA_STYLE)) u_gamma (
      .clk(clk), .addr(cf_next), .data(gamma_w));
  dybnn_rom #(.DEPTH(CF), .WIDTH(PE * ZETA_BITS), .INIT_FILE(ZETA_INIT_FILE), .STYLE(ZETA_STYLE)) u_zeta (
      .clk(clk), .addr(cf_next), .data(zeta_w));
  dybnn_rom #(.DEPTH(CF), .WIDTH(PE * BETA_BITS), .INIT_FILE(BETA_INIT_FILE), .STYLE(BETA_STYLE)) u_beta (
      .clk(clk), .addr(cf_next), .data(beta_w));

  for (genvar p = 0; p < PE; p++) begin : g_pe
    logic signed [X_BITS:0] x;
    logic signed [GAMMA_BITS:0] gm;
    logic signed [ZETA_BITS:0] zt;
    logic signed [BETA_BITS:0] bt;
    assign x = X_SIGNED ? {in0_tdata[p*X_BITS+X_BITS-1], in0_tdata[p*X_BITS+:X_BITS]}
                        : {1'b0, in0_tdata[p*X_BITS+:X_BITS]};
    assign gm = GAMMA_SIGNED ? {gamma_w[p*GAMMA_BITS+GAMMA_BITS-1], gamma_w[p*GAMMA_BITS+:GAMMA_BITS]}
                             : {1'b0, gamma_w[p*GAMMA_BITS+:GAMMA_BITS]};
    assign zt = ZETA_SIGNED ? {zeta_w[p*ZETA_BITS+ZETA_BITS-1], zeta_w[p*ZETA_BITS+:ZETA_BITS]}
                            : {1'b0, zeta_w[p*ZETA_BITS+:ZETA_BITS]};
    assign bt = BETA_SIGNED ? {beta_w[p*BETA_BITS+BETA_BITS-1], beta_w[p*BETA_BITS+:BETA_BITS]}
                            : {1'b0, beta_w[p*BETA_BITS+:BETA_BITS]};
    dybnn_prelu_lane #(
        .X_W(X_BITS + 1), .SLOPE_W(BETA_BITS + 1), .SHIFT_X(SHIFT_X), .D_BITS(D_BITS), .SHIFT_POS(SHIFT_POS),
        .P_BITS(P_BITS), .SHIFT_P(SHIFT_P), .R_BITS(R_BITS), .OUT_BITS(OUT_BITS), .OUT_SIGNED(OUT_SIGNED),
        .SHIFT(SHIFT)
    ) u_lane (
        .x(x), .g(D_BITS'(gm)), .z(R_BITS'(zt)), .slope(bt), .q(y[p*OUT_BITS+:OUT_BITS]));
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out0_tvalid <= 1'b0;
      cf <= '0;
    end else begin
      if (adv) out0_tvalid <= in0_tvalid;
      cf <= cf_next;
    end
    if (take) out0_tdata <= y;
  end
endmodule
