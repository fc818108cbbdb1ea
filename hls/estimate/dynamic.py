"""DynamicSign and DynamicPReLU: what per-sample thresholds cost in a streaming pipeline.

The threshold of every channel depends on the whole feature map it binarizes, so the unit runs three processes
per frame (cycles: :func:`hls.cycles.dynamic_cycles`), joined by a frame buffer of ``buffers`` frames (the
folding's ``buffers``: 1, or 2 for ping-pong):

1. read the frame (``H*W*C/pe`` cycles) into the frame buffer (``buffers * H*W*C`` values of the input width, a
   ring written and read in order), while
   ``C`` statistics accumulators of about ``p + log2(H*W)`` bits (the channel sum's interval,
   :mod:`hwsim.ranges`) sum every channel (``p`` the width of the elements after the per-element
   requantization ``HyperFunction.pre``, a requantizer per lane; else ``a``);
2. run the hyper function: ``C*Hd + Hd*C_out`` int8 x int8 multiply-accumulates on ``pe`` MAC units (DSP or
   LUT), ReLU + requantize to the hidden width, per PE lane the clip (hardtanh) and the requantization to the
   8-bit ``act`` -- or, with a tanh squash (``HyperFunction.squash_thr``), a binary search over its 255
   thresholds per PE instead of both;
3. stream the frame out of the buffer through ``pe`` compare (DynamicSign) or PReLU (DynamicPReLU) lanes whose
   per-channel offsets are ``tau + delta`` / ``gamma + d``, ``zeta + d``.

A DynamicSign with ``buffer_storage: levels`` (:mod:`hls.levels`) stores ``ceil(log2(2^b + 1))``-bit levels
instead of the input values (the frame buffer at that width), computes them on the way in (per lane the
subtract of ``tau``, the clamp's two comparators and a select: part ``levels``) and compares a level with
``delta - lo`` on the way out (``compare`` at the level width).

Costs, all visible as separate parts: the frame buffer (BRAM18 / URAM / LUTRAM by size; written and read in
order, so values pack into the primitive's width: :func:`memory.map_sequential_buffer` with
``cfg.frame_buffer_style``), the statistics memory (the running sums, and ``buffers`` banks of the statistics)
and adders, the hyper weights (ROM), the MAC units, the squash thresholds and their search (tanh only), the
delta buffer (``buffers`` banks), the output lanes and the control (a loop counter per process and the ring's
two pointers). Latency: the first
output leaves only after the whole frame has arrived and the hyper function has run -- one extra frame per
dynamic site (``need = 1``).

The hardware-aware variant (``hyper_context: stem``) has no frame buffer at the dynamic units: a
:class:`~hwsim.nodes.HyperContext` node holds the one frame (frame buffer, statistics, the context vector out) and
every dynamic unit reads that vector (``C0/pe`` words into a ``C0``-statistic register file), runs its hyper
function into one of two delta banks and streams its frame through the lanes (:func:`hls.cycles.context_cycles`).
"""

from __future__ import annotations

import math

import numpy as np

from hls import levels as L
from hls.cycles import node_loops
from hls.estimate import arith
from hls.estimate.memory import lutram_luts, map_memory, map_sequential_buffer
from hls.estimate.records import NodeEstimate, Resources
from hls.estimate.registry import EstimateConfig, bits_of, estimator, make
from hls.estimate.streaming import prelu_lane
from hls.estimate.widths import datapath_widths
from hls.folding import Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph


def _mem(depth: int, width: int, style: str, cfg: EstimateConfig, writable: bool) -> Resources:
    m = map_memory(depth, width, style, has_uram=cfg.has_uram, writable=writable)
    return Resources(lut=m.lut, bram18=m.bram18, uram=m.uram)


def _seq(depth: int, width: int, style: str, cfg: EstimateConfig) -> Resources:
    m = map_sequential_buffer(depth, width, style, has_uram=cfg.has_uram)
    return Resources(lut=m.lut, bram18=m.bram18, uram=m.uram)


def _abs_bits(a: np.ndarray) -> int:
    return max(1, int(np.max(np.abs(a))).bit_length() if a.size else 1) + 1


def hyper_parts(
    g: HwGraph, node: N.Node, fold: Fold, cfg: EstimateConfig
) -> tuple[dict[str, Resources], int]:
    """Frame buffer, statistics and hyper-function resources shared by DynamicSign and DynamicPReLU, and the
    width of the per-channel offsets ``delta`` they produce."""
    pe = fold.pe
    hy: N.HyperFunction = node.hyper
    cin = int(hy.w1.shape[1])  # layer 1's inputs: C, or C0 for a context
    hd, cout = hy.n_hidden, hy.n_out
    wd = datapath_widths(g, node)  # the emitted sum_t, l1_t, h1_t, l2_t, z_t, delta_t
    stat_acc = wd["hsum"]  # the channel sum (of ``x``, or of its requantization to ``pre``)
    w1b, w2b = _abs_bits(hy.w1), _abs_bits(hy.w2)
    sb, hb = hy.stat.bits, hy.hidden.bits
    # MAC units: pe lanes, each multiplies an 8-bit activation by an 8-bit weight and accumulates into the wider of
    # the two layers' accumulators
    mb = max(w1b, w2b)
    ab = max(sb, hb)
    mac_acc = max(wd["l1"], wd["l2"])
    lane = Resources(lut=arith.adder_luts(mac_acc), ff=mac_acc + ab + mb)
    if arith.use_dsp(ab, mb, cfg.mult_style):
        lane = lane + Resources(dsp=arith.mult_dsps(ab, mb))
    else:
        lane = lane + Resources(lut=arith.mult_luts(ab, mb))
    z_bits = wd["z"]
    # layer 1 (once per hidden unit): bias add, ReLU + requantize to the hidden width. Layer 2 (every PE lane, as
    # the template unrolls it): bias add, then the hardtanh clip (two comparators and a select) and, with ``act``,
    # the requantization to the act width -- or the tanh thresholds (their own parts)
    post1 = Resources(lut=arith.adder_luts(wd["h1"]) + arith.requant_luts(wd["h1"], hb), ff=hb)
    if hy.squash_thr is not None:
        tail = 0
    else:
        tail = 2 * arith.comparator_luts(z_bits) + z_bits
        if hy.act is not None:
            tail += arith.requant_luts(z_bits, hy.act.bits)
    post2 = Resources(lut=arith.adder_luts(z_bits) + tail, ff=z_bits)
    n_w = hd * cin + cout * hd
    delta_bits = wd["delta"]
    if hy.context:  # no frame buffer: the context vector in, two delta banks (HLS ping-pong)
        nb = 2
        parts = {"context": _mem(cin // pe, pe * sb, cfg.ram_style, cfg, writable=True)}
    else:
        nb = fold.buffers
        parts = frame_parts(g, node, fold, cfg, stat_acc, sb, hy.pre)
    parts |= {
        "hyper_weights": _mem(math.ceil(n_w / pe), pe * mb, cfg.ram_style, cfg, writable=cfg.writable)
        + _mem(hd + cout, max(_abs_bits(hy.b1), _abs_bits(hy.b2)), cfg.ram_style, cfg, writable=cfg.writable),
        "hyper_macs": (lane + post2) * pe + post1,
        "hidden_buffer": Resources(lut=arith.mux_luts(hd, hb), ff=hd * hb),
        "delta_buffer": _mem(nb * math.ceil(cout / pe), pe * delta_bits, cfg.ram_style, cfg, writable=True),
    }
    if hy.squash_thr is not None:
        table, search = squash_parts(hy, z_bits, cfg)
        parts["squash_table"], parts["squash_search"] = table * pe, search * pe
    return parts, delta_bits


def frame_parts(
    g: HwGraph, node: N.Node, fold: Fold, cfg: EstimateConfig, stat_acc: int, sb: int, pre
) -> dict[str, Resources]:
    """The frame buffer (``fold.buffers`` frames) and the channel statistics (running sums of ``stat_acc`` bits,
    requantized to ``sb`` bits, ``buffers`` banks) of a unit that pools its own input frame."""
    pe = fold.pe
    h, w, c = g.spec(node.inputs[0]).shape
    a = bits_of(g, node.inputs[0])
    nb = fold.buffers
    pre_luts = arith.requant_luts(a, pre.bits) if pre is not None else 0
    stored = L.level_bits(node) if fold.storage == "levels" else a  # buffer_storage: levels (hls.levels)
    return {
        "frame_buffer": _seq(nb * h * w * c // pe, pe * stored, cfg.frame_buffer_style, cfg),
        "statistics": _mem(c // pe, pe * stat_acc, cfg.ram_style, cfg, writable=True)
        + _mem(nb * (c // pe), pe * sb, cfg.ram_style, cfg, writable=True)
        + Resources(
            lut=pe * (arith.adder_luts(stat_acc) + arith.requant_luts(stat_acc, sb) + pre_luts),
            ff=pe * stat_acc,
        ),
    }


def squash_parts(hy: N.HyperFunction, z_bits: int, cfg: EstimateConfig) -> tuple[Resources, Resources]:
    """(table, search) of one PE's tanh squash (``hy.squash_thr``, ``n`` thresholds): the unrolled binary search
    of ``hls/templates/_hyper.hpp.j2``.

    Table: ``k = ceil(log2(n + 1))`` steps (8 for 255 thresholds), step ``s`` reading one of ``2^s`` thresholds.
    The template partitions the table completely, so every PE has its own copy as ``k`` small memories of ``2^s x
    t`` bits (``t``: threshold width, at most ``z_bits + 1`` as the emitter clamps them to the range of ``z``):
    LUT ROM (ROM64X1, :func:`memory.lutram_luts`), or LUTRAM when parameters are writable; step 0 is a constant
    (a register if writable). ``cfg.ram_style`` does not apply: every step reads its memory in the same cycle.
    Search: ``k`` comparators ``thr <= z`` of ``max(t, z_bits)`` bits, the offset adder ``act.lo + count``, and a
    pipeline register of ``z`` and the partial count per step [engineering estimate; HLS may register fewer]."""
    n = int(hy.squash_thr.shape[0])
    k = max(1, n.bit_length())
    t = min(_abs_bits(hy.squash_thr), z_bits + 1)
    table = Resources(
        lut=sum(lutram_luts(1 << s, t, cfg.writable) for s in range(1, k)), ff=t if cfg.writable else 0
    )
    search = Resources(
        lut=k * arith.comparator_luts(max(t, z_bits)) + arith.adder_luts(hy.act.bits), ff=k * (z_bits + k)
    )
    return table, search


def _control(g: HwGraph, node: N.Node, fold: Fold) -> Resources:
    """A loop counter per process (frame in, hyper, frame out), the ring's write and read pointers over
    ``buffers`` frames, and the frame counters between the processes."""
    loops = node_loops(g, node, fold)
    lut, ff = 0, 0
    if "context_in" in loops:  # a context unit: two processes, the delta banks' two pointers
        for trip in (loops["context_in"] + loops["hyper1"] + loops["hyper2"], loops["frame_out"]):
            lo, fo = arith.loop_control(trip)
            lut, ff = lut + lo, ff + fo
        return Resources(lut=lut + 2, ff=ff + 2)
    hyper = loops.get("hyper1", 0) + loops.get("hyper2", 0) + loops.get("context_out", 0)
    for trip in (loops["frame_in"], hyper, loops["frame_out"]):
        lo, fo = arith.loop_control(trip)
        lut, ff = lut + lo, ff + fo
    ring = arith.counter_bits(fold.buffers * loops["frame_in"])
    lut += 2 * arith.adder_luts(ring) + arith.comparator_luts(ring + 1)
    ff += 3 * ring + 4
    return Resources(lut=lut, ff=ff)


@estimator(N.DynamicSign)
def estimate_dynamic_sign(g: HwGraph, node: N.DynamicSign, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    pe = fold.pe
    parts, delta_bits = hyper_parts(g, node, fold, cfg)
    tau_bits = _abs_bits(node.tau)
    thr_bits = datapath_widths(g, node)["cmp"]  # tau + delta and the aligned input: the emitted cmp_t
    tau_mem = map_memory(
        node.channels // pe, pe * tau_bits, cfg.ram_style, has_uram=cfg.has_uram, writable=cfg.writable
    )
    if fold.storage == "levels":
        # in: X - T (tau read on the way in), a shift (wiring) and the clamp into 0..N (two comparators of u
        # against lo and hi, a select of lb bits) per lane; out: delta - lo (lb bits) and the compare of lb bits
        fx = g.spec(node.inputs[0]).dtype.frac
        lb = L.level_bits(node)
        diff = L.diff_range(node, g.spec(node.inputs[0]).dtype, fx).signed_bits
        u = max(1, diff - L.grid(node, fx)[2])
        parts["levels"] = Resources(
            lut=pe * (arith.adder_luts(diff) + 2 * arith.comparator_luts(u) + arith.mux_luts(3, lb)),
            ff=pe * lb,
        )
        parts["compare"] = Resources(
            lut=pe * (arith.adder_luts(lb) + arith.comparator_luts(lb)) + tau_mem.lut,
            ff=pe * (lb + 1),
            bram18=tau_mem.bram18,
        )
    else:
        parts["compare"] = Resources(
            lut=pe * (arith.adder_luts(thr_bits) + arith.comparator_luts(thr_bits)) + tau_mem.lut,
            ff=pe * (thr_bits + 1),
            bram18=tau_mem.bram18,
        )
    parts["control"] = _control(g, node, fold)
    return make(g, node, fold, parts)


@estimator(N.DynamicPReLU)
def estimate_dynamic_prelu(g: HwGraph, node: N.DynamicPReLU, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    pe = fold.pe
    parts, delta_bits = hyper_parts(g, node, fold, cfg)
    gb, zb, bb = _abs_bits(node.gamma), _abs_bits(node.zeta), _abs_bits(node.beta)
    dyn = max(gb, zb, delta_bits) + 1  # static shift + dynamic part
    params = map_memory(
        node.channels // pe, pe * (gb + zb + bb), cfg.ram_style, has_uram=cfg.has_uram, writable=cfg.writable
    )
    parts["prelu"] = (
        prelu_lane(datapath_widths(g, node), bb, node.out.bits, cfg)
        + Resources(lut=2 * arith.adder_luts(dyn))
    ) * pe
    parts["prelu"] = parts["prelu"] + Resources(lut=params.lut, bram18=params.bram18)
    parts["control"] = _control(g, node, fold)
    return make(g, node, fold, parts)


@estimator(N.HyperContext)
def estimate_hyper_context(g: HwGraph, node: N.HyperContext, fold: Fold, cfg: EstimateConfig) -> NodeEstimate:
    """The one frame buffer of a ``hyper_context: stem`` network: the frame (``buffers`` frames) and its channel
    statistics as in a dynamic unit (:func:`frame_parts`), the statistics sent out as the context vector, the
    control of its three processes (frame in, context out, frame out)."""
    stat_acc = datapath_widths(g, node)["sum"]
    parts = frame_parts(g, node, fold, cfg, stat_acc, node.stat.bits, node.pre)
    parts["control"] = _control(g, node, fold)
    return make(g, node, fold, parts)
