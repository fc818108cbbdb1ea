"""Typed records that estimators return: resources of a block, per-node and per-design estimates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESOURCE_KEYS = ("lut", "ff", "bram18", "uram", "dsp")


@dataclass(frozen=True)
class Resources:
    """FPGA resources of one block: 6-input LUTs, flip-flops, RAMB18 (half a RAMB36), URAM288, DSP slices.

    Values are floats while components are summed (fractional LUT costs of shared logic are allowed) and
    rounded up when reported (:meth:`rounded`).
    """

    lut: float = 0.0
    ff: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0
    dsp: float = 0.0

    def __add__(self, o: Resources) -> Resources:
        return Resources(
            self.lut + o.lut, self.ff + o.ff, self.bram18 + o.bram18, self.uram + o.uram, self.dsp + o.dsp
        )

    def __mul__(self, k: float) -> Resources:
        return Resources(self.lut * k, self.ff * k, self.bram18 * k, self.uram * k, self.dsp * k)

    __rmul__ = __mul__

    def rounded(self) -> dict[str, int]:
        """Integer counts (ceil: half a BRAM is a whole BRAM)."""
        import math

        return {k: int(math.ceil(getattr(self, k) - 1e-9)) for k in RESOURCE_KEYS}

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in RESOURCE_KEYS}

    @staticmethod
    def total(items: Any) -> Resources:
        out = Resources()
        for r in items:
            out = out + r
        return out


@dataclass(frozen=True)
class NodeEstimate:
    """Estimate of one hardware-graph node (or one FIFO) at a folding.

    ``cycles``: cycles per frame (initiation interval of the node, from :mod:`hls.cycles`). Pipeline schedule
    (:mod:`hls.timing`): ``fill`` = cycles from the node's first input word to its first output
    word when the input keeps up; ``need`` = the fraction of the input frame that must have arrived before the
    first output (1 for frame buffers); ``tail`` = cycles from the last input word to the last output.
    ``parts``: the resources by component (weights, popcount, accumulators, frame buffer, ...), for reports.
    """

    name: str
    op_type: str
    pe: int
    simd: int
    resources: Resources
    cycles: int
    fill: int
    parts: dict[str, Resources] = field(default_factory=dict)
    need: float = 0.0
    tail: int = 1
    #: frames in the frame buffer of a dynamic unit (the folding's ``buffers``; 1 for every other node)
    buffers: int = 1
    #: what a DynamicSign's frame buffer holds (the folding's ``buffer_storage``: "values" or "levels")
    storage: str = "values"

    @property
    def latency(self) -> int:
        """The node's latency: cycles from its first input word to its first output word (= ``fill``)."""
        return self.fill

    def row(self) -> dict[str, Any]:
        r = self.resources.rounded()
        return {
            "name": self.name,
            "type": self.op_type,
            "pe": self.pe,
            "simd": self.simd,
            "cycles": self.cycles,
            **r,
        }


@dataclass(frozen=True)
class FifoEstimate:
    """A stream FIFO between two nodes: depth in words of ``width`` bits, and its resources."""

    name: str
    producer: str
    consumer: str
    depth: int
    width: int
    resources: Resources


@dataclass(frozen=True)
class DesignEstimate:
    """Whole-design estimate: per node, FIFOs, totals, performance, fit on a device."""

    graph: str
    clock_ns: float
    nodes: list[NodeEstimate]
    fifos: list[FifoEstimate]
    #: the accelerator (nodes + FIFOs)
    totals: Resources
    #: the accelerator plus the platform shell/DMA (hls.devices.shell_overhead)
    system_totals: Resources
    bottleneck: str
    max_cycles: int
    latency_cycles: int
    #: per multi-input node and input tensor: FIFO depth in stream words
    shortcut_fifos: dict[str, dict[str, int]]
    device: Any = None
    shell_source: str = ""
    #: the Duplicate forks the timing model added (tensors with several readers, :func:`hls.timing.stream_graph`);
    #: they are in ``nodes`` but not in the graph, so a folding file leaves them out
    forks: tuple[str, ...] = ()
    #: nodes that run on the host after the accelerator (a float tail; hwsim.partition), not estimated
    host: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        """Frames per second: clock frequency / cycles of the slowest node."""
        return 1e9 / self.clock_ns / max(1, self.max_cycles)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles * self.clock_ns / 1e3

    def utilization(self) -> dict[str, float | None]:
        """``system_totals`` over the device's full-chip resources (None where the device has none)."""
        if self.device is None:
            return {}
        cap = self.device.capacity()
        tot = self.system_totals.rounded()
        return {
            k: (tot[k] / cap[k] if cap[k] else (None if tot[k] == 0 else float("inf"))) for k in RESOURCE_KEYS
        }

    @property
    def fits(self) -> bool | None:
        if self.device is None:
            return None
        return all(u is None or u <= 1.0 for u in self.utilization().values())

    def node(self, name: str) -> NodeEstimate:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)
