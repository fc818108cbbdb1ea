// dybnn_concat: Concat node (hwsim/nodes/concat.py), two to four inputs (N_IN) on packed ports. Output word cf of every pixel
// (CF = sum of CFk words) comes from input k while cf lies in input k's range; each element is re-expressed on
// the output grid (<< SHIFTk; bits pass unchanged). One output word per cycle (hls.cycles "stream").
module dybnn_concat #(
    parameter int N_IN = 2,
    parameter int PE = 1,
    parameter int OUT_BITS = 8,
    parameter int CF0 = 1,
    parameter int BITS0 = 8,
    parameter bit SIGNED0 = 1'b1,
    parameter int SHIFT0 = 0,
    parameter int CF1 = 1,
    parameter int BITS1 = 1,
    parameter bit SIGNED1 = 1'b0,
    parameter int SHIFT1 = 0,
    parameter int CF2 = 1,
    parameter int BITS2 = 1,
    parameter bit SIGNED2 = 1'b0,
    parameter int SHIFT2 = 0,
    parameter int CF3 = 1,
    parameter int BITS3 = 1,
    parameter bit SIGNED3 = 1'b0,
    parameter int SHIFT3 = 0,
    localparam int M01 = (BITS0 > BITS1 || N_IN < 2) ? BITS0 : BITS1,
    localparam int M23 = (BITS2 > BITS3 || N_IN < 4) ? BITS2 : BITS3,
    localparam int SLOT_W = PE * (N_IN < 3 ? M01 : (M01 > M23 ? M01 : M23))
) (
    input  logic                   clk,
    input  logic                   rst_n,
    // input k in slot k of SLOT_W bits (its low PE*BITSk bits; the top pads narrower inputs with zeros)
    input  logic [N_IN*SLOT_W-1:0] in_tdata,
    input  logic [N_IN-1:0]        in_tvalid,
    output logic [N_IN-1:0]        in_tready,
    output logic [PE*OUT_BITS-1:0] out0_tdata,
    output logic                   out0_tvalid,
    input  logic                   out0_tready
);
  localparam int E0 = CF0;
  localparam int E1 = E0 + (N_IN > 1 ? CF1 : 0);
  localparam int E2 = E1 + (N_IN > 2 ? CF2 : 0);
  localparam int E3 = E2 + (N_IN > 3 ? CF3 : 0);
  localparam int CF = E3;  // output words per pixel
  localparam int AW = $clog2(CF + 1);

  logic adv;
  logic [AW-1:0] cf;
  logic [1:0] sel;
  logic sel_valid;
  logic [PE*OUT_BITS-1:0] y0, y1, y2, y3, y;
  logic [PE*BITS0-1:0] in0_tdata;
  logic [PE*BITS1-1:0] in1_tdata;
  logic [PE*BITS2-1:0] in2_tdata;
  logic [PE*BITS3-1:0] in3_tdata;
  logic [3:0] valid;
  // the ready of the slots k >= N_IN is not used
  /* verilator lint_off UNUSEDSIGNAL */
  logic [3:0] ready;
  /* verilator lint_on UNUSEDSIGNAL */
  // the slots of the packed port (a slot wider than its input carries padding)
  /* verilator lint_off UNUSEDSIGNAL */
  logic [4*SLOT_W-1:0] slots;
  /* verilator lint_on UNUSEDSIGNAL */
  assign slots = (4 * SLOT_W)'(in_tdata);
  assign in0_tdata = slots[0+:PE*BITS0];
  assign in1_tdata = slots[SLOT_W+:PE*BITS1];
  assign in2_tdata = slots[2*SLOT_W+:PE*BITS2];
  assign in3_tdata = slots[3*SLOT_W+:PE*BITS3];
  assign valid = 4'(in_tvalid);
  assign in_tready = ready[N_IN-1:0];

  assign adv = !out0_tvalid || out0_tready;
  always_comb begin
    if (32'(cf) < E0) sel = 2'd0;
    else if (32'(cf) < E1) sel = 2'd1;
    else if (32'(cf) < E2) sel = 2'd2;
    else sel = 2'd3;
    case (sel)
      2'd0: begin sel_valid = valid[0]; y = y0; end
      2'd1: begin sel_valid = valid[1]; y = y1; end
      2'd2: begin sel_valid = valid[2]; y = y2; end
      default: begin sel_valid = valid[3]; y = y3; end
    endcase
  end
  for (genvar k = 0; k < 4; k++) begin : g_ready
    assign ready[k] = adv && sel == 2'(k);
  end

  for (genvar p = 0; p < PE; p++) begin : g_pe
    // the sign-extended elements; an output narrower than x + 1 bits leaves the top bit unused
    /* verilator lint_off UNUSEDSIGNAL */
    logic signed [BITS0:0] x0;
    logic signed [BITS1:0] x1;
    logic signed [BITS2:0] x2;
    logic signed [BITS3:0] x3;
    /* verilator lint_on UNUSEDSIGNAL */
    assign x0 = SIGNED0 ? {in0_tdata[p*BITS0+BITS0-1], in0_tdata[p*BITS0+:BITS0]} : {1'b0, in0_tdata[p*BITS0+:BITS0]};
    assign x1 = SIGNED1 ? {in1_tdata[p*BITS1+BITS1-1], in1_tdata[p*BITS1+:BITS1]} : {1'b0, in1_tdata[p*BITS1+:BITS1]};
    assign x2 = SIGNED2 ? {in2_tdata[p*BITS2+BITS2-1], in2_tdata[p*BITS2+:BITS2]} : {1'b0, in2_tdata[p*BITS2+:BITS2]};
    assign x3 = SIGNED3 ? {in3_tdata[p*BITS3+BITS3-1], in3_tdata[p*BITS3+:BITS3]} : {1'b0, in3_tdata[p*BITS3+:BITS3]};
    assign y0[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(x0) << SHIFT0;
    assign y1[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(x1) << SHIFT1;
    assign y2[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(x2) << SHIFT2;
    assign y3[p*OUT_BITS+:OUT_BITS] = OUT_BITS'(x3) << SHIFT3;
  end

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      out0_tvalid <= 1'b0;
      cf <= '0;
    end else begin
      if (adv) out0_tvalid <= sel_valid;
      if (adv && sel_valid) cf <= (32'(cf) == CF - 1) ? '0 : cf + 1'b1;
    end
    if (adv && sel_valid) out0_tdata <= y;
  end
endmodule
