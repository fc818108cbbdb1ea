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
counters. Pipeline depth: each node's output register and the FIFO behind it (``HOP`` cycles per stream) in the
word schedule; deeper HLS pipelines (a few cycles per loop) are not modelled.

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

``L`` of the graph outputs bounds the latency from below; the latency itself comes from the word schedule below.
The throughput bound is the largest ``cycles`` (FINN ``dataflow_performance``).

**Word schedule** (:func:`word_schedule`): every word of a few frames through the design, each node running
its loops (:func:`node_words`: the iterations of :func:`hls.cycles.node_loops`, one per cycle, reading and
writing the words in the iterations that the HLS templates and the RTL modules read and write them), with
unbounded streams. An iteration that reads waits for its word; a word written in iteration ``s`` can be read
from cycle ``s + HOP`` (the producer's output register, then the FIFO: the pipeline depth per node that the RTL
modules have, ``HOP = 2``); an output port takes it at ``s + 1``. The graph input offers frame ``k`` from cycle
``k * max_cycles``, one word per cycle. The **latency** is the first frame's last output word (cycles from its
first input word); it equals the Verilator simulation of the RTL on the test designs (docs/rtl.md).

**FIFO depths.** A node with several inputs (Add, Concat) reads all of them in lockstep, so the stream of an
input whose branch is early must hold every word that arrives before the late branch delivers the matching one:
its depth is the most words it holds in the word schedule (a shortcut around a window generator holds the rows
the generator reads ahead, a Duplicate's fork makes its branches start together, and the frame's time through
the long branch, converted to words at the rate the fork delivers them). The FIFO in front of a width converter
holds the burst its producer writes faster than the converter passes it on (``Channel.src_depth``, the most
words it holds in the word schedule; 2 when the converter keeps up). With these depths no stream ever stalls the
early branch's producer, so the design does not slow down; and it cannot deadlock under any input gaps or
output back-pressure: when the late branch emits its word ``m`` it has read every word it needs for it, so the
early stream then holds at least (words the late branch needs for ``m``) - ``m`` words in the schedule, the
most it ever has to hold for the join to go on (measured on reactnet-tiny: before,
the first shortcut had 271 words and the simulation deadlocked; the word schedule gives 340 and the RTL runs at
the model's cycles per frame).

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
Every other stream has depth :data:`DEFAULT_DEPTH` (``hls::stream``'s default). A shortcut forked in front of
a DyBNN dynamic unit would hold the whole frame (the unit emits nothing before it has read its whole frame), a
second copy of the frame the unit buffers; so the stream graph lets the unit write the shortcut from its frame
buffer, word for word with its own output (:func:`forward_frames`), and the shortcut holds only what arrives
while the nodes after the unit start (the word schedule's level; in the uniform-rate fallback the backlog plus
:func:`forward_head_words`).

**hyper_context: stem.** A dynamic unit whose hyper function reads a context vector (:func:`context_unit`) reads
the vector's words, runs its hyper function, then streams its frame (:func:`_context_unit_words`); the
HyperContext node (one frame buffer, :func:`_hyper_context_words`) writes the vector before it releases the frame,
so every unit has its context before its frame's first word can arrive. The frame input of such a unit is sized
like a join's input (:func:`sized_inputs`: the most words it holds in the word schedule, what arrives while the
hyper function runs); no fork gives way to it (it has no frame buffer to forward from).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from hls.cycles import conv_has_swu, dynamic_cycles, node_cycles, node_loops
from hls.folding import MATRIX_TYPES, Fold, matrix_dims
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.passes import InsertDuplicates, run_passes

#: depth of a stream that needs no buffering beyond the handshake (``hls::stream`` default)
DEFAULT_DEPTH = 2
#: the most shortcuts a dynamic unit writes from its frame buffer (:func:`forward_frames`; the RTL modules' out1, out2)
MAX_FORWARDS = 2
#: node types that consume all their inputs in lockstep (their early inputs need deep FIFOs)
MULTI_INPUT = (N.Add, N.Concat)


def context_unit(node: N.Node) -> bool:
    """A dynamic unit whose hyper function reads a context vector (``hyper_context: stem``): it reads the vector,
    then streams its frame, so its frame input holds what arrives before the vector does (a FIFO sized by the word
    schedule, like a join's inputs)."""
    return isinstance(node, (N.DynamicSign, N.DynamicPReLU)) and node.hyper.context


def sized_inputs(node: N.Node) -> bool:
    """Nodes whose input FIFOs the schedule sizes: the joins (:data:`MULTI_INPUT`) and the context units."""
    return isinstance(node, MULTI_INPUT) or context_unit(node)


__all__ = [
    "DEFAULT_DEPTH",
    "MULTI_INPUT",
    "Channel",
    "context_unit",
    "sized_inputs",
    "NodeTiming",
    "StreamGraph",
    "burst_depth",
    "dynamic_cycles",
    "MAX_FORWARDS",
    "forward_frames",
    "forward_head_words",
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
    if context_unit(node):  # the context vector, the hyper function, then one frame word
        loops = node_loops(g, node, f)
        return 1, loops["context_in"] + loops["hyper1"] + loops["hyper2"]
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        loops = node_loops(g, node, f)
        return loops["frame_in"], loops["hyper1"] + loops["hyper2"]
    if isinstance(node, N.HyperContext):
        loops = node_loops(g, node, f)
        return loops["frame_in"], loops["context_out"]
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
    if context_unit(node):
        return 1
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        loops = node_loops(g, node, f)
        return loops["hyper1"] + loops["hyper2"] + loops["frame_out"]
    if isinstance(node, N.HyperContext):
        loops = node_loops(g, node, f)
        return loops["context_out"] + loops["frame_out"]
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


def stream_graph(g: HwGraph, folding: dict[str, Fold] | None = None, *, forward: bool = True) -> StreamGraph:
    """``g`` with a Duplicate fork on every tensor that has several readers (:class:`hwsim.passes.InsertDuplicates`);
    a new fork runs at its producer's PE when that divides the channels (no width converter in front of it),
    else at PE = 1. With ``forward``, a fork that feeds one DyBNN dynamic unit gives way to the unit itself
    (:func:`forward_frames`), except at a DynamicSign whose folding stores levels. A graph whose streams already have one reader each is returned unchanged."""
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
    if forward:
        g2 = forward_frames(g2, frozenset(k for k, f in folding.items() if f.storage == "levels"))
    if g2 is not g:
        g2.validate()
    return StreamGraph(g2, folding, dict(zip(g2.outputs, g.outputs, strict=True)))


def forward_head_words(sg: StreamGraph, c: Channel) -> int:
    """Extra depth of a shortcut ``c`` that a dynamic unit writes from its frame buffer (:func:`forward_frames`):
    the unit writes the shortcut and its own output in the same cycle, so before the node after it (the head of
    the main branch, a convolution's window generator) can emit its first word, the shortcut receives as many
    elements as the head reads first (its ``need`` words), whatever the rates say: ``ceil(need * SIMD / elems)``
    words of ``c``. Without them the shortcut fills before the head has its first window, and the block
    deadlocks (found in the RTL simulation). 0 for every other stream."""
    g = sg.graph
    p = g.producer(c.tensor) if c.producer is not None else None
    if not isinstance(p, (N.DynamicSign, N.DynamicPReLU)) or c.tensor == p.outputs[0]:
        return 0
    (head,) = g.consumers(p.outputs[0])
    f = sg.fold(head.name)
    need, _ = first_output(g, head, f)
    return math.ceil(need * read_elems(head, f) / c.elems)


def forward_frames(g: HwGraph, levels: frozenset[str] = frozenset()) -> HwGraph:
    """One frame buffer, not two: a Duplicate fork whose copies go to exactly one DynamicSign / DynamicPReLU and to
    other nodes (in a ReActNet block: the residual shortcut, or the pooled shortcut of a strided block) is
    removed; the dynamic unit reads the tensor itself and writes the other copies as outputs 2, 3, ... from its
    frame buffer, in the same cycle as its own output word. The shortcut then waits only for the nodes after the
    dynamic unit (the convolution), not for the unit's whole frame and hyper function, so its FIFO holds the
    convolution's delay instead of a frame; the frame is stored once, in the unit. Only shortcuts are forwarded:
    every other copy must go to a join (Add, Concat) or to a node whose output only a join reads (the pooled
    shortcut of a strided block), at most :data:`MAX_FORWARDS` of them; a fork with another dynamic unit, a
    graph output or any other reader stays (its readers would otherwise wait a frame for the unit). A fork in
    front of a DynamicSign named in ``levels`` (its folding says ``buffer_storage: levels``, :mod:`hls.levels`:
    its buffer holds levels, not the values the shortcut needs) stays: the shortcut is forked in front of the
    unit and holds its own frame-deep FIFO."""
    dyn = (N.DynamicSign, N.DynamicPReLU)
    nodes = list(g.nodes)
    changed = False

    def shortcut(r: N.Node) -> bool:
        """A join (Add, Concat), or a node whose one output only a join reads (a strided block's pool)."""
        if isinstance(r, MULTI_INPUT):
            return True
        if len(r.outputs) != 1 or r.outputs[0] in g.outputs:
            return False
        return [type(c) for c in g.consumers(r.outputs[0])] in ([N.Add], [N.Concat])

    for d in [n for n in nodes if isinstance(n, N.Duplicate)]:
        readers = [g.consumers(t) for t in d.outputs]
        if any(len(r) != 1 for r in readers) or any(t in g.outputs for t in d.outputs):
            continue
        units = [i for i, (r,) in enumerate(readers) if isinstance(r, dyn) and not r.hyper.context]
        if len(units) != 1 or not 2 <= len(d.outputs) <= 1 + MAX_FORWARDS:
            continue
        if not all(shortcut(r) for i, (r,) in enumerate(readers) if i != units[0]):
            continue
        (u,) = readers[units[0]]
        if u.name in levels:
            continue
        fwd = tuple(t for i, t in enumerate(d.outputs) if i != units[0])
        new = u.replace(inputs=(d.inputs[0],), outputs=(u.outputs[0], *fwd))
        at = nodes.index(d)
        nodes = [n for n in nodes if n is not u and n is not d]
        nodes.insert(at, new)
        changed = True
    if not changed:
        return g
    tensors = {k: v for k, v in g.tensors.items() if any(k in n.inputs or k in n.outputs for n in nodes)}
    tensors.update({t: g.tensors[t] for t in g.inputs + g.outputs})
    return HwGraph(g.name, list(g.inputs), list(g.outputs), tensors, nodes, dict(g.metadata))


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
    #: depth of the FIFO between the producer and the width converter (if any), in producer words
    src_depth: int = DEFAULT_DEPTH

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
    #: every word of a few frames (:func:`word_schedule`): the latency and the join FIFOs' depths
    words: WordSchedule | None = None

    @property
    def graph(self) -> HwGraph:
        return self.streams.graph

    @property
    def latency(self) -> int:
        """Cycles from the first input word of a frame to its last output word, through an empty pipeline
        (:attr:`WordSchedule.latency`)."""
        if self.words is not None:
            return self.words.latency
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
    words = sum(c.words for c in tm.channels if c.producer is not None)
    if words * WORD_FRAMES > WORD_BUDGET:  # too big to schedule word by word: the uniform-rate backlog
        for i, c in enumerate(tm.channels):
            if c.consumer is not None and sized_inputs(g.node(c.consumer)):
                wait = tm.start[c.consumer] - c.first
                if wait > 0:
                    backlog = math.ceil(wait / c.rate) + forward_head_words(sg, c)
                    tm.channels[i] = replace(c, depth=max(c.depth, min(c.words, backlog) + DEFAULT_DEPTH))
        return tm
    tm.words = word_schedule(sg, tm.max_cycles)
    for i, c in enumerate(tm.channels):
        if c.consumer is not None and sized_inputs(g.node(c.consumer)):
            level = tm.words.max_level[(c.consumer, c.tensor)]
            tm.channels[i] = c = replace(c, depth=max(c.depth, level))
        if c.converter and c.producer is not None:
            level = tm.words.max_level[(c.consumer, c.tensor, "converter")]
            tm.channels[i] = replace(c, src_depth=max(DEFAULT_DEPTH, level))
    return tm


def timing(g: HwGraph, folding: dict[str, Fold] | None = None, *, forward: bool = True) -> Timing:
    """:func:`schedule` of :func:`stream_graph` ``(g, folding, forward=forward)``: the timing of the design
    ``dybnn hls`` writes."""
    return schedule(stream_graph(g, folding, forward=forward))


# ------------------------------------------------------------------------------------------ word schedule

#: cycles from the iteration that writes a word to the first iteration of its consumer that can read it: the
#: producer's output register (the word is valid the next cycle) and the FIFO (a word written in a cycle can
#: leave it the next); an output port takes the word one cycle after the iteration that wrote it
HOP = 2
#: frames the word schedule runs: the first through an empty pipeline (the latency), the others in steady state
WORD_FRAMES = 3
#: the most stream words (all streams, all frames) the word schedule handles; a bigger design (the 224 x 224
#: ReActNets: 18 M words per frame) keeps the uniform-rate schedule's latency and shortcut depths
WORD_BUDGET = 3_000_000


class _Loop:
    """A pipelined (II = 1) loop of ``n`` iterations per frame that runs ``frames`` frames back to back and
    blocks on its reads: iteration ``i`` runs in cycle ``s[i] = max(s[i-1] + 1, a[i])``, ``a[i]`` the cycle
    from which the words it reads can be read, so ``s[i] = i + max(0, max_{j <= i} (a[j] - j))``. ``reads``
    holds per input stream the iterations that read (within a frame), the word each reads, the cycle from which
    each word of the stream (all frames) can be read, and the stream's words per frame. Only the reading
    iterations are stored (memory in words, not iterations)."""

    def __init__(self, n: int, frames: int, reads: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]]):
        self.n, self.frames = n, frames
        fr = np.arange(frames)[:, None]
        its, vals = [], []
        for it, word, avail, w in reads:
            its.append((fr * n + it[None, :]).ravel())
            vals.append(avail[(fr * w + word[None, :]).ravel()])
        if len(its) == 1:  # one input: its reads are in iteration order
            self._it, v = its[0], vals[0]
        else:
            it = np.concatenate(its) if its else np.zeros(0, np.int64)
            order = np.argsort(it, kind="stable")
            self._it, v = it[order], (np.concatenate(vals)[order] if its else np.zeros(0))
        self._lag = np.maximum.accumulate(v - self._it) if len(v) else v

    def at(self, it: np.ndarray) -> np.ndarray:
        """Cycles of the iterations ``it`` (within a frame) in every frame."""
        q = (np.arange(self.frames)[:, None] * self.n + it[None, :]).ravel()
        k = np.searchsorted(self._it, q, side="right") - 1
        lag = np.where(k >= 0, self._lag[np.maximum(k, 0)] if len(self._lag) else 0.0, 0.0)
        return q + np.maximum(0.0, lag)


def _swu_words(win, cf: int, avail: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The window generator (``dybnn_swu``, the HLS ``_swu`` template): ``(cycles its window words are written,
    cycles its input words are read)``. The fill loop reads the first ``KH`` padded rows, one padded word per
    iteration; output row ``oy`` takes ``max(E, rows(oy)*PW*CF)`` iterations, emitting window word ``i`` in
    iteration ``i < E`` and reading the next padded word in iteration ``i < rows(oy)*PW*CF``; a padded position
    takes an iteration and reads nothing (:func:`hls.cycles.swu_cycles` counts the same iterations)."""
    row = win.pw * cf
    emit = win.ow * win.kh * win.kw * cf
    read_it = [np.arange(win.kh * row)]
    write_it = []
    pos = win.kh * row
    for oy in range(win.oh):
        rows = min(win.sh, win.ph - win.kh - oy * win.sh)
        read_it.append(pos + np.arange(rows * row))
        write_it.append(pos + np.arange(emit))
        pos += max(emit, rows * row)
    rit = np.concatenate(read_it)
    p = np.arange(len(rit))
    py, px = p // row, (p // cf) % win.pw
    real = (py >= win.pt) & (py < win.pt + win.h) & (px >= win.pl) & (px < win.pl + win.w)
    rit = rit[real]
    words = win.h * win.w * cf
    s = _Loop(pos, frames, [(rit, np.arange(words), avail, words)])
    return s.at(np.concatenate(write_it)), s.at(rit)


def _mvu_words(nvec: int, nf: int, sf: int, avail: np.ndarray, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The matrix unit (``dybnn_mvu``): ``nvec * NF * SF`` iterations, the vector's ``SF`` words read in the first
    neuron fold, output word ``(v, nf)`` written in the fold's last synapse iteration."""
    n = nvec * nf * sf
    v = np.arange(nvec)[:, None]
    rit = (v * nf * sf + np.arange(sf)[None, :]).ravel()
    wit = (v * nf * sf + np.arange(nf)[None, :] * sf + sf - 1).ravel()
    s = _Loop(n, frames, [(rit, np.arange(nvec * sf), avail, nvec * sf)])
    return s.at(wit), s.at(rit)


def _dwc_words(
    have: int, want: int, total: int, avail: np.ndarray, frames: int
) -> tuple[np.ndarray, np.ndarray]:
    """A width converter from ``have`` to ``want`` elements per word: ``total / gcd`` iterations of ``gcd``
    elements, reading a word when one starts, writing one when it is complete."""
    gg = math.gcd(have, want)
    n = total // gg
    e = np.arange(n) * gg
    rit = np.flatnonzero(e % have == 0)
    wit = np.flatnonzero((e + gg) % want == 0)
    s = _Loop(n, frames, [(rit, np.arange(len(rit)), avail, total // have)])
    return s.at(wit), s.at(rit)


def _dynamic_words(
    g: HwGraph, node: N.Node, f: Fold, avail: np.ndarray, frames: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """DynamicSign / DynamicPReLU (``dybnn_dynamic_core``, the HLS ``_frame_buffer`` template; cycles per frame
    :func:`hls.cycles.dynamic_cycles`): ``(cycles its output words are written, cycles its input words are
    read)``. Three processes around a ring of ``buffers`` frames: frame in reads word ``i`` of frame ``k``, one
    per cycle, once the word can be read and once frame ``k - buffers`` has emitted its word ``i`` (the ring slot;
    the same cycle will do); the hyper function runs ``hyper1 + hyper2`` iterations from the cycle after the
    frame's last word in and after the previous frame's hyper function; frame out writes the frame, one word
    per cycle, from the cycle after its hyper function and after the previous frame's last word."""
    loops = node_loops(g, node, f)
    w = loops["frame_in"]
    hyper = loops.get("hyper1", 0) + loops.get("hyper2", 0) + loops.get("context_out", 0)
    a = avail.reshape(frames, w)
    rd, wr = np.zeros((frames, w)), np.zeros((frames, w))
    i = np.arange(w, dtype=np.float64)
    last_in = hyp_end = out_end = -1.0
    for k in range(frames):
        lim = a[k] if k < f.buffers else np.maximum(a[k], wr[k - f.buffers])
        base = last_in + 1 + i
        rd[k] = base + np.maximum(0.0, np.maximum.accumulate(lim - base))
        last_in = rd[k, -1]
        hyp_end = max(last_in, hyp_end) + hyper
        wr[k] = max(hyp_end, out_end) + 1 + i
        out_end = wr[k, -1]
    return wr.ravel(), [rd.ravel()]


def _context_unit_words(
    g: HwGraph, node: N.Node, f: Fold, avail: list[np.ndarray], frames: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A dynamic unit with a context hyper function (the HLS ``_context_in`` template; cycles per frame
    :func:`hls.cycles.context_cycles`): ``(cycles its output words are written, cycles its frame words and its
    context words are read)``. Process 1 reads the ``C0/PE`` context words of frame ``k`` (each once it can be
    read, one per cycle) and runs the hyper function; it writes the deltas into one of two banks, free once
    frame ``k - 2`` has streamed out. Process 2 streams frame ``k``, reading word ``i`` and writing output word
    ``i`` in one iteration, from the cycle after its deltas and after frame ``k - 1``."""
    loops = node_loops(g, node, f)
    cw, hyper, w = loops["context_in"], loops["hyper1"] + loops["hyper2"], loops["frame_out"]
    ax, ac = avail[0].reshape(frames, w), avail[1].reshape(frames, cw)
    rc, rd = np.zeros((frames, cw)), np.zeros((frames, w))
    ic, i = np.arange(cw, dtype=np.float64), np.arange(w, dtype=np.float64)
    a_end = b_end = -1.0
    for k in range(frames):
        start = a_end + 1 if k < 2 else max(a_end + 1, rd[k - 2, -1] + 1)
        base = start + ic
        rc[k] = base + np.maximum(0.0, np.maximum.accumulate(ac[k] - base))
        a_end = rc[k, -1] + hyper
        base = max(a_end, b_end) + 1 + i
        rd[k] = base + np.maximum(0.0, np.maximum.accumulate(ax[k] - base))
        b_end = rd[k, -1]
    return rd.ravel(), [rd.ravel(), rc.ravel()]


def _hyper_context_words(
    g: HwGraph, node: N.Node, f: Fold, avail: np.ndarray, frames: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """HyperContext: :func:`_dynamic_words` with ``context_out`` for the hyper function; the context words
    are written in its ``C/PE`` iterations, which end right before the frame's first word out. Returns the
    write cycles per output (frame, context)."""
    loops = node_loops(g, node, f)
    wr, rd = _dynamic_words(g, node, f, avail, frames)
    w, cw = loops["frame_out"], loops["context_out"]
    first = wr.reshape(frames, w)[:, :1]  # frame out starts after the context and the previous frame
    ctx = (first - cw + np.arange(cw)[None, :]).ravel()
    return [wr, ctx], rd


def node_words(
    g: HwGraph, node: N.Node, fold: Fold, avail: list[np.ndarray], frames: int
) -> tuple[np.ndarray | list[np.ndarray], list[np.ndarray]]:
    """The word schedule of one node: ``(cycles of the iterations that write its output words, cycles of the
    iterations that read the words of each input)``, every frame, given the cycle from which each input word can
    be read (``avail``, one array per input at the node's read width). The iterations are those of
    :func:`hls.cycles.node_loops` at one per cycle (the RTL modules and the HLS templates run them so). A node
    whose outputs differ in words (HyperContext) gives a list of write cycles, one array per output."""
    f = fold
    win_words = [_elems(g, t) // read_elems(node, f) for t in node.inputs]
    out_words = _elems(g, node.outputs[0]) // write_elems(node, f)
    if isinstance(node, MATRIX_TYPES):
        mh, mw, nvec = matrix_dims(g, node)
        nf, sf = mh // f.pe, mw // f.simd
        if isinstance(node, (N.XnorConv, N.FixedConv)) and conv_has_swu(node):
            win = node.window(g.spec(node.inputs[0]).shape)
            wr, rd = _swu_words(win, win.c // f.simd, avail[0], frames)
            out, _ = _mvu_words(nvec, nf, sf, wr + HOP, frames)
            return out, [rd]
        out, rd = _mvu_words(nvec, nf, sf, avail[0], frames)
        return out, [rd]
    if isinstance(node, N.SlidingWindow):
        win = node.window(g.spec(node.inputs[0]).shape)
        wr, rd = _swu_words(win, win.c // f.pe, avail[0], frames)
        return wr, [rd]
    if isinstance(node, (N.MaxPool, N.AvgPool)):
        win = node.window(g.spec(node.inputs[0]).shape)
        cf = win.c // f.pe
        wr, rd = _swu_words(win, cf, avail[0], frames)
        kk, npix = win.positions * cf, win.oh * win.ow
        wit = (np.arange(npix)[:, None] * kk + (win.positions - 1) * cf + np.arange(cf)[None, :]).ravel()
        s = _Loop(npix * kk, frames, [(np.arange(npix * kk), np.arange(npix * kk), wr + HOP, npix * kk)])
        return s.at(wit), [rd]
    if isinstance(node, N.GlobalPool):
        n = win_words[0]
        s = _Loop(n, frames, [(np.arange(n), np.arange(n), avail[0], n)])
        return s.at(n - out_words + np.arange(out_words)), [s.at(np.arange(n))]
    if isinstance(node, N.LabelSelect):
        n = win_words[0] + node.k
        s = _Loop(n, frames, [(np.arange(win_words[0]), np.arange(win_words[0]), avail[0], win_words[0])])
        return s.at(win_words[0] + np.arange(node.k)), [s.at(np.arange(win_words[0]))]
    if context_unit(node):
        return _context_unit_words(g, node, f, avail, frames)
    if isinstance(node, N.HyperContext):
        return _hyper_context_words(g, node, f, avail[0], frames)
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        return _dynamic_words(g, node, f, avail[0], frames)
    if isinstance(node, N.Concat):
        cfo = g.spec(node.outputs[0]).shape[-1] // f.pe
        npix = out_words // cfo
        reads, its, off = [], [], 0
        for t, w in zip(node.inputs, win_words, strict=True):
            cfk = g.spec(t).shape[-1] // f.pe
            it = (np.arange(npix)[:, None] * cfo + off + np.arange(cfk)[None, :]).ravel()
            reads.append((it, np.arange(w), avail[len(reads)], w))
            its.append(it)
            off += cfk
        s = _Loop(out_words, frames, reads)
        return s.at(np.arange(out_words)), [s.at(it) for it in its]
    # one word of every input and of the output per iteration
    for t, w in zip(node.inputs, win_words, strict=True):
        if w != out_words:
            raise ValueError(f"node {node.name!r} ({node.op_type}): no word schedule for input {t!r} of {w} "
                             f"words per frame and an output of {out_words}")  # fmt: skip
    base = np.arange(out_words * frames, dtype=np.float64)
    a = avail[0] if len(avail) == 1 else np.maximum.reduce(avail)
    s = base + np.maximum(0.0, np.maximum.accumulate(a - base))  # (:class:`_Loop`, every iteration reads)
    return s, [s for _ in avail]


@dataclass
class WordSchedule:
    """Every word of ``frames`` frames through the design with unbounded streams (:func:`word_schedule`)."""

    frames: int
    #: cycles per frame at which the graph input offers its frames (the design's initiation interval)
    period: int
    #: (consumer, tensor) -> the most words waiting in the stream (the FIFO in front of the consumer);
    #: (consumer, tensor, "converter") -> the same for the FIFO in front of its width converter
    max_level: dict[tuple, int] = field(default_factory=dict)
    #: graph output tensor -> cycle each of its words leaves the design
    out_cycles: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def latency(self) -> int:
        """Cycles from the first input word of the first frame to its last output word."""
        last = 0.0
        for c in self.out_cycles.values():
            last = max(last, float(c[: len(c) // self.frames].max()))
        return int(math.ceil(last))


def _max_level(push: np.ndarray, pop: np.ndarray) -> int:
    """The most words a FIFO holds when a word is pushed in the cycles ``push`` and popped in ``pop`` (a push in
    a cycle in which a word leaves still needs the room: pops count after the pushes of their cycle)."""
    if len(push) == 0:
        return 0
    # the k-th push (in time order) finds k words pushed before it, less the pops of earlier cycles
    held = np.arange(1, len(push) + 1) - np.searchsorted(pop, push, side="left")  # both in time order
    return int(held.max())


def word_schedule(
    sg: StreamGraph, period: int, frames: int = WORD_FRAMES, levels: str = "joins"
) -> WordSchedule:
    """Every word of ``frames`` frames through the stream graph ``sg``, nodes running their loops
    (:func:`node_words`) with unbounded streams: the graph input offers frame ``k`` from cycle ``k * period``,
    one word per cycle; a word written in iteration ``s`` can be read from ``s + HOP``. Gives the latency of
    the first frame and the most words a stream holds (the FIFO depth that never stalls its producer): of the
    inputs of multi-input nodes and the streams in front of width converters, or (``levels="all"``) of every
    stream."""
    g = sg.graph
    ws = WordSchedule(frames, period)
    src: dict[str, tuple[np.ndarray, int]] = {}  # tensor -> (write cycles of its words, elements per word)
    for n in g.nodes:
        f = sg.fold(n.name)
        want = read_elems(n, f)
        avail, pushes = [], []
        for t in n.inputs:
            total = _elems(g, t)
            if g.producer(t) is None:
                w = total // want
                avail.append(
                    (np.arange(frames)[:, None] * period + np.arange(w)[None, :]).ravel().astype(float)
                )
                pushes.append(None)
                continue
            wr, have = src[t]
            if have != want:
                push = wr + 1
                wr, rd = _dwc_words(have, want, total, wr + HOP, frames)
                ws.max_level[(n.name, t, "converter")] = _max_level(push, rd)
            avail.append(wr + HOP)
            pushes.append(wr + 1)
        out, reads = node_words(g, n, f, avail, frames)
        for t, push, rd in zip(n.inputs, pushes, reads, strict=True):
            if push is not None and (levels == "all" or sized_inputs(n)):
                ws.max_level[(n.name, t)] = _max_level(push, rd)
        for k, t in enumerate(n.outputs):
            src[t] = (out[k] if isinstance(out, list) else out, write_elems(n, f))
    for t in g.outputs:
        if t in src:
            ws.out_cycles[t] = src[t][0] + 1
    return ws
