"""The estimator registry (keyed by node type) and the estimation options.

An estimator is a pure function ``fn(g, node, fold, cfg) -> NodeEstimate``; register it with
``@estimator(XnorConv)``. Cycles always come from :func:`hls.cycles.node_cycles` (the single cycle model).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hls.estimate.records import NodeEstimate, Resources
from hls.folding import Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Fixed

Estimator = Callable[[HwGraph, N.Node, Fold, "EstimateConfig"], NodeEstimate]
ESTIMATORS: dict[type, Estimator] = {}


def estimator(*classes: type) -> Callable[[Estimator], Estimator]:
    def deco(fn: Estimator) -> Estimator:
        for c in classes:
            if c in ESTIMATORS:
                raise ValueError(f"two estimators registered for {c.__name__}")
            ESTIMATORS[c] = fn
        return fn

    return deco


@dataclass(frozen=True)
class EstimateConfig:
    """Implementation choices that change resources (not cycles)."""

    #: weights/thresholds compiled in as ROM ("rom": our HLS project writes them as C arrays) or written at
    #: run
    #: time over AXI-lite ("ram": BNN-PYNQ's DoMemInit), which needs writable LUTRAM and write decode
    params: str = "rom"
    #: memory for weights and parameters: "auto" | "lutram" | "bram" | "uram" (see memory.map_memory)
    ram_style: str = "auto"
    #: memory for DynamicSign / DynamicPReLU frame buffers: "auto" | "lutram" | "bram" | "uram"
    frame_buffer_style: str = "auto"
    #: multipliers: "auto" | "dsp" | "lut" (see arith.use_dsp)
    mult_style: str = "auto"
    #: popcount datapath: "hls" (adder tree HLS builds) | "compressor" (RTL GPC tree)
    popcount: str = "hls"
    #: accumulator/threshold width of matrix units; None: the minimal width for the dot-product range
    #: (BNN-PYNQ declares ``ap_int<16>`` thresholds and accumulators, top.cpp)
    acc_bits: int | None = None
    #: the target part has URAM (set from the device)
    has_uram: bool = False
    #: depth of an ordinary stream between two nodes (hls::stream default depth 2)
    stream_depth: int = 2
    #: explicit FIFO depths of the input streams of named nodes, as ``((consumer, depth), ...)`` (a design's
    #: ``#pragma HLS STREAM depth=``); applies to graph-input streams too
    fifo_depths: tuple[tuple[str, int], ...] = ()
    #: depth of FIFOs between the DMA and the graph inputs/outputs (0: none; BNN-PYNQ LFC: 1024 "to mask
    #: memory
    #: latency", top.cpp) and the DMA word width in bits
    io_fifo_depth: int = 0
    io_width: int = 64

    def __post_init__(self) -> None:
        for f, allowed in (
            ("params", ("rom", "ram")),
            ("ram_style", ("auto", "lutram", "bram", "uram")),
            ("frame_buffer_style", ("auto", "lutram", "bram", "uram")),
            ("mult_style", ("auto", "dsp", "lut")),
            ("popcount", ("hls", "compressor")),
        ):
            if getattr(self, f) not in allowed:
                raise ValueError(f"EstimateConfig.{f} must be one of {allowed}, got {getattr(self, f)!r}")

    @property
    def writable(self) -> bool:
        return self.params == "ram"


def bits_of(g: HwGraph, tensor: str) -> int:
    """Bits per element of a tensor (bipolar: 1)."""
    return int(g.spec(tensor).dtype.bits)


def elems(g: HwGraph, tensor: str) -> int:
    n = 1
    for d in g.spec(tensor).shape:
        n *= d
    return n


def fixed_bits(dtype: object, default: int = 16) -> int:
    return dtype.bits if isinstance(dtype, Fixed) else default


try:  # the HLS side's first-output model, when present (hls/cycles.py node_fill)
    from hls.cycles import node_fill as _node_fill
except ImportError:  # pragma: no cover - older hls.cycles
    _node_fill = None

#: pipeline depth of a simple HLS streaming loop (read, compute, write) added to the loop-count fill
#: [engineering estimate]
PIPE_FILL = 2


def fill_cycles(g: HwGraph, node: N.Node, fold: Fold, fallback: int) -> int:
    """Cycles from a node's first input word to its first output word: :func:`hls.cycles.node_fill` (loop
    iterations) plus :data:`PIPE_FILL`, or ``fallback`` where hls.cycles has no fill model."""
    if _node_fill is None:
        return int(fallback)
    return int(_node_fill(g, node, fold)) + PIPE_FILL


def make(
    node: N.Node,
    fold: Fold,
    cycles: int,
    parts: dict[str, Resources],
    *,
    fill: int,
    need: float = 0.0,
    tail: int = 1,
) -> NodeEstimate:
    """Assemble a :class:`NodeEstimate` from named parts (drops empty parts)."""
    parts = {k: v for k, v in parts.items() if any(v.as_dict().values())}
    return NodeEstimate(
        name=node.name,
        op_type=node.op_type,
        pe=fold.pe,
        simd=fold.simd,
        resources=Resources.total(parts.values()),
        cycles=int(cycles),
        fill=int(fill),
        parts=parts,
        need=float(need),
        tail=int(tail),
    )
