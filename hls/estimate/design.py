"""Whole-design estimate: per-node estimates, stream FIFOs, pipeline schedule, totals, fit on a device.

Pipeline schedule (one frame, every node a streaming process of a ``#pragma HLS DATAFLOW`` top):

* ``t_in(n)``: when the first word of ``n``'s last-arriving input appears (``max`` over producers of
  ``t_out``);
* ``t_out(n) = max(t_in + fill, t_in + need * (done_in - t_in))``: the first output needs ``fill`` cycles of
  the node's own work and a fraction ``need`` of the input frame (a window's first rows; 1 for frame buffers,
  so a DynamicSign adds a whole frame);
* ``done(n) = max(t_in + cycles, done_in + tail)``: the last output comes no earlier than the node's own
  cycles per frame after its start, nor earlier than ``tail`` cycles after its last input word.

End-to-end latency is ``max done`` over the graph outputs: the longest path through the pipeline. FINN's
``critical_path_cycles`` (sum of cycles along the path, "very pessimistic, assumes no overlap") is reported
beside it. Frames per second = ``fclk / max cycles`` (FINN ``dataflow_performance``).

Shortcut FIFOs: a node with several inputs (Add, Concat) consumes them in lockstep, so a branch whose first
word arrives earlier must buffer what it produces until the slowest branch starts and keeps up: the depth is
the largest backlog ``produced(t) - consumed(t)`` of that branch, in the consumer's stream words (at most a
frame).
"""

from __future__ import annotations

import math
from collections import defaultdict
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
from hls.estimate.registry import ESTIMATORS, EstimateConfig, bits_of, elems
from hls.folding import MATRIX_TYPES, Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part


def in_width(g: HwGraph, node: N.Node, fold: Fold, tensor: str) -> int:
    """Bits per cycle a node reads from ``tensor``."""
    lanes = fold.simd if isinstance(node, MATRIX_TYPES) else fold.pe
    return lanes * bits_of(g, tensor)


def out_width(g: HwGraph, node: N.Node, fold: Fold, tensor: str) -> int:
    """Bits per cycle a node writes to ``tensor``."""
    if isinstance(node, N.LabelSelect):
        return bits_of(g, tensor)
    return fold.pe * bits_of(g, tensor)


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
        g = accelerator_part(g)  # a float tail runs on the host: no hardware
        self.g = g
        self.cfg = cfg or EstimateConfig()
        self.producer: dict[str, N.Node] = {t: n for n in g.nodes for t in n.outputs}
        self.consumers: dict[str, list[N.Node]] = defaultdict(list)
        for n in g.nodes:
            for t in n.inputs:
                self.consumers[t].append(n)
        self._est: dict[tuple[str, int, int], NodeEstimate] = {}
        self._cyc: dict[tuple[str, int, int], int] = {}
        for n in g.nodes:
            if type(n) not in ESTIMATORS:
                raise NotImplementedError(f"no estimator for node type {n.op_type} (node {n.name!r})")

    def cycles(self, node: N.Node, fold: Fold) -> int:
        key = (node.name, fold.pe, fold.simd)
        c = self._cyc.get(key)
        if c is None:
            c = self._cyc[key] = node_cycles(self.g, node, fold)
        return c

    def node(self, node: N.Node, fold: Fold) -> NodeEstimate:
        key = (node.name, fold.pe, fold.simd)
        e = self._est.get(key)
        if e is None:
            e = self._est[key] = ESTIMATORS[type(node)](self.g, node, fold, self.cfg)
        return e

    # ------------------------------------------------------------------------------------------ schedule
    def schedule(
        self, ests: dict[str, NodeEstimate]
    ) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
        """(t_in, t_out, done) per node name (see module docstring)."""
        t_in: dict[str, float] = {}
        t_out: dict[str, float] = {}
        done: dict[str, float] = {}
        for n in self.g.nodes:
            e = ests[n.name]
            ti, di = 0.0, 0.0
            for t in n.inputs:
                p = self.producer.get(t)
                if p is not None:
                    ti = max(ti, t_out[p.name])
                    di = max(di, done[p.name])
            t_in[n.name] = ti
            t_out[n.name] = max(ti + e.fill, ti + e.need * (di - ti))
            done[n.name] = max(ti + e.cycles, di + e.tail, t_out[n.name])
        return t_in, t_out, done

    def shortcut_depths(
        self, folding: dict[str, Fold], t_out: dict[str, float], done: dict[str, float]
    ) -> dict[str, dict[str, int]]:
        """FIFO depth (consumer stream words) per input of every multi-input node."""
        out: dict[str, dict[str, int]] = {}
        for n in self.g.nodes:
            prods = [self.producer.get(t) for t in n.inputs]
            if len(n.inputs) < 2 or any(p is None for p in prods):
                continue
            f = folding.get(n.name, Fold())
            start = max(t_out[p.name] for p in prods)
            # the consumer advances at the pace of its slowest input (or its own cycles)
            span_c = max([self.cycles(n, f)] + [done[p.name] - start for p in prods])
            depths: dict[str, int] = {}
            for t, p in zip(n.inputs, prods, strict=True):
                words = max(1, elems(self.g, t) // f.pe)
                ts = t_out[p.name]
                span_p = max(1.0, done[p.name] - ts)
                rp, rc = words / span_p, words / max(1.0, span_c)

                def backlog(time: float, ts=ts, rp=rp, rc=rc, words=words, start=start) -> float:
                    made = min(words, max(0.0, rp * (time - ts)))
                    used = min(words, max(0.0, rc * (time - start)))
                    return made - used

                peak = max(backlog(start), backlog(ts + words / rp))
                depths[t] = int(min(words, math.ceil(peak))) + 2
            out[n.name] = depths
        return out

    # ------------------------------------------------------------------------------------------ design
    def estimate(
        self, folding: dict[str, Fold] | None = None, clock_ns: float = 10.0, device: Device | None = None
    ) -> DesignEstimate:
        folding = folding or {}
        g = self.g
        ests = {n.name: self.node(n, folding.get(n.name, Fold())) for n in g.nodes}
        _, t_out, done = self.schedule(ests)
        shortcut = self.shortcut_depths(folding, t_out, done)
        fifos = self.fifos(folding, shortcut)
        nodes = [ests[n.name] for n in g.nodes]
        totals = Resources.total([e.resources for e in nodes] + [f.resources for f in fifos])
        bott = max(nodes, key=lambda e: e.cycles)
        outs = [self.producer[t].name for t in g.outputs if t in self.producer]
        latency = max((done[o] for o in outs), default=0.0)
        system, source = totals, ""
        if device is not None:
            sh = shell_overhead(device)
            system = totals + Resources(lut=sh.lut, ff=sh.ff, bram18=sh.bram18, uram=sh.uram, dsp=sh.dsp)
            source = sh.source
        return DesignEstimate(
            graph=g.name,
            clock_ns=clock_ns,
            nodes=nodes,
            fifos=fifos,
            totals=totals,
            system_totals=system,
            bottleneck=bott.name,
            max_cycles=bott.cycles,
            latency_cycles=int(math.ceil(latency)),
            shortcut_fifos=shortcut,
            device=device,
            shell_source=source,
        )

    def fifos(self, folding: dict[str, Fold], shortcut: dict[str, dict[str, int]]) -> list[FifoEstimate]:
        """Every stream between two nodes (and, with ``io_fifo_depth`` or explicit depths, between the DMA and
        the graph), with a width converter where the producer and consumer widths differ."""
        g, cfg = self.g, self.cfg
        explicit = dict(cfg.fifo_depths)
        out: list[FifoEstimate] = []

        def add(name: str, prod: str, cons: str, depth: int, win: int, wout: int) -> None:
            out.append(
                FifoEstimate(name, prod, cons, depth, wout, _fifo_resources(depth, win, wout, cfg.has_uram))
            )

        for n in g.nodes:
            fc = folding.get(n.name, Fold())
            for t in n.inputs:
                p = self.producer.get(t)
                wout = in_width(g, n, fc, t)
                if p is None:
                    depth = explicit.get(n.name, cfg.io_fifo_depth)
                    if depth:
                        add(f"fifo:input->{n.name}", "input", n.name, depth, cfg.io_width, wout)
                    continue
                win = out_width(g, p, folding.get(p.name, Fold()), t)
                depth = shortcut.get(n.name, {}).get(t, explicit.get(n.name, cfg.stream_depth))
                add(f"fifo:{p.name}->{n.name}", p.name, n.name, depth, win, wout)
        if cfg.io_fifo_depth:
            for t in g.outputs:
                p = self.producer.get(t)
                if p is not None:
                    win = out_width(g, p, folding.get(p.name, Fold()), t)
                    add(f"fifo:{p.name}->output", p.name, "output", cfg.io_fifo_depth, win, cfg.io_width)
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
) -> DesignEstimate:
    """Estimate ``g`` at ``folding`` (missing nodes: pe = simd = 1) and clock period ``clock_ns``.

    With a ``device``, ``system_totals`` add its platform shell (:func:`hls.devices.shell_overhead`), memories
    may use URAM where the part has it, and the result reports utilization and fit.
    """
    return GraphModel(g, config_for(device, cfg)).estimate(folding, clock_ns, device)
