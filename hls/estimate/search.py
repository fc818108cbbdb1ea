"""Folding search: pick PE/SIMD per node for a target frame rate, or the fastest folding that fits a part.

FINN ``SetFolding`` style (finn/transformation/fpgadataflow/set_folding.py, docs/estimation.md):

* matrix units start at PE = SIMD = 1; SIMD walks up the divisors of its dimension (``Cin`` for convs, ``MW``
  for dense) until the node meets the target, stopping before the weight word ``SIMD * W`` exceeds
  ``max_weight_bits`` (FINN ``mvau_wwidth_max`` = 36) or the input stream exceeds ``MAX_STREAM_BITS``; then PE
  walks up the divisors of ``MH``;
* every other node gets the smallest PE (a divisor of its channels) that meets the target; a DyBNN dynamic unit
  walks up PE trying, at each PE, one frame buffer and then two (ping-pong, :func:`hls.cycles.dynamic_cycles`):
  two frames of memory buy the ``hyper + min(in, out)`` cycles that one frame costs, at the PE where one buffer
  is not enough (double where it helps throughput);
* a DynamicSign with a frame buffer may store levels in it (``buffer_storage: levels``, :mod:`hls.levels`); the
  cycles are the same. Where its frame feeds no residual shortcut it stores them where its estimate is smaller:
  fewer memory blocks (URAM counted as 16 BRAM18), or as many and fewer LUTs. Where it does
  (:func:`hls.folding.forwarding_sites`), values let the unit write the shortcut from its frame buffer
  (:func:`hls.timing.forward_frames`: the shortcut FIFO covers the convolution's delay) and levels fork the
  shortcut in front of the unit (its FIFO holds about a frame, at the depth the timing model gives). The search
  estimates the whole design with every such site on values and with every one on levels, takes per site the
  smaller of its unit plus its shortcut FIFOs (and fork) in the two, and keeps, of the three designs (all values,
  all levels, the per-site choice), the one with the least memory, then LUTs;
* a second pass relaxes the target to the bottleneck achieved by the first (FINN's two-pass relaxation) so the
  pipeline is balanced and no node is faster than it needs to be.

``--fit PART`` binary-searches the target cycles: the smallest target whose folding's system estimate
(accelerator + shell) fits the part under ``limit`` utilization of every resource. At each target, where the
ping-pong frame buffers do not fit the part, the dynamic units with the largest frame buffers fall back to one
buffer (and the PE that then meets the target), as few as needed (a bisection over how many): double buffers
where they fit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from hls.devices import Device, resolve_part
from hls.estimate.pipeline import GraphModel, config_for
from hls.estimate.records import Resources
from hls.estimate.registry import EstimateConfig, bits_of
from hls.folding import (
    BUFFERS,
    MATRIX_TYPES,
    MAX_STREAM_BITS,
    Fold,
    FoldingError,
    buffered,
    channels,
    matrix_dims,
    simd_dim,
)
from hls.folding import divisors as _divisors
from hls.folding import validate as validate_folding
from hwsim import nodes as N
from hwsim.graph import HwGraph

#: FINN's default cap on the MVAU weight word ``SIMD * W`` (build_dataflow_config.py mvau_wwidth_max = 36)
MAX_WEIGHT_BITS = 36


@lru_cache(maxsize=4096)
def divisors(n: int) -> tuple[int, ...]:
    """:func:`hls.folding.divisors`, cached (the search asks for the same few numbers many times)."""
    return tuple(_divisors(n))


class FitError(ValueError):
    """No folding of the graph fits the part."""


def _weight_bits(node: N.Node) -> int:
    return 1 if isinstance(node, (N.XnorConv, N.XnorDense)) else node.w_bits


def _fold_node(
    m: GraphModel,
    node: N.Node,
    target: int,
    max_weight_bits: int,
    fixed: dict[str, Fold],
    single: frozenset[str] = frozenset(),
    levels: bool = True,
) -> Fold:
    if node.name in fixed:
        return fixed[node.name]
    g = m.g
    if isinstance(node, MATRIX_TYPES):
        mh, _, _ = matrix_dims(g, node)
        in_bits, w = bits_of(g, node.inputs[0]), _weight_bits(node)
        out_bits = bits_of(g, node.outputs[0])
        simd = 1
        for s in divisors(simd_dim(g, node)):
            if s > 1 and (s * w > max_weight_bits or s * in_bits > MAX_STREAM_BITS):
                break
            simd = s
            if m.cycles(node, Fold(1, s)) <= target:
                break
        pe = 1
        for p in divisors(mh):
            if p > 1 and p * out_bits > MAX_STREAM_BITS:
                break
            pe = p
            if m.cycles(node, Fold(p, simd)) <= target:
                break
        return Fold(pe, simd)
    bits = bits_of(g, node.inputs[0])
    options = BUFFERS if buffered(node) and node.name not in single else (1,)
    best = Fold()
    for p in divisors(channels(g, node)):
        if p > 1 and p * bits > MAX_STREAM_BITS:
            break
        for b in options:
            best = Fold(p, 1, b)
            if m.cycles(node, best) <= target:
                return _storage(m, node, best, levels)
    return _storage(m, node, best, levels)


def _memory_key(m: GraphModel, node: N.Node, fold: Fold) -> tuple[int, int]:
    """(memory blocks, LUT) of a node: URAM counted as 16 BRAM18 (288 Kb against 18 Kb), then LUTs."""
    r = m.node(node, fold).resources
    return 16 * math.ceil(r.uram) + math.ceil(r.bram18), math.ceil(r.lut)


def _storage(m: GraphModel, node: N.Node, fold: Fold, levels: bool) -> Fold:
    """``buffer_storage: levels`` where it is allowed (:func:`hls.folding.level_sites`) and smaller: fewer memory
    blocks, or as many and fewer LUTs (the cycles are the same); else the values."""
    if not levels or node.name not in m.level_sites or node.name in m.forwarding_sites:
        return fold  # a forwarding site: decided with its shortcut, for the whole design (_fork_for_levels)
    lv = replace(fold, storage="levels")
    return lv if _memory_key(m, node, lv) < _memory_key(m, node, fold) else fold


def fold_for_target(
    m: GraphModel,
    target_cycles: int,
    *,
    max_weight_bits: int = MAX_WEIGHT_BITS,
    relax: bool = True,
    fixed: dict[str, Fold] | None = None,
    single: frozenset[str] = frozenset(),
    levels: bool = True,
) -> dict[str, Fold]:
    """Folding of ``m.g`` meeting ``target_cycles`` per frame where possible (see module docstring); nodes in
    ``fixed`` keep their folding (used to complete a published matrix-unit folding); the dynamic units named in
    ``single`` keep one frame buffer; ``levels=False``: every frame buffer stores values (a backend without
    level storage, ``dybnn rtl``)."""
    fixed = fixed or {}
    target = max(1, int(target_cycles))
    fold = {n.name: _fold_node(m, n, target, max_weight_bits, fixed, single, levels) for n in m.g.nodes}
    if relax:
        achieved = max(m.cycles(n, fold[n.name]) for n in m.g.nodes)
        if achieved > target:
            fold = {
                n.name: _fold_node(m, n, achieved, max_weight_bits, fixed, single, levels) for n in m.g.nodes
            }
    if levels:
        fold = _fork_for_levels(m, fold, fixed)
    return fold


def _key(r) -> tuple[int, int]:
    """(memory blocks, LUT) of resources: URAM counted as 16 BRAM18, then LUTs."""
    return 16 * math.ceil(r.uram) + math.ceil(r.bram18), math.ceil(r.lut)


def _site_cost(est, sg: HwGraph, unit: str) -> tuple[int, int]:
    """(memory blocks, LUT) a forwarding site costs in the design ``est`` of stream graph ``sg``: the unit, and
    the residual shortcut's copies of its frame -- written by the unit (forwarded) or by the fork in front of it
    (then the fork too) -- with their FIFOs into each reader and, behind a reader that is not the join (a strided
    block's pool), into the join."""
    u = sg.node(unit)
    nodes = {e.name: e for e in est.nodes}
    tot = nodes[unit].resources
    if len(u.outputs) > 1:  # forwarded: the shortcut copies are the unit's outputs 2, 3, ...
        src, main = unit, {c.name for c in sg.consumers(u.outputs[0])}
    else:  # forked in front of the unit
        src, main = sg.producer(u.inputs[0]).name, {unit}
        tot = tot + nodes[src].resources
    return _key(tot + shortcut_fifos(est, sg, src, main))


def shortcut_fifos(est, sg: HwGraph, producer: str, main: set[str]) -> Resources:
    """The resources of the FIFOs of the shortcut copies ``producer`` writes (the readers not in ``main``): into
    each reader, and after a reader that is not the join itself (a strided block's pool) into the join."""
    from hls.timing import MULTI_INPUT

    readers = {x.consumer for x in est.fifos if x.producer == producer and x.consumer not in main}
    names = {n.name for n in sg.nodes}
    tot = Resources()
    for x in est.fifos:
        if x.producer == producer and x.consumer in readers:
            tot = tot + x.resources
        elif (
            x.producer in readers and x.producer in names and not isinstance(sg.node(x.producer), MULTI_INPUT)
        ):
            tot = tot + x.resources
    return tot


def _fork_for_levels(m: GraphModel, fold: dict[str, Fold], fixed: dict[str, Fold]) -> dict[str, Fold]:
    """At the DynamicSign sites that forward their frame to a residual shortcut when they store values: values and
    forwarding, or levels and the shortcut forked in front of the unit, per site by its memory in the whole design
    (see the module docstring); the design with the least memory, then LUTs, of all values, all levels and the
    per-site choice."""
    from hls.timing import stream_graph

    sites = sorted(k for k in m.forwarding_sites & m.level_sites if k not in fixed)
    if not sites:
        return fold
    lv = {**fold, **{k: replace(fold.get(k, Fold()), storage="levels") for k in sites}}
    ea, eb = m.estimate(fold), m.estimate(lv)
    sa, sb = stream_graph(m.g, fold).graph, stream_graph(m.g, lv).graph
    pick = [k for k in sites if _site_cost(eb, sb, k) < _site_cost(ea, sa, k)]
    if not pick:
        return fold
    mixed = {**fold, **{k: lv[k] for k in pick}}
    cands = [(_key(ea.totals), 0, fold), (_key(eb.totals), 1, lv)]
    if len(pick) < len(sites):
        cands.append((_key(m.estimate(mixed).totals), 2, mixed))
    return min(cands, key=lambda c: (c[0], c[1]))[2]


def complete_folding(
    g: HwGraph, partial: dict[str, Fold], target_cycles: int | None = None, cfg: EstimateConfig | None = None
) -> dict[str, Fold]:
    """Keep ``partial`` and give every other node the smallest PE meeting ``target_cycles`` (default: the
    slowest node of ``partial``)."""
    m = GraphModel(g, cfg)
    g = m.g  # the accelerator part (a float tail runs on the host)
    if target_cycles is None:
        target_cycles = max(m.cycles(g.node(k), f) for k, f in partial.items())
    fold = fold_for_target(m, target_cycles, relax=False, fixed=partial)
    validate_folding(g, fold)
    return fold


def _fits(m: GraphModel, fold: dict[str, Fold], clock_ns: float, device: Device, limit: float) -> bool:
    est = m.estimate(fold, clock_ns, device)
    return all(u is None or u <= limit for u in est.utilization().values())


def _frame_bits(g: HwGraph, node: N.Node) -> int:
    n = bits_of(g, node.inputs[0])
    for d in g.spec(node.inputs[0]).shape:
        n *= d
    return n


def _fit_at(
    m: GraphModel,
    target: int,
    clock_ns: float,
    device: Device,
    limit: float,
    max_weight_bits: int,
    levels: bool = True,
) -> dict[str, Fold] | None:
    """The folding for ``target`` that fits ``device``: ping-pong frame buffers where the folding wants them,
    else the fewest dynamic units (largest frame buffers first) back on one buffer; None if none fits."""
    fold = fold_for_target(m, target, max_weight_bits=max_weight_bits, levels=levels)
    if _fits(m, fold, clock_ns, device, limit):
        return fold
    two = sorted(
        (n for n in m.g.nodes if fold[n.name].buffers == 2), key=lambda n: (-_frame_bits(m.g, n), n.name)
    )
    if not two:
        return None

    def with_single(k: int) -> dict[str, Fold]:
        return fold_for_target(
            m,
            target,
            max_weight_bits=max_weight_bits,
            single=frozenset(n.name for n in two[:k]),
            levels=levels,
        )

    if not _fits(m, with_single(len(two)), clock_ns, device, limit):
        return None
    lo, hi = 0, len(two)  # with_single(lo) does not fit, with_single(hi) fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fits(m, with_single(mid), clock_ns, device, limit):
            hi = mid
        else:
            lo = mid
    return with_single(hi)


def folding_search(
    graph: HwGraph,
    clock_ns: float = 10.0,
    target_fps: float | None = None,
    fit: str | Device | None = None,
    *,
    cfg: EstimateConfig | None = None,
    max_weight_bits: int = MAX_WEIGHT_BITS,
    limit: float = 1.0,
    model: GraphModel | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
    levels: bool = True,
) -> dict[str, Fold]:
    """PE/SIMD for every node of ``graph``.

    Args:
        clock_ns: clock period; ``target_fps`` becomes ``target_cycles = int(1e9 / clock_ns / target_fps)``
            (FINN build_dataflow_config.py).
        target_fps: frames per second to reach (the result may be slower if the graph cannot go faster).
        fit: a part (name, alias or :class:`Device`): the fastest folding whose system estimate fits it.
            With both, the folding meets ``target_fps`` if it fits, else the fastest that fits.
        limit: utilization ceiling per resource for ``fit``.
        progress: called as ``progress("folding search", step, total)`` per bisection step of ``fit``.
        levels: let a DynamicSign's frame buffer store levels where allowed and smaller (``buffer_storage``,
            :mod:`hls.levels`); False for a backend that stores values only (``dybnn rtl``).

    Raises:
        ValueError: neither ``target_fps`` nor ``fit`` given, or a non-positive ``target_fps``.
        FitError: not even the fully folded design (PE = SIMD = 1) fits.
    """
    if target_fps is None and fit is None:
        raise ValueError("folding_search needs target_fps or fit")
    if target_fps is not None and target_fps <= 0:
        raise ValueError(f"target_fps must be positive, got {target_fps}")
    device = resolve_part(fit) if isinstance(fit, str) else fit
    m = model or GraphModel(graph, config_for(device, cfg))
    graph = m.g  # the accelerator part (a float tail runs on the host)
    fclk = 1e9 / clock_ns

    def fold(t: int) -> dict[str, Fold]:
        return fold_for_target(m, t, max_weight_bits=max_weight_bits, levels=levels)

    def fit_at(t: int) -> dict[str, Fold] | None:
        return _fit_at(m, t, clock_ns, device, limit, max_weight_bits, levels)

    if device is None:
        out = fold(int(fclk / target_fps))
        validate_folding(graph, out)
        return out

    slowest = max(m.cycles(n, Fold()) for n in graph.nodes)
    lo = max(m.cycles(n, f) for n, f in zip(graph.nodes, fold(1).values(), strict=True))
    hi = slowest
    if target_fps is not None:
        lo = max(lo, int(fclk / target_fps))
    out = fit_at(lo)
    if out is None:
        out = fit_at(hi)
        if out is None:
            raise FitError(
                f"graph {graph.name!r} does not fit {device.family} ({device.part}) even fully folded "
                f"(PE = SIMD = 1); utilization {_util_str(m, fold(hi), clock_ns, device)}"
            )
        # invariant: no folding for lo fits, ``out`` (for hi) fits
        steps = max(1, math.ceil(math.log2(max(2, (hi - lo) / max(1, lo // 1000)))))
        step = 0
        while hi - lo > max(1, lo // 1000):
            if progress is not None:
                progress("folding search", min(step, steps - 1), steps)
            step += 1
            mid = (lo + hi) // 2
            got = fit_at(mid)
            if got is not None:
                hi, out = mid, got
            else:
                lo = mid
        if progress is not None:
            progress("folding search", steps, steps)
    validate_folding(graph, out)
    return out


def _util_str(m: GraphModel, fold: dict[str, Fold], clock_ns: float, device: Device) -> str:
    u = m.estimate(fold, clock_ns, device).utilization()
    return ", ".join(f"{k} {v:.0%}" for k, v in u.items() if v is not None)


def achieved_cycles(g: HwGraph, folding: dict[str, Fold]) -> int:
    m = GraphModel(g)
    return max(m.cycles(n, folding.get(n.name, Fold())) for n in g.nodes)


__all__ = [
    "MAX_WEIGHT_BITS",
    "FitError",
    "FoldingError",
    "achieved_cycles",
    "complete_folding",
    "fold_for_target",
    "folding_search",
]
