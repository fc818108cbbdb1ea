"""Whole-design estimate: per-node estimates, stream FIFOs, totals, latency, fit on a device.

The design is the one ``dybnn hls`` writes: the timing model (:mod:`hls.timing`) forks every tensor that has
several readers (a Duplicate node, costed like any other), schedules one frame through the streams and sizes
their FIFOs; this module costs the nodes (:mod:`hls.estimate.registry`), the FIFOs
(:func:`hls.estimate.memory.fifo_cost`) and the width converters between mismatched streams, and reports the
timing model's latency (cycles from the first input word to the last output word) and its FIFO depths
unchanged. FINN's ``critical_path_cycles`` (sum of cycles along the path, "very pessimistic, assumes no
overlap") is reported beside it. Frames per second = ``fclk / max cycles`` (FINN ``dataflow_performance``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache

from hls.cycles import node_cycles
from hls.devices import Device, shell_overhead

#: every node type has an estimator once the estimator modules are imported
from hls.estimate import dynamic as _dynamic  # noqa: E402,F401  (registers estimators)
from hls.estimate import matrix as _matrix  # noqa: E402,F401
from hls.estimate import streaming as _streaming  # noqa: E402,F401
from hls.estimate.memory import fifo_cost
from hls.estimate.records import DesignEstimate, FifoEstimate, NodeEstimate, Resources
from hls.estimate.registry import ESTIMATORS, EstimateConfig, bits_of
from hls.folding import Fold, forwarding_sites, level_sites
from hls.timing import DEFAULT_DEPTH, MULTI_INPUT, StreamGraph, Timing, timing
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part, host_nodes


def _dwc(win: int, wout: int) -> Resources:
    """A stream width converter between mismatched widths: a register of the wide side and a select over the
    narrow words [engineering estimate; FINN's StreamingDataWidthConverter model is of the same order]."""
    if win == wout:
        return Resources()
    lo, hi = min(win, wout), max(win, wout)
    ratio = math.ceil(hi / lo)
    from hls.estimate.arith import mux_luts

    return Resources(lut=mux_luts(ratio, lo) + 10, ff=hi + 10)


@lru_cache(maxsize=65536)
def _fifo_resources(depth: int, win: int, wout: int, has_uram: bool) -> Resources:
    c = fifo_cost(depth, wout, has_uram=has_uram)
    return Resources(lut=c.lut, ff=c.ff, bram18=c.bram18, uram=c.uram) + _dwc(win, wout)


class GraphModel:
    """Estimates of one graph under one :class:`EstimateConfig`, with per-(node, fold) caches so that a
    folding search can evaluate many foldings cheaply."""

    def __init__(self, g: HwGraph, cfg: EstimateConfig | None = None) -> None:
        self.host = tuple(host_nodes(g))
        g = accelerator_part(g)  # a float tail runs on the host: no hardware
        self.g = g
        self.cfg = cfg or EstimateConfig()
        self.producer: dict[str, N.Node] = {t: n for n in g.nodes for t in n.outputs}
        self._names = {n.name for n in g.nodes}
        self._est: dict[tuple[str, Fold], NodeEstimate] = {}
        self._forks: dict[tuple[str, Fold], NodeEstimate] = {}
        self._cyc: dict[tuple[str, Fold], int] = {}
        self._level_sites: frozenset[str] | None = None
        self._forwarding_sites: frozenset[str] | None = None
        for n in g.nodes:
            if type(n) not in ESTIMATORS:
                raise NotImplementedError(f"no estimator for node type {n.op_type} (node {n.name!r})")

    @property
    def level_sites(self) -> frozenset[str]:
        """The DynamicSign nodes whose frame buffer may store levels (:func:`hls.folding.level_sites`)."""
        if self._level_sites is None:
            self._level_sites = level_sites(self.g)
        return self._level_sites

    @property
    def forwarding_sites(self) -> frozenset[str]:
        """The dynamic units that write a residual shortcut from their frame buffer when they store values
        (:func:`hls.folding.forwarding_sites`)."""
        if self._forwarding_sites is None:
            self._forwarding_sites = forwarding_sites(self.g)
        return self._forwarding_sites

    def cycles(self, node: N.Node, fold: Fold) -> int:
        key = (node.name, fold)
        c = self._cyc.get(key)
        if c is None:
            c = self._cyc[key] = node_cycles(self.g, node, fold)
        return c

    def node(self, node: N.Node, fold: Fold) -> NodeEstimate:
        key = (node.name, fold)
        e = self._est.get(key)
        if e is None:
            e = self._est[key] = ESTIMATORS[type(node)](self.g, node, fold, self.cfg)
        return e

    def estimate_fork(self, sg: StreamGraph, node: N.Node) -> NodeEstimate:
        """The estimate of a node of the stream graph: a node of the graph, or a fork the timing model added."""
        f = sg.fold(node.name)
        if node.name in self._names:
            return self.node(self.g.node(node.name), f)
        key = (node.name, f)
        e = self._forks.get(key)
        if e is None:
            e = self._forks[key] = ESTIMATORS[type(node)](sg.graph, node, f, self.cfg)
        return e

    # ------------------------------------------------------------------------------------------ design
    def estimate(
        self,
        folding: dict[str, Fold] | None = None,
        clock_ns: float = 10.0,
        device: Device | None = None,
        *,
        forward: bool = True,
    ) -> DesignEstimate:
        """The design at ``folding``; ``forward=False``: the residual shortcuts forked in front of the dynamic
        units instead of read from their frame buffers (:func:`hls.timing.forward_frames`), for comparison."""
        tm = timing(self.g, folding or {}, forward=forward)
        sg = tm.streams
        nodes = [self.estimate_fork(sg, n) for n in sg.graph.nodes]
        fifos = self.fifos(tm)
        totals = Resources.total([e.resources for e in nodes] + [f.resources for f in fifos])
        bott = max(nodes, key=lambda e: e.cycles)
        system, source = totals, ""
        if device is not None:
            sh = shell_overhead(device)
            system = totals + Resources(lut=sh.lut, ff=sh.ff, bram18=sh.bram18, uram=sh.uram, dsp=sh.dsp)
            source = sh.source
        return DesignEstimate(
            graph=self.g.name,
            clock_ns=clock_ns,
            nodes=nodes,
            fifos=fifos,
            totals=totals,
            system_totals=system,
            bottleneck=bott.name,
            max_cycles=bott.cycles,
            latency_cycles=tm.latency,
            shortcut_fifos=tm.shortcut_depths(),
            device=device,
            shell_source=source,
            host=self.host,
            forks=tuple(n.name for n in sg.graph.nodes if n.name not in self._names),
        )

    def fifos(self, tm: Timing) -> list[FifoEstimate]:
        """Every stream between two nodes at the timing model's depth (``stream_depth`` where the model needs no
        more than :data:`hls.timing.DEFAULT_DEPTH`; an explicit depth of a published design's stream into a node
        that is not a multi-input node), and, with ``io_fifo_depth`` or
        explicit depths, the streams between the DMA and the graph; a width converter where the producer and
        consumer widths differ."""
        g, cfg = tm.graph, self.cfg
        explicit = dict(cfg.fifo_depths)
        shortcut = {n.name for n in g.nodes if isinstance(n, MULTI_INPUT)}
        out: list[FifoEstimate] = []

        def add(name: str, prod: str, cons: str, depth: int, win: int, wout: int) -> None:
            out.append(
                FifoEstimate(name, prod, cons, depth, wout, _fifo_resources(depth, win, wout, cfg.has_uram))
            )

        for c in tm.channels:
            bits = bits_of(g, c.tensor)
            if c.producer is None:
                depth = explicit.get(c.consumer, cfg.io_fifo_depth)
                if depth:
                    add(f"fifo:input->{c.consumer}", "input", c.consumer, depth, cfg.io_width, c.elems * bits)
            elif c.consumer is None:
                if cfg.io_fifo_depth:
                    add(f"fifo:{c.producer}->output", c.producer, "output", cfg.io_fifo_depth, c.elems * bits,
                        cfg.io_width)  # fmt: skip
            else:
                depth = c.depth
                if c.consumer in explicit and c.consumer not in shortcut:
                    depth = explicit[c.consumer]  # a published design's own depth (no shortcut wait to cover)
                elif depth <= DEFAULT_DEPTH:
                    depth = cfg.stream_depth
                add(f"fifo:{c.producer}->{c.consumer}", c.producer, c.consumer, depth, c.src_elems * bits,
                    c.elems * bits)  # fmt: skip
                if c.converter and c.src_depth > DEFAULT_DEPTH:  # a burst in front of the width converter
                    dwc = f"{c.tensor}__dwc/dwc"
                    add(f"fifo:{c.producer}->{dwc}", c.producer, dwc, c.src_depth, c.src_elems * bits,
                        c.src_elems * bits)  # fmt: skip
        return out

    def critical_path_cycles(self, folding: dict[str, Fold]) -> int:
        """FINN's pessimistic latency: the longest path where each node adds its whole cycles."""
        acc: dict[str, int] = {}
        for n in self.g.nodes:
            c = self.cycles(n, folding.get(n.name, Fold()))
            prev = [acc[p.name] for t in n.inputs if (p := self.producer.get(t)) is not None]
            acc[n.name] = max(prev, default=0) + c
        return max(acc.values(), default=0)


def config_for(device: Device | None, cfg: EstimateConfig | None = None) -> EstimateConfig:
    """``cfg`` with ``has_uram`` set from the device."""
    cfg = cfg or EstimateConfig()
    if device is not None:
        cfg = replace(cfg, has_uram=device.uram > 0)
    return cfg


def estimate(
    g: HwGraph,
    folding: dict[str, Fold] | None = None,
    clock_ns: float = 10.0,
    device: Device | None = None,
    cfg: EstimateConfig | None = None,
    *,
    forward: bool = True,
) -> DesignEstimate:
    """Estimate ``g`` at ``folding`` (missing nodes: pe = simd = 1) and clock period ``clock_ns``.

    With a ``device``, ``system_totals`` add its platform shell (:func:`hls.devices.shell_overhead`), memories
    may use URAM where the part has it, and the result reports utilization and fit. ``forward``: see
    :meth:`GraphModel.estimate`.
    """
    return GraphModel(g, config_for(device, cfg)).estimate(folding, clock_ns, device, forward=forward)
