"""Folding: how many processing elements (PE) and SIMD lanes each node of a hardware graph uses.

File format (JSON): ``{"node_name": {"pe": P, "simd": S}, ...}`` (a DynamicSign / DynamicPReLU may also give
``"buffers": 1 | 2``, a DynamicSign ``"buffer_storage": "values" | "levels"``, see below), or
``{"matmul_layers": [{"pe": P, "simd": S},
...]}`` applied in topological order to the nodes that hold weight matrices (XnorConv, XnorDense, FixedConv,
FixedDense). Both forms may be combined; explicit node names win. Missing nodes get ``pe = simd = 1``.

Dimensions folded (FINN conventions):

* matrix units: ``MH = Cout`` is split over ``pe``; ``MW = KH*KW*Cin`` (conv) or ``Cin`` (dense) over ``simd``;
  a conv's ``simd`` must divide ``Cin`` so that each SIMD word lies within one pixel of the sliding window.
* streaming channel-wise nodes (Sign, DynamicSign, PReLU, DynamicPReLU, Add, pools, Requant, MultiThreshold,
  Duplicate, InputQuant, SlidingWindow, Concat, LabelSelect): ``pe`` channels per cycle, ``pe`` divides C; ``simd``
  must be 1 (SlidingWindow: ``pe`` is its SIMD width).
* DyBNN dynamic units (DynamicSign, DynamicPReLU) also choose their frame buffer: ``buffers = 1`` holds one
  frame (the next frame streams in behind the frame streaming out, then waits for the hyper function: cycles
  ``max(in, out) + hyper``), ``buffers = 2`` two (ping-pong: frame f streams in while frame f-1 streams out
  and the hyper function runs between them: cycles ``max(in, hyper, out)``) at twice the frame memory
  (:mod:`hls.cycles`). Default 1; ``dybnn estimate --folding auto`` picks per site (:mod:`hls.estimate.search`).
* a DynamicSign with a frame buffer also chooses what the buffer holds: ``buffer_storage = "values"`` (default)
  the input values, ``"levels"`` for each value its level, how many of the ``2^b`` dynamic thresholds it reaches,
  in ``ceil(log2(2^b + 1))`` bits (:mod:`hls.levels`; the same cycles, the same output bits). At a site whose
  frame also feeds a residual shortcut (:func:`forwarding_sites`), ``values`` lets the unit write the shortcut
  from its frame buffer (:func:`hls.timing.forward_frames`) and ``levels`` keeps the shortcut forked in front of
  the unit, with its own frame-deep FIFO. Levels are refused at a unit that reads a hyper context (no frame
  buffer) and on any other node type; the folding search picks levels where the whole design's memory is smaller.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwsim import nodes as N
from hwsim.graph import HwGraph

MATRIX_TYPES = (N.XnorConv, N.XnorDense, N.FixedConv, N.FixedDense)
#: node types with a frame buffer (the ``buffers`` field), unless :func:`buffered` says otherwise
BUFFERED_TYPES = (N.DynamicSign, N.DynamicPReLU, N.HyperContext)


def buffered(node: N.Node) -> bool:
    """True for a node with a frame buffer (the ``buffers`` field applies): HyperContext, and a dynamic unit whose
    hyper function pools its own input (one with a context hyper function streams, ``hyper_context: stem``)."""
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)):
        return not node.hyper.context
    return isinstance(node, BUFFERED_TYPES)


#: valid values of ``buffers``
BUFFERS = (1, 2)
#: valid values of ``buffer_storage`` (a DynamicSign's frame buffer: the input values, or their levels)
STORAGE = ("values", "levels")

#: widest stream an HLS ``ap_uint`` may have (Vitis HLS AP_INT_MAX_W default; FINN MAX_ALLOWED_AP_INT_W = 8191)
MAX_STREAM_BITS = 8191


class FoldingError(ValueError):
    """A folding does not fit the graph; the message names the node and the valid values."""


@dataclass(frozen=True)
class Fold:
    pe: int = 1
    simd: int = 1
    #: frames the frame buffer of a dynamic unit holds (:data:`BUFFERS`); 1 for every other node
    buffers: int = 1
    #: what a DynamicSign's frame buffer holds (:data:`STORAGE`, :mod:`hls.levels`); "values" for every other node
    storage: str = "values"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def matrix_dims(g: HwGraph, node: N.Node) -> tuple[int, int, int]:
    """``(MH, MW, N)`` of a matrix unit: output channels, dot-product length, vectors per frame."""
    out = g.spec(node.outputs[0]).shape
    if isinstance(node, (N.XnorConv, N.FixedConv)):
        kh, kw = node.kernel
        return node.cout, kh * kw * node.cin, out[0] * out[1]
    n = 1
    for d in out[:-1]:
        n *= d
    return node.cout, node.cin, n


def channels(g: HwGraph, node: N.Node) -> int:
    """The channel count that ``pe`` divides for a streaming node (its first input's last axis)."""
    if isinstance(node, N.LabelSelect):
        return g.spec(node.inputs[0]).shape[-1]
    if isinstance(node, (N.DynamicSign, N.DynamicPReLU)) and node.hyper.context:
        from math import gcd  # pe also folds the context vector (the hyper function's C0 inputs)

        return gcd(g.spec(node.inputs[0]).shape[-1], int(node.hyper.w1.shape[1]))
    if isinstance(node, N.Concat):
        from math import gcd

        c = 0
        for t in node.inputs:
            c = gcd(c, g.spec(t).shape[-1])
        return c
    return g.spec(node.inputs[0]).shape[-1]


def simd_dim(g: HwGraph, node: N.Node) -> int:
    """The dimension ``simd`` must divide for a matrix unit (Cin for convs, MW for dense)."""
    if isinstance(node, (N.XnorConv, N.FixedConv)):
        return node.cin
    return node.cin


def validate(g: HwGraph, folding: dict[str, Fold]) -> None:
    """Raise :class:`FoldingError` for unknown nodes, factors that do not divide, or streams that are too wide."""
    names = {n.name for n in g.nodes}
    for k in folding:
        if k not in names:
            raise FoldingError(f"folding names node {k!r}, which is not in graph {g.name!r}")
    for node in g.nodes:
        f = folding.get(node.name, Fold())
        if f.pe < 1 or f.simd < 1:
            raise FoldingError(f"node {node.name!r}: pe and simd must be >= 1, got pe={f.pe} simd={f.simd}")
        if buffered(node):
            if f.buffers not in BUFFERS:
                raise FoldingError(
                    f"node {node.name!r} ({node.op_type}): buffers must be 1 or 2 (frames in its frame buffer), "
                    f"got {f.buffers!r}"
                )
        elif f.buffers != 1:
            raise FoldingError(
                f"node {node.name!r} ({node.op_type}) has no frame buffer; 'buffers' applies to "
                f"{', '.join(t.__name__ for t in BUFFERED_TYPES)} only (not to a dynamic unit that reads a "
                "hyper context)"
            )
        if f.storage != "values":
            _check_levels(node, f)
        if isinstance(node, MATRIX_TYPES):
            mh, mw, _ = matrix_dims(g, node)
            if mh % f.pe:
                raise FoldingError(
                    f"node {node.name!r}: pe={f.pe} does not divide {mh} output channels; valid: {divisors(mh)}"
                )
            sd = simd_dim(g, node)
            if sd % f.simd:
                raise FoldingError(
                    f"node {node.name!r}: simd={f.simd} does not divide {sd} input channels; valid: {divisors(sd)}"
                )
            in_bits = g.spec(node.inputs[0]).dtype.bits
            if f.simd * in_bits > MAX_STREAM_BITS:
                raise FoldingError(
                    f"node {node.name!r}: input stream of simd*bits = {f.simd * in_bits} bits exceeds the HLS limit {MAX_STREAM_BITS}"
                )
        else:
            if f.simd != 1:
                raise FoldingError(f"node {node.name!r} ({node.op_type}) has no SIMD dimension; use simd=1")
            c = channels(g, node)
            if c % f.pe:
                raise FoldingError(
                    f"node {node.name!r}: pe={f.pe} does not divide {c} channels; valid: {divisors(c)}"
                )
            bits = g.spec(node.inputs[0]).dtype.bits
            if f.pe * bits > MAX_STREAM_BITS:
                raise FoldingError(
                    f"node {node.name!r}: stream of pe*bits = {f.pe * bits} bits exceeds the HLS limit {MAX_STREAM_BITS}"
                )


def forwarding_sites(g: HwGraph) -> frozenset[str]:
    """The dynamic units of ``g`` that write a residual shortcut from their frame buffer in the design ``dybnn hls``
    / ``dybnn rtl`` write when they store values (:func:`hls.timing.forward_frames` on the stream graph); storing levels
    (``buffer_storage: levels``) forks the shortcut in front of the unit instead."""
    from hls.timing import stream_graph  # hls.timing imports this module

    dyn = {n.name for n in g.nodes if isinstance(n, (N.DynamicSign, N.DynamicPReLU))}
    if not dyn:
        return frozenset()
    return frozenset(n.name for n in stream_graph(g, {}).graph.nodes if n.name in dyn and len(n.outputs) > 1)


def level_sites(g: HwGraph) -> frozenset[str]:
    """The nodes of ``g`` whose frame buffer may store levels (``buffer_storage: levels``): every DynamicSign with a
    frame buffer (:func:`buffered`). At one of :func:`forwarding_sites` levels fork the shortcut in front of the
    unit instead of forwarding it from the frame buffer (:func:`hls.timing.forward_frames`)."""
    return frozenset(n.name for n in g.nodes if isinstance(n, N.DynamicSign) and buffered(n))


def _check_levels(node: N.Node, f: Fold) -> None:
    where = f"node {node.name!r} ({node.op_type})"
    if f.storage not in STORAGE:
        raise FoldingError(f"{where}: buffer_storage must be 'values' or 'levels', got {f.storage!r}")
    if not isinstance(node, N.DynamicSign):
        raise FoldingError(
            f"{where}: buffer_storage 'levels' applies to a DynamicSign's frame buffer only (levels of its "
            "dynamic thresholds); use 'values'"
        )
    if not buffered(node):
        raise FoldingError(
            f"{where}: buffer_storage 'levels' needs a frame buffer, and this unit reads a hyper context "
            "(hyper_context: stem) and has none; use 'values'"
        )


def parse(g: HwGraph, doc: dict[str, Any], source: str = "folding") -> dict[str, Fold]:
    """Parse a folding document (see module docstring) for ``g`` and validate it."""
    if not isinstance(doc, dict):
        raise FoldingError(f"{source}: expected a JSON object mapping node names to {{'pe': P, 'simd': S}}")
    out: dict[str, Fold] = {}
    layers = doc.get("matmul_layers")
    if layers is not None:
        mats = [n for n in g.nodes if isinstance(n, MATRIX_TYPES)]
        if not isinstance(layers, list) or len(layers) != len(mats):
            raise FoldingError(
                f"{source}: matmul_layers has {len(layers) if isinstance(layers, list) else 'no list of'} entries, "
                f"the graph has {len(mats)} weight-matrix nodes ({', '.join(n.name for n in mats)})"
            )
        for n, e in zip(mats, layers, strict=True):
            out[n.name] = _fold(e, f"{source}: matmul_layers entry for {n.name!r}")
    for k, v in doc.items():
        if k == "matmul_layers":
            continue
        if k.startswith("_"):  # comments / metadata
            continue
        out[k] = _fold(v, f"{source}: node {k!r}")
    try:
        validate(g, out)
    except FoldingError as e:
        raise FoldingError(f"{source}: {e}") from None
    return out


def _fold(v: Any, where: str) -> Fold:
    if not isinstance(v, dict) or not set(v) <= {"pe", "simd", "buffers", "buffer_storage"}:
        raise FoldingError(
            f"{where}: expected {{'pe': int, 'simd': int}} (and 'buffers': 1 | 2 for a dynamic unit, "
            f"'buffer_storage': 'values' | 'levels' for a DynamicSign), got {v!r}"
        )
    pe, simd, buffers = v.get("pe", 1), v.get("simd", 1), v.get("buffers", 1)
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (pe, simd, buffers)):
        raise FoldingError(f"{where}: pe, simd and buffers must be integers, got {v!r}")
    storage = v.get("buffer_storage", "values")
    if storage not in STORAGE:
        raise FoldingError(f"{where}: buffer_storage must be 'values' or 'levels', got {storage!r}")
    return Fold(pe, simd, buffers, storage)


def load(g: HwGraph, path: str | os.PathLike) -> dict[str, Fold]:
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except FileNotFoundError:
        raise FoldingError(f"{p}: folding file not found") from None
    except json.JSONDecodeError as e:
        raise FoldingError(f"{p}: not valid JSON ({e})") from None
    return parse(g, doc, str(p))


def to_json(folding: dict[str, Fold]) -> dict[str, dict[str, int | str]]:
    """The file format of :func:`parse` (``buffers`` only where it is not 1, ``buffer_storage`` only where it is
    not "values")."""
    return {
        k: {
            "pe": f.pe,
            "simd": f.simd,
            **({"buffers": f.buffers} if f.buffers != 1 else {}),
            **({"buffer_storage": f.storage} if f.storage != "values" else {}),
        }
        for k, f in folding.items()
    }
