"""Matrix units: XnorConv, XnorDense, FixedConv, FixedDense (FINN MVAU structure, binary-aware costs).

Structure (finn-hlslib ``Matrix_Vector_Activate_Batch``, BNN-PYNQ ``top.cpp``): ``P`` PEs each hold a private
weight memory of ``WMEM = (MH/P)*(MW/Q)`` words of ``Q*W`` bits (``ARRAY_PARTITION ... dim=1``); an input word
of ``Q`` elements is kept in a register file ``inputBuf[SF]`` (``ARRAY_PARTITION complete``) while the ``NF``
neuron folds reuse it; every PE reduces ``Q`` products per cycle into an accumulator and applies the output
stage. A convolution additionally has the sliding-window line buffers of finn-hlslib
``ConvolutionInputGenerator``: ``K/S + 1`` blocks of ``S * W_in * Cin/Q`` words of ``Q*A`` bits.

LUT model: FINN-R's form ``c0 + c1 * P * (per-PE datapath)`` (c0 = 300, c1 = 1.1, arXiv 1809.04570) with the
per-PE datapath costed from the circuit HLS builds rather than FINN's generic multiplier formula:

* binary x binary: XNOR fused into an adder tree (:func:`arith.xnor_popcount_luts`, ~1.9 LUT per synapse)
* fixed input x binary weight (CNV's first layer): a conditional negate per lane and an adder tree
* fixed x fixed: multipliers in DSPs (or LUTs, FINN's formula) and an adder tree
* accumulator of ``acc`` bits, threshold comparator (``ceil(acc/2)``) or an affine stage (multiplier + adder +
  requantizer)

Memories are primitive counts (not scaled by c1): weights per PE (:func:`memory.map_memory`: LUTRAM when
``WMEM <= 128``, else RAMB18 by the cheapest aspect ratio, or URAM), per-PE thresholds/affine parameters, the
input register file (``SF*Q*A`` FFs and an ``SF``:1 read mux), window line buffers.
"""

from __future__ import annotations

import numpy as np

from hls.cycles import conv_has_swu
from hls.estimate import arith
from hls.estimate.memory import map_memory
from hls.estimate.records import NodeEstimate, Resources
from hls.estimate.registry import EstimateConfig, bits_of, estimator, make
from hls.estimate.widths import datapath_widths
from hls.folding import Fold, matrix_dims
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Bipolar

#: FINN RTL/HLS sliding-window generator fixed LUT cost (finn rtl/convolutioninputgenerator_rtl.py
#: lut_estimation ``300 + ...``; hls convolutioninputgenerator_hls.py the same)
SWU_C0 = 300


def _mem(depth: int, width: int, style: str, cfg: EstimateConfig, writable: bool | None = None) -> Resources:
    m = map_memory(
        depth, width, style, has_uram=cfg.has_uram, writable=cfg.writable if writable is None else writable
    )
    return Resources(lut=m.lut, bram18=m.bram18, uram=m.uram)


def _signed_bits(v: int) -> int:
    """Bits of a signed two's-complement integer holding ``[-|v|, |v|]``."""
    return max(1, int(abs(int(v))).bit_length()) + 1


def acc_width(g: HwGraph, node: N.Node, cfg: EstimateConfig) -> int:
    """Accumulator width: ``cfg.acc_bits`` or the width of the accumulator's interval (the emitted ``acc_t``,
    :func:`hls.estimate.widths.datapath_widths`)."""
    if cfg.acc_bits is not None:
        return int(cfg.acc_bits)
    return datapath_widths(g, node)["acc"]


def _stage(
    g: HwGraph, node: N.Node, nf: int, acc: int, cfg: EstimateConfig
) -> tuple[float, float, Resources, int]:
    """(LUT per PE, DSP per PE, parameter memory of one PE, output bits) of the fused output stage."""
    st = node.stage
    out_bits = bits_of(g, node.outputs[0])
    if st.mode == "threshold":
        # compare acc >= thr, the XOR with ``invert`` folds into the comparator's output LUT
        mem = _mem(nf, acc + 1, cfg.ram_style, cfg)
        return arith.comparator_luts(acc), 0.0, mem, out_bits
    mul_max = int(np.max(np.abs(st.mul))) if st.mul.size else 1
    mul_bits = _signed_bits(mul_max)
    bias_bits = _signed_bits(int(np.max(np.abs(st.bias))) if st.bias.size else 0)
    lut, dsp = 0.0, 0.0
    if mul_max > 1 or np.any(st.mul < 0):
        if arith.use_dsp(acc, mul_bits, cfg.mult_style):
            dsp += arith.mult_dsps(acc, mul_bits)
        else:
            lut += arith.mult_luts(acc, mul_bits)
    value = datapath_widths(g, node)["value"]  # acc * mul + bias, the emitted value_t
    lut += arith.adder_luts(value)
    if st.out is not None:
        lut += arith.requant_luts(value, st.out.bits)
    mem = _mem(nf, mul_bits + bias_bits, cfg.ram_style, cfg)
    return lut, dsp, mem, out_bits


def window_buffer(g: HwGraph, node: N.WindowNode, lanes: int, bits: int, cfg: EstimateConfig) -> Resources:
    """Line buffers of finn-hlslib ``ConvolutionInputGenerator``: ``K/S + 1`` blocks (array-partitioned) of
    ``S * W_in * C/lanes`` words of ``lanes*bits`` bits (docs/estimation.md; ``W_in`` the padded width of the
    node's :class:`~hwsim.nodes.Window`), plus the SWU's fixed 300 LUTs (FINN) and its counters."""
    win = node.window(g.spec(node.inputs[0]).shape)
    blocks = win.kh // win.sh + 1
    depth = win.sh * win.pw * (win.c // lanes)
    mem = _mem(depth, lanes * bits, cfg.ram_style, cfg, writable=True) * blocks
    ctrl_lut, ctrl_ff = arith.loop_control(win.h * win.w * win.c // lanes)
    # window read mux over the blocks, one output word per cycle
    return mem + Resources(lut=SWU_C0 + arith.mux_luts(blocks, lanes * bits), ff=ctrl_ff + lanes * bits)


@estimator(N.XnorConv, N.XnorDense, N.FixedConv, N.FixedDense)
def estimate_matrix(g: HwGraph, node: N.Node, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    mh, mw, n = matrix_dims(g, node)
    pe, simd = fold.pe, fold.simd
    nf, sf = mh // pe, mw // simd
    in_dt = g.spec(node.inputs[0]).dtype
    a = in_dt.bits
    xnor = isinstance(node, (N.XnorConv, N.XnorDense))
    w = 1 if xnor else node.w_bits
    acc = acc_width(g, node, cfg)
    parts: dict[str, Resources] = {}

    # --- per-PE datapath: FINN-R c1 * P * (...) -----------------------------------------------------------
    dsp_pe = 0.0
    if xnor and isinstance(in_dt, Bipolar):
        red = (
            arith.xnor_popcount_luts(simd) if cfg.popcount == "hls" else arith.compressor_popcount_luts(simd)
        )
        pipe_ff = simd  # the first adder level's outputs (SIMD/2 pairs x 2 bits) are registered
    elif xnor:
        red = simd * a + arith.adder_tree_luts(simd, a + 1)  # conditional negate, then the tree
        pipe_ff = simd * (a + 1)
    else:
        if arith.use_dsp(a, w, cfg.mult_style):
            dsp_pe += simd * arith.mult_dsps(a, w)
            red = arith.adder_tree_luts(simd, a + w)
        else:
            red = simd * arith.mult_luts(a, w) + arith.adder_tree_luts(simd, a + w)
        pipe_ff = simd * (a + w)
    st_lut, st_dsp, st_mem, out_bits = _stage(g, node, nf, acc, cfg)
    dsp_pe += st_dsp
    parts["datapath"] = Resources(
        lut=arith.FINN_C1 * pe * (red + arith.adder_luts(acc) + st_lut),
        ff=pe * (simd * w + pipe_ff + acc + out_bits),  # weight word, tree pipeline, accumulator, output
        dsp=pe * dsp_pe,
    )
    # --- memories ----------------------------------------------------------------------------------------
    parts["weights"] = _mem(nf * sf, simd * w, cfg.ram_style, cfg) * pe
    parts["stage_params"] = st_mem * pe
    if nf > 1:
        # inputBuf[SF] of finn-hlslib mvau.hpp is ARRAY_PARTITION complete: registers + an SF:1 read mux
        parts["input_buffer"] = Resources(lut=arith.mux_luts(sf, simd * a) + sf, ff=sf * simd * a)
    ctrl_lut, ctrl_ff = arith.loop_control(nf * sf * n)
    parts["control"] = Resources(lut=arith.FINN_C0 + (pe if cfg.writable else 0), ff=ctrl_ff + simd * a)

    if isinstance(node, (N.XnorConv, N.FixedConv)) and conv_has_swu(node):
        parts["window"] = window_buffer(g, node, simd, a, cfg)
    return make(g, node, fold, parts)
