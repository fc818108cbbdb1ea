"""The timing model of a dataflow design: cycles per frame, first and last output words, FIFO depths, latency.

This is the one timing model of the project. The estimator (:mod:`hls.estimate.pipeline`) reports its latency
and FIFO depths, the HLS project writer (:mod:`hls.project`) declares its FIFO depths, and a further back end
(RTL) reads the same :class:`Timing`. Nobody else derives a fill, a FIFO depth or a latency.

Use::

    from hls.timing import timing
    tm = timing(graph, folding)   # stream_graph (forks) + schedule of one frame
    tm.graph                      # the graph the design instantiates (with its forks), tm.streams.folding
    tm.latency, tm.max_cycles     # cycles from the first input word to the last output word; the II
    for c in tm.channels:         # every stream, node inputs in graph order, then the graph outputs
        c.producer, c.consumer, c.tensor, c.src_elems, c.elems, c.words, c.depth, c.converter
    tm.nodes[name]                # NodeTiming(cycles, need, extra, tail); tm.first / tm.last[name]: cycles

Units: one cycle is one iteration of a pipelined (II = 1) loop of a node's template, as in :mod:`hls.cycles`,
which owns the per-node loop table (cycles per frame) and is checked loop by loop against the C simulation's
counters. Pipeline depth (a few cycles per loop) is not modelled.

**Streams.** A dataflow stream has one producer and one consumer, so :func:`stream_graph` first runs
:class:`hwsim.passes.InsertDuplicates` (the lowering's fork pass) on the graph: a tensor read by several nodes,
or read and also a graph output, gets a Duplicate node, folded at the producer's PE when that divides its
channels. A node writes ``PE`` elements per word (LabelSelect: 1) and reads ``SIMD`` elements per word (matrix
units) or ``PE`` (the others); where producer and consumer words differ the stream passes a width converter
(``total / gcd`` iterations, its first word after ``ceil(out/in)`` input words).

**Per node** (:func:`node_timing`): ``cycles`` per frame (:func:`hls.cycles.node_cycles`); the node emits its
first output word after reading ``need`` words of its (first) input and running ``extra`` further iterations
that wait for no input (:func:`first_output`); its last output word leaves ``tail`` cycles after its last input
word (:func:`tail_cycles`).

**Schedule** (:func:`schedule`, nodes in graph order, one frame through an empty pipeline): every stream ``c``
carries ``W[c]`` words per frame; its first word leaves at ``T[c]`` and its last at ``L[c]``, so its words arrive
every ``r[c] = max(1, (L[c] - T[c]) / W[c])`` cycles; ``P[c]`` is the cycles per frame of the slowest node
upstream. The graph input delivers one word per cycle. For a node with input streams ``i`` (``T_start`` = the
latest ``T[i]``, ``i0`` its first input)::

    T[out] = T_start + need * r[i0] + extra + 1
    L[out] = max(T_start + cycles, max_i L[i] + tail, T[out])
    P[out] = max(max_i P[i], cycles)

A stream is as spread out as the slowest node upstream makes it (``L`` inherits the input's span plus the
node's tail), and a frame buffer's output (DynamicSign, GlobalPool) is a burst at its own pace.

The latency of a frame is the latest ``L`` of the graph outputs (cycles from the first input word to the last
output word); the throughput bound is the largest ``cycles`` (FINN ``dataflow_performance``).

**FIFO depths.** A node with several inputs (Add, Concat) takes nothing from an early input before its latest
input starts, so the stream of input ``i`` must hold what arrives in between::

    depth_i = min(W_i, ceil((T_start - T[i]) / r[i])) + 2        (if T[i] < T_start)

Streams into nodes that read in bursts (:func:`burst_depth`) hold the burst, so that the producer keeps going
instead of stalling (with 2 words it stalls, and the design's period is longer than its slowest node's: measured
in the RTL simulation, docs/rtl.md): a matrix unit without window generator reads its input vector (``SF``
words) only in its first neuron fold, then computes ``NF - 1`` folds without reading, so with ``NF > 1``::

    depth = SF + 2

and a window generator reads the ``need`` real words of its fill loop in one burst at the start of a frame::

    depth = need + 2

Inside a convolution or pool, the stream from the window generator to the matrix unit / reducer has
:func:`window_buffer_depth` words: enough to keep the matrix unit busy while the generator runs the next frame's
fill loop (no output), ``SF + ceil((KH*PW*CF + 4) / NF) + 2`` (a pool: ``KH*PW*CF + 4 + 2``).
Every other stream has depth :data:`DEFAULT_DEPTH` (``hls::stream``'s default). This is the whole frame
when the other branch holds a DyBNN dynamic unit (it emits nothing before it has read its whole frame): the
shortcut FIFO is part of the price of a dynamic threshold. The depth is sized so that the early branch never
stalls on a full FIFO: its words keep arriving every ``r[i]`` cycles during the wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hls.cycles import conv_has_swu, node_cycles, node_loops
from hls.folding import MATRIX_TYPES, Fold, matrix_dims
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.passes import InsertDuplicates, run_passes

#: depth of a stream that needs no buffering beyond the handshake (``hls::stream`` default)
DEFAULT_DEPTH = 2
#: node types that consume all their inputs in lockstep (their early inputs need deep FIFOs)
MULTI_INPUT = (N.Add, N.Concat)

__all__ = [
    "DEFAULT_DEPTH",
    "MULTI_INPUT",
    "Channel",
    "NodeTiming",
    "StreamGraph",
    "burst_depth",
    "window_buffer_depth",
    "Timing",
    "first_output",
    "node_cycles",
    "node_loops",
    "node_timing",
    "read_elems",
    "schedule",
    "stream_graph",
    "tail_cycles",
    "timing",
    "write_elems",
]


def _elems(g: HwGraph, t: str) -> int:
    n = 1
    for d in g.spec(t).shape:
        n *= d
    return n


# ------------------------------------------------------------------------------------------ one node


@dataclass(frozen=True)
class NodeTiming:
    """The timing facts of one node at one folding (see the module docstring)."""

    #: cycles per frame (:func:`hls.cycles.node_cycles`)
    cycles: int
    #: words of the first input read before the first output word
    need: int
    #: iterations after those ``need`` words, before the first output word, that wait for no input
    extra: int
    #: cycles from the last input word to the last output word
    tail: int


def _window_fill(win: N.Window, simd: int) -> tuple[int, int]:
    """``(input words, iterations)`` of a window generator's fill loop: the first KH padded rows, padding
    included (the template generates padded words in the same loop as it reads real ones)."""
    cf = win.c // simd
    real_rows = max(0, min(win.kh, win.pt + win.h) - win.pt)
    return real_rows * win.w * cf, win.kh * win.pw * cf


def first_output(g: HwGraph, node: N.Node, fold: Fold) -> tuple[int, int]:
    """``(need, extra)``: the node emits its first output word after reading ``need`` words of its input and
    running ``extra`` further iterations that do not wait for input.

    * matrix unit without window generator: one input vector, ``need = SF``;
    * window generator (convolution, SlidingWindow, pools): its fill loop reads the real rows among the first
      ``KH`` padded rows (``need``) in ``KH * PW * CF`` iterations; a convolution's MVU then reads one window
      (``SF`` words), a pool's reducer ``KH * KW * CF`` words;
    * GlobalPool, LabelSelect: the whole input; DynamicSign / DynamicPReLU: the whole frame, then the
      hyper-function layers;
    * every other node: one word.
    """
    f = fold
    if isinstance(node, MATRIX_TYPES):
        _, mw, _ = matrix_dims(g, node)
        sf = mw // f.simd
        if isinstance(node, (N.XnorConv, N.FixedConv)) and conv_has_swu(node):
            need, fill = _window_fill(node.window(g.spec(node.inputs[0]).shape), f.simd)
            return need, fill - need + sf
        return sf, 0
    if isinstance(node, (N.SlidingWindow, N.MaxPool, N.AvgPool)):
        win = node.window(g.spec(node.inputs[0]).shape)
        need, fill = _window_fill(win, f.pe)
        if isinstance(node, N.SlidingWindow):
            return need, fill - need
        return need, fill - need + win.positions * (win.c // f.pe)
    if isinstance(node, (N.GlobalPool, N.LabelSelect)):
        return _elems(g, node.inputs[0]) // f.pe, 0
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        loops = node_loops(g, node, f)
        return loops["frame_in"], loops["hyper1"] + loops["hyper2"]
    return 1, 0


def tail_cycles(g: HwGraph, node: N.Node, fold: Fold) -> int:
    """Cycles from the node's last input word to its last output word.

    * window generator: the last output row's windows (``OW*KH*KW*CF`` words) are emitted after the rows they
      need are read; a convolution's MVU spends ``NF`` cycles on each of those words (``OW*NF*SF``);
    * matrix unit without window generator: the last vector's other ``NF - 1`` neuron folds (``(NF-1)*SF``);
    * DynamicSign / DynamicPReLU: the hyper-function layers and the whole frame out;
    * LabelSelect: the ``k`` indices; every other node (GlobalPool included: its sums leave in the iteration
      of the last pixel): the word itself, 1.
    """
    f = fold
    if isinstance(node, MATRIX_TYPES):
        mh, mw, _ = matrix_dims(g, node)
        nf, sf = mh // f.pe, mw // f.simd
        if isinstance(node, (N.XnorConv, N.FixedConv)) and conv_has_swu(node):
            return node.window(g.spec(node.inputs[0]).shape).ow * nf * sf + 1
        return (nf - 1) * sf + 1
    if isinstance(node, (N.SlidingWindow, N.MaxPool, N.AvgPool)):
        win = node.window(g.spec(node.inputs[0]).shape)
        return win.ow * win.positions * (win.c // f.pe) + 1
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        loops = node_loops(g, node, f)
        return loops["hyper1"] + loops["hyper2"] + loops["frame_out"]
    if isinstance(node, N.LabelSelect):
        return node.k + 1
    return 1


def node_timing(g: HwGraph, node: N.Node, fold: Fold) -> NodeTiming:
    """Cycles per frame, first-output and tail terms of ``node`` at ``fold``."""
    need, extra = first_output(g, node, fold)
    return NodeTiming(node_cycles(g, node, fold), need, extra, tail_cycles(g, node, fold))


def _has_swu(node: N.Node) -> bool:
    if isinstance(node, (N.XnorConv, N.FixedConv)):
        return conv_has_swu(node)
    return isinstance(node, (N.SlidingWindow, N.MaxPool, N.AvgPool))


def burst_depth(g: HwGraph, node: N.Node, fold: Fold) -> int:
    """Depth of the input stream of a node that reads in bursts.

    * a matrix unit without window generator and with ``NF > 1`` neuron folds reads its ``SF``-word vector only
      in the first fold: ``SF + 2`` (one vector);
    * a window generator reads the ``need`` real words of its fill loop (the first ``KH`` padded rows) in one
      burst at the start of a frame: ``need + 2``, so that they are there when it starts;
    * every other node: :data:`DEFAULT_DEPTH`.
    """
    if _has_swu(node):
        need, _ = first_output(g, node, fold)
        return need + DEFAULT_DEPTH
    if isinstance(node, MATRIX_TYPES):
        mh, mw, _ = matrix_dims(g, node)
        if mh // fold.pe > 1:
            return mw // fold.simd + DEFAULT_DEPTH
    return DEFAULT_DEPTH


def window_buffer_depth(g: HwGraph, node: N.Node, fold: Fold) -> int:
    """Depth of the stream between a window generator and the unit it feeds inside one node (a convolution's
    matrix unit, a pool's reducer): the window words that keep that unit busy while the generator runs the fill
    loop of the next frame (``KH*PW*CF`` iterations without output; a matrix unit spends ``NF`` cycles per word),
    one input vector of a matrix unit (``SF`` words) and the handshake (2)."""
    simd = fold.simd if isinstance(node, MATRIX_TYPES) else fold.pe
    _, fill = _window_fill(node.window(g.spec(node.inputs[0]).shape), simd)
    if isinstance(node, MATRIX_TYPES):
        mh, mw, _ = matrix_dims(g, node)
        nf, sf = mh // fold.pe, mw // fold.simd
        return sf + math.ceil((fill + 4) / nf) + DEFAULT_DEPTH
    return fill + 4 + DEFAULT_DEPTH


def read_elems(node: N.Node, fold: Fold) -> int:
    """Elements per word a node reads from each input stream: SIMD for matrix units, else PE."""
    return fold.simd if isinstance(node, MATRIX_TYPES) else fold.pe


def write_elems(node: N.Node, fold: Fold) -> int:
    """Elements per word a node writes to its output streams: PE (LabelSelect: one index per word)."""
    return 1 if isinstance(node, N.LabelSelect) else fold.pe


# ------------------------------------------------------------------------------------------ streams


@dataclass(frozen=True)
class StreamGraph:
    """A graph in which every tensor has exactly one reader (a dataflow design's streams), and its folding."""

    graph: HwGraph
    folding: dict[str, Fold]
    #: graph output of ``graph`` -> the graph output of the original graph it carries
    outputs: dict[str, str]

    def fold(self, name: str) -> Fold:
        return self.folding.get(name, Fold())


def stream_graph(g: HwGraph, folding: dict[str, Fold] | None = None) -> StreamGraph:
    """``g`` with a Duplicate fork on every tensor that has several readers (:class:`hwsim.passes.InsertDuplicates`);
    a new fork runs at its producer's PE when that divides the channels (no width converter in front of it),
    else at PE = 1. A graph whose streams already have one reader each is returned unchanged."""
    folding = dict(folding or {})
    g2 = run_passes(g, [InsertDuplicates()])
    old = {n.name for n in g.nodes}
    for n in g2.nodes:
        if n.name in old:
            continue
        t = n.inputs[0]
        prod = g2.producer(t)
        pe = 1 if prod is None else write_elems(prod, folding.get(prod.name, Fold()))
        folding[n.name] = Fold(pe if g2.spec(t).shape[-1] % pe == 0 else 1, 1)
    if g2 is not g:
        g2.validate()
    return StreamGraph(g2, folding, dict(zip(g2.outputs, g.outputs, strict=True)))


# ------------------------------------------------------------------------------------------ schedule


def _rate(first: float, last: float, words: int) -> float:
    """Cycles per word of a stream whose ``words`` pass between ``first`` and ``last`` (at most one per cycle)."""
    return max(1.0, (last - first) / max(1, words))


@dataclass(frozen=True)
class Channel:
    """One stream of the design at the consumer's word width (after a width converter, if any)."""

    #: the tensor it carries (in the stream graph)
    tensor: str
    #: producing node, None for the graph input
    producer: str | None
    #: consuming node, None for a graph output
    consumer: str | None
    #: elements per word the consumer reads (= ``src_elems`` without a width converter)
    elems: int
    #: elements per word the producer writes
    src_elems: int
    #: words per frame (at ``elems`` per word)
    words: int
    #: cycle of the first word, of the last word, and cycles per frame of the slowest node upstream
    first: float
    last: float
    period: int
    #: FIFO depth in words
    depth: int = DEFAULT_DEPTH

    @property
    def rate(self) -> float:
        """Cycles per word while the frame passes: its span ``last - first`` over its words, at least 1."""
        return _rate(self.first, self.last, self.words)

    @property
    def converter(self) -> bool:
        """A width converter sits between producer and consumer."""
        return self.elems != self.src_elems

    @property
    def converter_iterations(self) -> int:
        """Iterations of the width converter per frame (``elements / gcd``)."""
        return self.words * self.elems // math.gcd(self.elems, self.src_elems)


@dataclass
class Timing:
    """The schedule of one frame through a :class:`StreamGraph` (see the module docstring)."""

    streams: StreamGraph
    #: per node: its timing facts, and the cycles of its latest first input word, first and last output words
    nodes: dict[str, NodeTiming] = field(default_factory=dict)
    start: dict[str, float] = field(default_factory=dict)
    first: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    period: dict[str, int] = field(default_factory=dict)
    #: every stream: node inputs in graph order, then the graph outputs
    channels: list[Channel] = field(default_factory=list)

    @property
    def graph(self) -> HwGraph:
        return self.streams.graph

    @property
    def latency(self) -> int:
        """Cycles from the first input word to the last output word of a frame."""
        return int(math.ceil(max((c.last for c in self.channels if c.consumer is None), default=0.0)))

    @property
    def max_cycles(self) -> int:
        """Cycles per frame of the slowest node (the initiation interval of the design)."""
        return max((t.cycles for t in self.nodes.values()), default=0)

    def channel(self, consumer: str, tensor: str) -> Channel:
        """The stream that feeds ``tensor`` (stream-graph name) into node ``consumer``."""
        for c in self.channels:
            if c.consumer == consumer and c.tensor == tensor:
                return c
        raise KeyError(f"no stream {tensor!r} into node {consumer!r}")

    def depths(self) -> dict[tuple[str, str], int]:
        """``{(consumer, tensor): depth}`` of every stream into a node."""
        return {(c.consumer, c.tensor): c.depth for c in self.channels if c.consumer is not None}

    def shortcut_depths(self) -> dict[str, dict[str, int]]:
        """``{node: {input tensor: depth}}`` of every multi-input node (Add, Concat)."""
        out: dict[str, dict[str, int]] = {}
        for n in self.graph.nodes:
            if isinstance(n, MULTI_INPUT):
                out[n.name] = {t: self.channel(n.name, t).depth for t in n.inputs}
        return out


def schedule(sg: StreamGraph) -> Timing:
    """Schedule one frame through the stream graph ``sg``: first, last word and period of every stream, FIFO
    depths and latency (formulas in the module docstring)."""
    g = sg.graph
    tm = Timing(sg)
    # the producer side of every tensor: (first, last, period, elements per word)
    src: dict[str, tuple[float, float, int, int]] = {}
    for n in g.nodes:
        f = sg.fold(n.name)
        want = read_elems(n, f)
        ins: list[Channel] = []
        for t in n.inputs:
            p = g.producer(t)
            total = _elems(g, t)
            if p is None:  # the graph input: one word per cycle at the reader's width
                w = total // want
                ins.append(Channel(t, None, n.name, want, want, w, 0.0, float(w), w))
                continue
            first, last, period, have = src[t]
            words = total // want
            if have != want:  # width converter
                cyc = total // math.gcd(have, want)
                rate = _rate(first, last, total // have)
                first, last = (
                    first + math.ceil(want / have) * rate + 1,
                    max(first + cyc, last + math.ceil(have / want), first + 1),
                )
                period = max(period, cyc)
            ins.append(Channel(t, p.name, n.name, want, have, words, first, last, period))
        nt = node_timing(g, n, f)
        start = max((c.first for c in ins), default=0.0)
        rate = ins[0].rate if ins else 1.0
        first = start + nt.need * rate + nt.extra + 1
        period = max([nt.cycles] + [c.period for c in ins])
        last = max([start + nt.cycles, first] + [c.last + nt.tail for c in ins])
        burst = burst_depth(g, n, f)
        if ins and burst > ins[0].depth:
            ins[0] = replace(ins[0], depth=burst)
        if isinstance(n, MULTI_INPUT):
            for i, c in enumerate(ins):
                wait = start - c.first
                if wait > 0:
                    backlog = math.ceil(wait / c.rate)
                    ins[i] = replace(c, depth=max(DEFAULT_DEPTH, min(c.words, backlog) + 2))
        tm.channels += ins
        tm.nodes[n.name], tm.start[n.name] = nt, start
        tm.first[n.name], tm.last[n.name], tm.period[n.name] = first, last, period
        for t in n.outputs:
            src[t] = (first, last, period, write_elems(n, f))
    for t in g.outputs:
        p = g.producer(t)
        if p is None:  # a graph input that is also an output: no stream through the design
            continue
        first, last, period, have = src[t]
        tm.channels.append(Channel(t, p.name, None, have, have, _elems(g, t) // have, first, last, period))
    return tm


def timing(g: HwGraph, folding: dict[str, Fold] | None = None) -> Timing:
    """:func:`schedule` of :func:`stream_graph` ``(g, folding)``: the timing of the design ``dybnn hls`` writes."""
    return schedule(stream_graph(g, folding))
