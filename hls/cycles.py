"""Cycles per frame of each node for a folding: the iteration counts of the node's pipelined (II=1) loops.

This is the loop table of the timing model (:mod:`hls.timing`, which adds first and last output words, FIFO
depths and latency, and re-exports :func:`node_cycles` and :func:`node_loops`): the estimator reports it and the
HLS C-simulation counts the same loop iterations (``DYBNN_COUNT`` counters compiled only when ``__SYNTHESIS__`` is not defined) -- tests check that
both agree exactly, loop by loop.

A node's template has one or more pipelined loops (:func:`node_loops` names them and gives their trip counts per
frame). They are combined into the node's cycles per frame (:func:`node_cycles`) by how they run:

* **concurrent** loops (a convolution's sliding-window generator and its matrix-vector unit, a pool's window
  generator and its reducer) are separate processes of an inner ``#pragma HLS DATAFLOW`` region: the node's
  initiation interval is the largest trip count;
* **sequential** loops of one process (LabelSelect: select, emit) add up;
* the DyBNN dynamic units (DynamicSign, DynamicPReLU) are three processes -- frame in, hyper function (its two
  layers one after the other), frame out -- joined by the frame buffer, a stream of ``buffers`` frames
  (:func:`dynamic_cycles`); HyperContext is the same around its ``context_out`` loop;
* a dynamic unit whose hyper function reads a context vector (``hyper_context: stem``) has no frame buffer: one
  process reads the context and runs the hyper function, a second streams the frame (:func:`context_cycles`).

Fill terms: pipeline fill is not included -- every loop is modelled at II=1 with zero pipeline depth, so a real
schedule is a few cycles longer per loop (e.g. +7 in a published FINN CNV csynth report), and a node with
sequential loops pays that per loop. The window generator's own fill (the first KH rows) *is* a loop and is
counted. When a node's first output word leaves is :func:`hls.timing.first_output`.

Per node type (``N`` vectors per frame, ``MH``/``MW`` matrix height/width, ``Hd`` hidden units)::

    XnorConv, FixedConv     max(swu, mvu)        mvu = (MH/PE) * (MW/SIMD) * OH*OW   (FINN get_exp_cycles)
    XnorDense, FixedDense   mvu = (MH/PE) * (MW/SIMD) * N
    SlidingWindow           swu (SIMD = PE)
    MaxPool, AvgPool        max(swu, pool)       pool = OH*OW*KH*KW*C/PE   (FINN Pool_Batch)
    DynamicSign/PReLU       buffers = 1: max(frame_in, frame_out) + hyper;  buffers = 2: max(frame_in, hyper,
                            frame_out); frame_in = frame_out = H*W*C/PE, hyper = hyper1 + hyper2 =
                            Hd*C/PE + n_out*Hd/PE
    DynamicSign/PReLU       max(context_in + hyper, frame_out), context_in = C0/PE   (context hyper function)
    HyperContext            as DynamicSign/PReLU with hyper = context_out = C/PE (the statistics leave)
    GlobalPool              H*W*C/PE             (the sums leave with the last pixel)
    LabelSelect             C/PE + k             (scan, then emit the k indices)
    others                  output elements / PE

Sliding-window generator (``swu``; XnorConv/FixedConv unless 1x1 stride 1 unpadded, SlidingWindow, MaxPool,
AvgPool), on the padded map ``PH x PW`` with ``CF = C / SIMD`` words per pixel and ``E = OW*KH*KW*CF`` window words
per output row::

    swu = KH*PW*CF                                   # fill: the first KH padded rows
        + sum_{oy < OH} max(E, rows(oy)*PW*CF)       # emit a row of windows while reading the next rows
    rows(oy) = min(SH, PH - KH - oy*SH)              # rows still to read (the last output row reads the rest)

Padded positions take a cycle like real ones (they are generated, not read: FINN's FMPadding does the same).
"""

from __future__ import annotations

from collections.abc import Callable

from hls.folding import Fold, matrix_dims
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.nodes import Window
from hwsim.registry import Registry

#: node type -> ``fn(graph, node, fold) -> {loop label: iterations per frame}``
LOOPS = Registry("loop rule")
#: node type -> ``fn(graph, node, fold) -> cycles per frame`` (derived from :data:`LOOPS`)
CYCLES = Registry("cycle rule")
#: node types whose loops run concurrently (inner dataflow); the others' loops run one after the other
CONCURRENT: tuple[type, ...] = (N.XnorConv, N.FixedConv, N.MaxPool, N.AvgPool)


#: node types built as the three processes of :func:`dynamic_cycles` (dynamic units with a context hyper function:
#: :func:`context_cycles`)
DYNAMIC: tuple[type, ...] = (N.DynamicSign, N.DynamicPReLU, N.HyperContext)


def context_cycles(loops: dict[str, int]) -> int:
    """Cycles per frame of a dynamic unit whose hyper function reads a context vector: no frame buffer, two
    processes. The first reads the context (``context_in``) and runs the hyper function (``hyper1``, ``hyper2``),
    writing the deltas into one of two banks (an HLS ping-pong array); the second streams the frame through the
    compare or PReLU lanes (``frame_out``) with the deltas of its frame. While frame f streams, the deltas of
    frame f+1 are computed: ``max(context_in + hyper1 + hyper2, frame_out)``."""
    return max(loops["context_in"] + loops["hyper1"] + loops["hyper2"], loops["frame_out"])


def dynamic_cycles(loops: dict[str, int], buffers: int) -> int:
    """Cycles per frame of a DyBNN dynamic unit whose frame buffer holds ``buffers`` frames.

    Three processes: *frame in* (stores the frame, accumulates the channel statistics), the *hyper function*
    (``hyper1`` then ``hyper2``, once per frame, after the frame's last word) and *frame out* (once the frame's
    deltas are there). The frame buffer is a ring of ``buffers`` frames between frame in and frame out: frame in
    writes a word only into a slot that frame out has emitted, so it runs at most ``buffers`` frames ahead.

    * ``buffers = 1``: frame f+1 streams in behind frame f streaming out, then waits ``hyper`` cycles before it
      can stream out: ``max(frame_in, frame_out) + hyper``;
    * ``buffers = 2`` (ping-pong): frame f+1 streams in while frame f waits for its deltas and streams out, so
      each process runs once per frame: ``max(frame_in, hyper, frame_out)``.

    The statistics and the deltas have one bank per buffered frame; the ring's order makes every bank free when
    it is written (frame f+``buffers`` cannot start before frame f streams out)."""
    hyper = loops.get("hyper1", 0) + loops.get("hyper2", 0) + loops.get("context_out", 0)
    if buffers == 1:
        return max(loops["frame_in"], loops["frame_out"]) + hyper
    return max(loops["frame_in"], hyper, loops["frame_out"])


def combine(node_type: type, loops: dict[str, int], fold: Fold | None = None) -> int:
    """Cycles per frame of a node from its loops' trip counts (max if concurrent, the dynamic units by
    :func:`dynamic_cycles`, else the sum)."""
    if not loops:
        return 0
    if issubclass(node_type, DYNAMIC):
        if "context_in" in loops:
            return context_cycles(loops)
        return dynamic_cycles(loops, (fold or Fold()).buffers)
    if issubclass(node_type, CONCURRENT):
        return max(loops.values())
    return sum(loops.values())


def loop_rule(*classes: type) -> Callable:
    """Register the loop table of one or more node types (and the cycles per frame it gives)."""

    def deco(fn: Callable) -> Callable:
        CYCLES.register(*classes)(lambda g, n, f: combine(type(n), fn(g, n, f), f))
        return LOOPS.register(*classes)(fn)

    return deco


def _elems(g: HwGraph, t: str) -> int:
    n = 1
    for d in g.spec(t).shape:
        n *= d
    return n


def node_loops(g: HwGraph, node: N.Node, fold: Fold) -> dict[str, int]:
    """Trip count per frame of every pipelined loop of ``node``'s template, by loop label."""
    fn = LOOPS.get(type(node))
    if fn is None:
        raise NotImplementedError(f"no cycle model for node type {node.op_type}")
    return {k: int(v) for k, v in fn(g, node, fold).items()}


def node_cycles(g: HwGraph, node: N.Node, fold: Fold) -> int:
    """Cycles per frame of ``node`` at ``fold``: its loops combined by :func:`combine`."""
    return combine(type(node), node_loops(g, node, fold), fold)


# ------------------------------------------------------------------------------------------ sliding window


def swu_cycles(win: Window, simd: int) -> int:
    """Iterations of the sliding-window generator on the window ``win`` (formula in the module docstring)."""
    cf = win.c // simd
    emit = win.ow * win.kh * win.kw * cf
    total = win.kh * win.pw * cf
    for oy in range(win.oh):
        rows = min(win.sh, win.ph - win.kh - oy * win.sh)
        total += max(emit, rows * win.pw * cf)
    return total


def conv_has_swu(node: N.Node) -> bool:
    """A 1x1, stride-1, unpadded convolution reads its input directly: no window generator."""
    return not (node.kernel == (1, 1) and node.stride == (1, 1) and not any(node.pad))


# ------------------------------------------------------------------------------------------ rules


@loop_rule(N.XnorConv, N.FixedConv)
def _conv(g, node, f):
    """``swu`` (see module docstring) concurrent with the MVAU ``(MH/PE) * (MW/SIMD) * N`` (FINN
    matrixvectoractivation.py get_exp_cycles)."""
    mh, mw, n = matrix_dims(g, node)
    loops = {}
    if conv_has_swu(node):
        loops["swu"] = swu_cycles(node.window(g.spec(node.inputs[0]).shape), f.simd)
    loops["mvu"] = (mh // f.pe) * (mw // f.simd) * n
    return loops


@loop_rule(N.XnorDense, N.FixedDense)
def _dense(g, node, f):
    """FINN MVAU: ``(MH/PE) * (MW/SIMD) * N``."""
    mh, mw, n = matrix_dims(g, node)
    return {"mvu": (mh // f.pe) * (mw // f.simd) * n}


@loop_rule(N.SlidingWindow)
def _window(g, node, f):
    return {"swu": swu_cycles(node.window(g.spec(node.inputs[0]).shape), f.pe)}


@loop_rule(N.MaxPool, N.AvgPool)
def _pool(g, node, f):
    """Window generator concurrent with the reducer, which takes one window word per cycle:
    ``OH*OW*KH*KW*C/PE`` (FINN Pool_Batch)."""
    win = node.window(g.spec(node.inputs[0]).shape)
    reduce = win.oh * win.ow * win.kh * win.kw * (win.c // f.pe)
    return {"swu": swu_cycles(win, f.pe), "pool": reduce}


@loop_rule(
    N.InputQuant, N.Sign, N.MultiThreshold, N.PReLU, N.Add, N.Requant, N.Duplicate, N.Flatten, N.Concat
)
def _stream(g, node, f):
    """Channel-wise streaming nodes: one PE-wide word of the output per cycle."""
    return {"stream": _elems(g, node.outputs[0]) // f.pe}


@loop_rule(N.GlobalPool)
def _global(g, node, f):
    """One input word per cycle; the sums leave with the last pixel (no extra loop)."""
    return {"pool": _elems(g, node.inputs[0]) // f.pe}


@loop_rule(N.LabelSelect)
def _label(g, node, f):
    """``C/PE`` cycles to scan the scores, then ``k`` cycles to emit the indices."""
    return {"select": g.spec(node.inputs[0]).shape[-1] // f.pe, "emit": node.k}


@loop_rule(N.DynamicSign, N.DynamicPReLU)
def _dynamic(g, node, f):
    """Frame in (statistics on the fly, into the frame buffer: ``H*W*C/PE``), the hyper-function MLP (layer 1:
    ``Hd * C/PE``, layer 2: ``n_out/PE * Hd``, PE multiply-accumulates per cycle), frame out (``H*W*C/PE``);
    combined by :func:`dynamic_cycles` at the fold's ``buffers``."""
    frame = _elems(g, node.inputs[0]) // f.pe
    h = node.hyper
    cin = h.w1.shape[1]
    if (
        h.context
    ):  # no frame buffer: the context vector (C0/PE words), then the hyper function (context_cycles)
        return {
            "context_in": cin // f.pe,
            "hyper1": h.n_hidden * (cin // f.pe),
            "hyper2": (h.n_out // f.pe) * h.n_hidden,
            "frame_out": frame,
        }
    return {
        "frame_in": frame,
        "hyper1": h.n_hidden * (cin // f.pe),
        "hyper2": (h.n_out // f.pe) * h.n_hidden,
        "frame_out": frame,
    }


@loop_rule(N.HyperContext)
def _context(g, node, f):
    """Frame in (channel sums on the fly, into the frame buffer: ``H*W*C/PE``), the statistics out (``C/PE``
    words, the context vector), frame out (``H*W*C/PE``); combined by :func:`dynamic_cycles`."""
    frame = _elems(g, node.inputs[0]) // f.pe
    return {"frame_in": frame, "context_out": g.spec(node.inputs[0]).shape[-1] // f.pe, "frame_out": frame}
