"""The estimator registry (keyed by node type) and the estimation options.

An estimator is a pure function ``fn(g, node, fold, cfg) -> NodeEstimate``; register it with
``@estimator(XnorConv)``. It costs resources; :func:`make` takes the cycles and the fill from the timing model
(:mod:`hls.timing`), which the HLS project writer reads too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hls.estimate.records import NodeEstimate, Resources
from hls.folding import Fold
from hls.timing import node_timing, read_elems
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.registry import Registry

Estimator = Callable[[HwGraph, N.Node, Fold, "EstimateConfig"], NodeEstimate]
ESTIMATORS = Registry("estimator")


def estimator(*classes: type) -> Callable[[Estimator], Estimator]:
    """Register the resource estimator of one or more node types."""
    return ESTIMATORS.register(*classes)


@dataclass(frozen=True)
class EstimateConfig:
    """Implementation choices that change resources (not cycles)."""

    #: weights/thresholds compiled in as ROM ("rom": our HLS project writes them as C arrays) or written at
    #: run time over AXI-lite ("ram": BNN-PYNQ's DoMemInit), which needs writable LUTRAM and write decode
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
    #: depth of an ordinary stream between two nodes (hls::stream default depth 2); a stream that the timing
    #: model (hls.timing) makes deeper keeps the model's depth
    stream_depth: int = 2
    #: explicit FIFO depths of the input streams of named nodes, as ``((consumer, depth), ...)`` (a design's
    #: ``#pragma HLS STREAM depth=``), where the timing model needs no deeper FIFO; applies to graph-input
    #: streams too
    fifo_depths: tuple[tuple[str, int], ...] = ()
    #: depth of FIFOs between the DMA and the graph inputs/outputs (0: none; BNN-PYNQ LFC: 1024 "to mask
    #: memory latency", top.cpp) and the DMA word width in bits
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


def make(g: HwGraph, node: N.Node, fold: Fold, parts: dict[str, Resources]) -> NodeEstimate:
    """Assemble a :class:`NodeEstimate` from named resource parts (drops empty parts); cycles, fill, need and
    tail come from the timing model (:func:`hls.timing.node_timing`)."""
    parts = {k: v for k, v in parts.items() if any(v.as_dict().values())}
    t = node_timing(g, node, fold)
    words = elems(g, node.inputs[0]) // read_elems(node, fold) if node.inputs else 1
    return NodeEstimate(
        name=node.name,
        op_type=node.op_type,
        pe=fold.pe,
        simd=fold.simd,
        resources=Resources.total(parts.values()),
        cycles=t.cycles,
        fill=t.need + t.extra + 1,
        parts=parts,
        need=min(1.0, t.need / max(1, words)),
        tail=t.tail,
        buffers=fold.buffers,
        storage=fold.storage,
    )
