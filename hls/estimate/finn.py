"""FINN's own analytical estimate of a hardware graph, for side-by-side comparison with ours.

Formulas as in finn-plus 1.6.1 / upstream FINN (docs/estimation.md), with the settings that match a
design whose weights are compiled into the layer (BNN-PYNQ, our HLS project): MVAU
``mem_mode="internal_embedded"``, ``resType="lut"``, ``ram_style_thresholds="auto"`` (no threshold terms); HLS
sliding-window generator with ``ram_style="distributed"``; Thresholding with distributed thresholds. FINN
estimates no FFs and gives 0 for pools, adds, forks, concat, label select and for node types it does not have
(PReLU, DynamicSign/PReLU, input quantizer) -- those rows are marked ``finn_has_model=False``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hls.estimate.memory import finn_bram18_ladder
from hls.estimate.records import Resources
from hls.folding import MATRIX_TYPES, Fold, channels, matrix_dims
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Fixed

C0, C1 = 300, 1.1  # FINN-R (arXiv 1809.04570), finn hls/matrixvectoractivation_hls.py lut_estimation


@dataclass(frozen=True)
class FinnNodeEstimate:
    name: str
    op_type: str
    resources: Resources
    finn_has_model: bool


@dataclass(frozen=True)
class FinnEstimate:
    nodes: list[FinnNodeEstimate]

    @property
    def totals(self) -> Resources:
        return Resources.total(n.resources for n in self.nodes)

    @property
    def matrix_totals(self) -> Resources:
        return Resources.total(
            n.resources for n in self.nodes if n.op_type in {c.op_type for c in MATRIX_TYPES}
        )


def finn_mvau(mw: int, mh: int, pe: int, simd: int, w: int, a: int, signed_in: bool) -> Resources:
    """finn-plus MVAU_hls ``lut_estimation`` / ``bram_estimation`` / ``dsp_estimation`` (internal_embedded,
    resType lut)."""
    wmem = mw * mh // (pe * simd)
    c2 = pe * simd * w * math.ceil(wmem / 64) if wmem <= 128 else 0
    mult = simd * (2 * math.ceil((w + a) / 6) - 1) * (w + a)
    addertree = (w + a) * (2 * simd - 1)
    alpha = math.log2(mw) + w + a - 1 - int(signed_in)
    acc = math.ceil(alpha + math.log2(1 + 2.0**-alpha) + 1)
    lut = int(C0 + C1 * pe * (mult + addertree + acc) + c2)
    bram = 0 if wmem <= 128 else finn_bram18_ladder(wmem, pe * simd * w)
    return Resources(lut=lut, bram18=bram)


def finn_swu(k: int, stride: int, ifm_dim: int, c: int, simd: int, a: int) -> Resources:
    """Upstream HLS ConvolutionInputGenerator, ``ram_style="distributed"``: ``LUT = 300 + (k + stride) * SIMD
    * A
    * ceil(IFMDim * C / SIMD / 64)``, no BRAM."""
    return Resources(lut=300 + (k + stride) * simd * a * math.ceil(ifm_dim * c / simd / 64))


def finn_thresholding(c: int, pe: int, a: int, steps: int) -> Resources:
    """finn-plus Thresholding_hls, distributed thresholds: ``LUT = A*PE + PE*A*steps*ceil(TMEM/64)``."""
    tmem = c // pe
    mem = pe * a * steps * math.ceil(tmem / 64) if tmem > 1 else 0
    return Resources(lut=a * pe + mem)


def _finn_node(g: HwGraph, n: N.Node, f: Fold) -> tuple[Resources, bool]:
    if isinstance(n, MATRIX_TYPES):
        mh, mw, _ = matrix_dims(g, n)
        dt = g.spec(n.inputs[0]).dtype
        a = dt.bits
        signed_in = isinstance(dt, Fixed) and dt.signed
        w = 1 if isinstance(n, (N.XnorConv, N.XnorDense)) else n.w_bits
        r = finn_mvau(mw, mh, f.pe, f.simd, w, a, signed_in)
        if isinstance(n, (N.XnorConv, N.FixedConv)) and (n.kernel != (1, 1) or n.stride != (1, 1)):
            win = n.window(g.spec(n.inputs[0]).shape)
            r = r + finn_swu(win.kh, win.sh, win.pw, win.c, f.simd, a)
        return r, True
    if isinstance(n, N.SlidingWindow):
        win = n.window(g.spec(n.inputs[0]).shape)
        return finn_swu(win.kh, win.sh, win.pw, win.c, f.pe, g.spec(n.inputs[0]).dtype.bits), True
    if isinstance(n, N.Sign):
        return finn_thresholding(channels(g, n), f.pe, g.spec(n.inputs[0]).dtype.bits, 1), True
    if isinstance(n, N.MultiThreshold):
        return finn_thresholding(
            channels(g, n), f.pe, g.spec(n.inputs[0]).dtype.bits, int(n.thr.shape[1])
        ), True
    # StreamingMaxPool, Pool, GlobalAccPool, AddStreams, DuplicateStreams, StreamingConcat, LabelSelect: FINN
    # returns 0; PReLU, DynamicSign/PReLU, InputQuant, Requant have no FINN HLS op here
    has = isinstance(
        n, (N.MaxPool, N.AvgPool, N.GlobalPool, N.Add, N.Duplicate, N.Concat, N.LabelSelect, N.Flatten)
    )
    return Resources(), has


def finn_reference_estimate(graph: HwGraph, folding: dict[str, Fold] | None = None) -> FinnEstimate:
    """FINN's analytical resources per node of ``graph`` at ``folding`` (cycles are the same model as ours,
    :mod:`hls.cycles`). Binary tensors count as FINN BINARY (unsigned {0,1}) inputs."""
    folding = folding or {}
    out = []
    for n in graph.nodes:
        r, has = _finn_node(graph, n, folding.get(n.name, Fold()))
        out.append(FinnNodeEstimate(n.name, n.op_type, r, has))
    return FinnEstimate(out)


__all__ = ["FinnEstimate", "FinnNodeEstimate", "finn_mvau", "finn_reference_estimate"]
