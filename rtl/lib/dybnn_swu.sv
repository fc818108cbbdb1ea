// dybnn_swu: the sliding-window generator of SlidingWindow and the convolutions (HLS _swu.hpp.j2, the loop
// structure hls/cycles.py counts). On the H x W map padded to PH x PW (PT rows above, PL columns to the left),
// CF words of DATA_W bits per pixel, it emits for each of the OH x OW outputs the KH*KW*CF window words in
// (ky, kx, c) order. A line buffer of ROWS = KH + SH padded rows:
//   fill:  KH*PW*CF iterations read the first KH padded rows;
//   rows:  for each output row, max(EMIT, ahead) iterations, EMIT = OW*KH*KW*CF: iteration i emits window
//          word i (i < EMIT) and reads the next padded word (i < ahead = min(SH, PH - py)*PW*CF), so the rows
//          the next output row needs arrive while this one is emitted.
// A padded position takes an iteration like a real one but reads nothing: its word is all zeros, all ones
// (PAD_ONES, bipolar +1) or, with MASKED, a word whose valid bit (bit DATA_W of the WIN_W = DATA_W+1-bit word)
// is 0; a real word gets the valid bit 1. One iteration per cycle when the input has a word (if it reads a real
// one) and the output register is free (if it emits).
module dybnn_swu #(
    parameter int H = 1,
    parameter int W = 1,
    parameter int PT = 0,
    parameter int PL = 0,
    parameter int PH = 1,
    parameter int PW = 1,
    parameter int KH = 1,
    parameter int KW = 1,
    parameter int SH = 1,
    parameter int SW = 1,
    parameter int OH = 1,
    parameter int OW = 1,
    parameter int CF = 1,
    parameter int DATA_W = 1,
    parameter int WIN_W = 1,
    parameter bit MASKED = 1'b0,
    parameter bit PAD_ONES = 1'b0,
    parameter LB_STYLE = "distributed"
) (
    input  logic              clk,
    input  logic              rst_n,
    input  logic [DATA_W-1:0] in0_tdata,
    input  logic              in0_tvalid,
    output logic              in0_tready,
    output logic [WIN_W-1:0]  out0_tdata,
    output logic              out0_tvalid,
    input  logic              out0_tready
);
  localparam int ROWS = KH + SH;
  localparam int DEPTH = ROWS * PW * CF;
  localparam int AW = DEPTH > 1 ? $clog2(DEPTH) : 1;
  localparam int EMIT = OW * KH * KW * CF;

  generate
    if (WIN_W != DATA_W + (MASKED ? 1 : 0)) begin : g_bad
      $error("dybnn_swu: WIN_W must be DATA_W (+1 when MASKED)");
    end
  endgenerate

  // phase: 0 fill, 1 rows
  logic filling;
  int unsigned i;  // iteration within the fill loop or the current output row
  int unsigned oy;
  int unsigned n_row;  // iterations of the current output row
  int unsigned ahead;  // words read during the current output row
  // read position: padded row py, column px, word c; line-buffer row slot
  int unsigned py, px, cr, slot;
  // emit position: window of output column ox, (ky, kx, ce); line-buffer row of the window's first row: top
  int unsigned ox, ky, kx, ce, top;
  int unsigned e_ox, e_ky, e_kx, e_ce, e_top;  // after this cycle

  wire do_read = filling || (i < ahead);
  wire do_emit = !filling && (i < EMIT);
  /* verilator lint_off UNSIGNED */  // py >= PT is constant when PT = 0 (no padding above)
  wire in_map = (py >= PT) && (py < PT + H) && (px >= PL) && (px < PL + W);
  /* verilator lint_on UNSIGNED */
  wire adv = !out0_tvalid || out0_tready;
  wire step = rst_n && (!do_read || !in_map || in0_tvalid) && (!do_emit || adv);
  assign in0_tready = rst_n && do_read && in_map && (!do_emit || adv);

  logic [WIN_W-1:0] wword;
  always_comb begin
    if (!in_map) wword = (PAD_ONES && !MASKED) ? '1 : '0;
    else if (MASKED) wword = WIN_W'({1'b1, in0_tdata});
    else wword = WIN_W'(in0_tdata);
  end

  // the emit position after this cycle (the line buffer is read one cycle ahead)
  always_comb begin
    e_ox = ox;
    e_ky = ky;
    e_kx = kx;
    e_ce = ce;
    e_top = top;
    if (step && do_emit) begin
      if (ce + 1 < CF) e_ce = ce + 1;
      else begin
        e_ce = 0;
        if (kx + 1 < KW) e_kx = kx + 1;
        else begin
          e_kx = 0;
          if (ky + 1 < KH) e_ky = ky + 1;
          else begin
            e_ky = 0;
            if (ox + 1 < OW) e_ox = ox + 1;
            else begin  // the row's last window word: the next row's window starts SH rows lower
              e_ox = 0;
              e_top = (top + SH < ROWS) ? top + SH : top + SH - ROWS;
            end
          end
        end
      end
    end
    if (step && !filling && (i + 1 == n_row) && (oy + 1 == OH)) e_top = 0;  // frame done
  end

  // the line-buffer addresses in AW-bit arithmetic: the address is below DEPTH <= 2**AW, so computing modulo
  // 2**AW gives the same word. The products by the constants PW, SW and CF are written as sums of shifted copies
  // (mulk): Yosys would map a product by a constant that is not a power of two, with the addition after it, to a
  // DSP48 (its multiplier and post-adder), even for an 8-bit address.
  function automatic logic [AW-1:0] mulk(input logic [AW-1:0] x, input int unsigned k);
    mulk = '0;
    for (int b = 0; b < AW; b++) if (k[b]) mulk = mulk + (x << b);
  endfunction
  wire [AW-1:0] waddr = mulk(mulk(AW'(slot), PW) + AW'(px), CF) + AW'(cr);
  logic [AW-1:0] r_row;  // below ROWS <= DEPTH
  always_comb r_row = AW'((e_top + e_ky < ROWS) ? e_top + e_ky : e_top + e_ky - ROWS);
  wire [AW-1:0] raddr = mulk(mulk(r_row, PW) + mulk(AW'(e_ox), SW) + AW'(e_kx), CF) + AW'(e_ce);
  logic [WIN_W-1:0] rdata;
  dybnn_ram #(.DEPTH(DEPTH), .WIDTH(WIN_W), .STYLE(LB_STYLE)) u_line (
      .clk(clk), .we(step && do_read), .waddr(waddr), .wdata(wword), .raddr(raddr), .rdata(rdata)
  );

  // the read position after this cycle's read
  int unsigned py_next, px_next, cr_next, slot_next;
  always_comb begin
    py_next = py;
    px_next = px;
    cr_next = cr;
    slot_next = slot;
    if (do_read) begin
      if (cr + 1 < CF) cr_next = cr + 1;
      else begin
        cr_next = 0;
        if (px + 1 < PW) px_next = px + 1;
        else begin
          px_next = 0;
          py_next = py + 1;
          slot_next = (slot + 1 < ROWS) ? slot + 1 : 0;
        end
      end
    end
  end

  function automatic int unsigned rows_ahead(input int unsigned py_now);
    rows_ahead = ((PH - py_now < SH) ? PH - py_now : SH) * PW * CF;
  endfunction

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      filling <= 1'b1;
      i <= 0;
      oy <= 0;
      n_row <= 0;
      ahead <= 0;
      py <= 0;
      px <= 0;
      cr <= 0;
      slot <= 0;
      ox <= 0;
      ky <= 0;
      kx <= 0;
      ce <= 0;
      top <= 0;
      out0_tvalid <= 1'b0;
    end else begin
      if (out0_tready) out0_tvalid <= 1'b0;
      if (step) begin
        ox <= e_ox;
        ky <= e_ky;
        kx <= e_kx;
        ce <= e_ce;
        top <= e_top;
        if (do_emit) begin
          out0_tdata <= rdata;
          out0_tvalid <= 1'b1;
        end
        if (do_read) begin
          cr <= cr_next;
          px <= px_next;
          py <= py_next;
          slot <= slot_next;
        end
        // loop control
        if (filling) begin
          if (i + 1 == KH * PW * CF) begin
            filling <= 1'b0;
            i <= 0;
            oy <= 0;
            // the first output row reads the rows after the first KH
            ahead <= rows_ahead(py_next);
            n_row <= (rows_ahead(py_next) > EMIT) ? rows_ahead(py_next) : EMIT;
          end else i <= i + 1;
        end else if (i + 1 == n_row) begin
          i <= 0;
          if (oy + 1 == OH) begin  // frame done: the next frame starts with its fill
            filling <= 1'b1;
            oy <= 0;
            py <= 0;
            px <= 0;
            cr <= 0;
            slot <= 0;
          end else begin
            oy <= oy + 1;
            ahead <= rows_ahead(py_next);
            n_row <= (rows_ahead(py_next) > EMIT) ? rows_ahead(py_next) : EMIT;
          end
        end else i <= i + 1;
      end
    end
  end
endmodule
