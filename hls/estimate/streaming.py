"""Channel-wise streaming nodes: input quantizer, thresholds, PReLU, adds, pools, concat, forks, label select.

Each node processes ``pe`` channels per cycle; its per-channel parameters live in a ``C/pe``-deep memory per
lane (LUTRAM for shallow ones, see :func:`memory.map_memory`). FINN has no estimator for most of these (its
pools, adds, forks and label select report 0 resources, docs/estimation.md); the costs below are
built from the same primitives as the matrix units (:mod:`hls.estimate.arith`).
"""

from __future__ import annotations

import math

import numpy as np

from hls.cycles import node_cycles
from hls.estimate import arith
from hls.estimate.matrix import window_buffer
from hls.estimate.memory import map_memory
from hls.estimate.records import NodeEstimate, Resources
from hls.estimate.registry import EstimateConfig, bits_of, elems, estimator, make
from hls.estimate.widths import datapath_widths
from hls.folding import Fold, channels
from hwsim import nodes as N
from hwsim.graph import HwGraph


def _mem(
    depth: int, width: int, cfg: EstimateConfig, style: str | None = None, writable: bool | None = None
) -> Resources:
    m = map_memory(
        depth,
        width,
        style or cfg.ram_style,
        has_uram=cfg.has_uram,
        writable=cfg.writable if writable is None else writable,
    )
    return Resources(lut=m.lut, bram18=m.bram18, uram=m.uram)


def _abs_bits(a: np.ndarray) -> int:
    """Signed width of the largest magnitude in ``a``."""
    return max(1, int(np.max(np.abs(a))).bit_length() if a.size else 1) + 1


def _control(cycles: int) -> Resources:
    lut, ff = arith.loop_control(cycles)
    return Resources(lut=lut, ff=ff)


def _simple(g: HwGraph, node: N.Node, fold: Fold, parts: dict[str, Resources]) -> NodeEstimate:
    cyc = node_cycles(g, node, fold)
    parts["control"] = _control(cyc)
    return make(g, node, fold, parts)


@estimator(N.InputQuant)
def estimate_input_quant(g: HwGraph, node: N.InputQuant, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """float32 -> fixed point per lane: exponent difference, a barrel shift of the 24-bit mantissa in 4:1-mux
    stages (3 stages cover the shift range), round-half-even and saturate; ``x >= 0`` is the sign bit and a
    zero test; the ordered key of a float (key mode) is a conditional 31-bit negation [engineering estimate]."""
    pe = fold.pe
    if node.key:
        lane = Resources(lut=32, ff=32)
    elif node.out is None:
        lane = Resources(lut=6, ff=1)
    else:
        b = node.out.bits
        lane = Resources(lut=8 + 3 * (b + 2) + arith.requant_luts(b + 2, b), ff=32 + b)
    return _simple(g, node, fold, {"datapath": lane * pe})


@estimator(N.SlidingWindow)
def estimate_sliding_window(
    g: HwGraph, node: N.SlidingWindow, fold: Fold, cfg: EstimateConfig
) -> NodeEstimate:
    a = bits_of(g, node.inputs[0])
    parts = {"window": window_buffer(g, node, fold.pe, a, cfg)}
    return make(g, node, fold, parts)


@estimator(N.Sign)
def estimate_sign(g: HwGraph, node: N.Sign, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """``pe`` comparators against per-channel thresholds (FINN Thresholding with one step)."""
    pe, a = fold.pe, bits_of(g, node.inputs[0])
    c = channels(g, node)
    parts = {
        "datapath": Resources(lut=pe * arith.comparator_luts(a), ff=pe),
        "params": _mem(c // pe, a + 1, cfg) * pe,
    }
    return _simple(g, node, fold, parts)


@estimator(N.MultiThreshold)
def estimate_multi_threshold(
    g: HwGraph, node: N.MultiThreshold, fold: Fold, cfg: EstimateConfig
) -> NodeEstimate:
    """``T`` comparators per lane, their results summed (adder tree of 1-bit values) plus ``base``."""
    pe, a = fold.pe, bits_of(g, node.inputs[0])
    c, t = channels(g, node), int(node.thr.shape[1])
    out = node.out.bits
    lane = t * arith.comparator_luts(a) + arith.adder_tree_luts(t, 1) + arith.adder_luts(out)
    parts = {
        "datapath": Resources(lut=pe * lane, ff=pe * out),
        "params": _mem(c // pe, t * a, cfg) * pe,
    }
    return _simple(g, node, fold, parts)


def prelu_lane(widths: dict[str, int], beta_bits: int, out_bits: int, cfg: EstimateConfig) -> Resources:
    """One PReLU lane: ``x - gamma`` (adder of ``d`` bits), ``* beta`` on the negative side (multiplier + select
    mux of ``p`` bits), ``+ zeta`` (adder of ``y`` bits), requantize to ``out``; the widths are the node's
    :func:`~hls.estimate.widths.datapath_widths`."""
    w1, prod, w2 = widths["d"], widths["p"], widths["y"]
    lut = arith.adder_luts(w1) + prod + arith.adder_luts(w2) + arith.requant_luts(w2, out_bits)
    dsp = 0.0
    if arith.use_dsp(w1, beta_bits, cfg.mult_style):
        dsp = arith.mult_dsps(w1, beta_bits)
    else:
        lut += arith.mult_luts(w1, beta_bits)
    return Resources(lut=lut, ff=w1 + w2 + out_bits, dsp=dsp)


@estimator(N.PReLU)
def estimate_prelu(g: HwGraph, node: N.PReLU, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    pe = fold.pe
    c = channels(g, node)
    gb, zb, bb = _abs_bits(node.gamma), _abs_bits(node.zeta), _abs_bits(node.beta)
    parts = {
        "datapath": prelu_lane(datapath_widths(g, node), bb, node.out.bits, cfg) * pe,
        "params": _mem(c // pe, gb + zb + bb, cfg) * pe,
    }
    return _simple(g, node, fold, parts)


@estimator(N.Add)
def estimate_add(g: HwGraph, node: N.Add, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """``pe`` adders of the aligned operands (the alignment shift is wiring), then the requantizer."""
    pe = fold.pe
    s = datapath_widths(g, node)["sum"]  # the aligned sum, the emitted sum_t
    lane = arith.adder_luts(s) + (arith.requant_luts(s, node.out.bits) if node.out is not None else 0)
    out = bits_of(g, node.outputs[0])
    return _simple(g, node, fold, {"datapath": Resources(lut=pe * lane, ff=pe * out)})


@estimator(N.Requant)
def estimate_requant(g: HwGraph, node: N.Requant, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    pe, a = fold.pe, bits_of(g, node.inputs[0])
    lane = arith.requant_luts(a, node.out.bits)
    return _simple(g, node, fold, {"datapath": Resources(lut=pe * lane, ff=pe * node.out.bits)})


def _pool(
    g: HwGraph, node: N.Node, fold: Fold, cfg: EstimateConfig, lane_lut: float, acc_bits: int
) -> NodeEstimate:
    """Window pools: overlapping windows need SWU-style line buffers; non-overlapping ones (stride == kernel)
    keep one output row of partial results (``OW * C/pe`` words of ``pe * acc_bits``)."""
    pe = fold.pe
    c = g.spec(node.inputs[0]).shape[-1]
    ow = g.spec(node.outputs[0]).shape[1]
    a = bits_of(g, node.inputs[0])
    parts: dict[str, Resources] = {}
    if tuple(node.stride) == tuple(node.kernel) and not any(node.pad):
        parts["row_buffer"] = _mem(ow * (c // pe), pe * acc_bits, cfg, writable=True)
    else:
        parts["window"] = window_buffer(g, node, pe, a, cfg)
    cyc = node_cycles(g, node, fold)
    parts["datapath"] = Resources(lut=pe * lane_lut, ff=pe * acc_bits)
    parts["control"] = _control(cyc)
    return make(g, node, fold, parts)


@estimator(N.MaxPool)
def estimate_max_pool(g: HwGraph, node: N.MaxPool, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """Running maximum per lane: on bits an OR into the partial result (one LUT); on fixed point a comparator
    and a select."""
    a = bits_of(g, node.inputs[0])
    lane = 1 if a == 1 else arith.comparator_luts(a) + a
    return _pool(g, node, fold, cfg, lane, a)


@estimator(N.AvgPool)
def estimate_avg_pool(g: HwGraph, node: N.AvgPool, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """Running sum per lane of the window sum's width (``a + log2(KH*KW)`` bits on a signed ``a``-bit input; the
    division is a shift), then the requantizer."""
    acc = datapath_widths(g, node)["sum"]  # the window sum, the emitted sum_t
    lane = arith.adder_luts(acc) + (arith.requant_luts(acc, node.out.bits) if node.out is not None else 0)
    return _pool(g, node, fold, cfg, lane, acc)


@estimator(N.GlobalPool)
def estimate_global_pool(g: HwGraph, node: N.GlobalPool, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """``C`` accumulators of the channel sum's width (about ``p + log2(H*W)`` bits, ``p`` the input width or
    ``pre.bits`` after the per-element requantizer) in a ``C/pe``-deep memory; emits after the frame."""
    pe = fold.pe
    h, w, c = g.spec(node.inputs[0]).shape
    a = bits_of(g, node.inputs[0])
    acc = datapath_widths(g, node)["sum"]  # the channel sum, the emitted sum_t
    lane = arith.adder_luts(acc) + (arith.requant_luts(acc, node.out.bits) if node.out is not None else 0)
    if node.pre is not None:
        lane += arith.requant_luts(a, node.pre.bits)
    cyc = node_cycles(g, node, fold)
    parts = {
        "accumulators": _mem(c // pe, pe * acc, cfg, writable=True),
        "datapath": Resources(lut=pe * lane, ff=pe * acc),
        "control": _control(cyc),
    }
    return make(g, node, fold, parts)


@estimator(N.Concat)
def estimate_concat(g: HwGraph, node: N.Concat, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """An ``n``:1 select of ``pe`` aligned elements per cycle."""
    out = bits_of(g, node.outputs[0])
    parts = {"datapath": Resources(lut=arith.mux_luts(len(node.inputs), fold.pe * out), ff=fold.pe * out)}
    return _simple(g, node, fold, parts)


@estimator(N.Duplicate)
def estimate_duplicate(g: HwGraph, node: N.Duplicate, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """A stream fork: one read, ``n`` writes; the handshakes only (a few LUTs per output)."""
    width = fold.pe * bits_of(g, node.inputs[0])
    return _simple(g, node, fold, {"datapath": Resources(lut=4 * len(node.outputs), ff=width)})


@estimator(N.Flatten)
def estimate_flatten(g: HwGraph, node: N.Flatten, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """Channels-last flatten is wiring; a pass-through loop remains."""
    return _simple(g, node, fold, {})


@estimator(N.LabelSelect)
def estimate_label_select(g: HwGraph, node: N.LabelSelect, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """Top-``k`` insertion: ``k`` slots of value + index registers; every lane compares against all slots and
    the slots shift (a 2:1 mux per bit)."""
    pe = fold.pe
    b = bits_of(g, node.inputs[0])
    c = elems(g, node.inputs[0])
    idx = max(1, math.ceil(math.log2(max(2, c))))
    k = node.k
    lut = pe * k * (arith.comparator_luts(b) + b + idx)
    cyc = node_cycles(g, node, fold)
    parts = {"datapath": Resources(lut=lut, ff=k * (b + idx)), "control": _control(cyc)}
    return make(g, node, fold, parts)
