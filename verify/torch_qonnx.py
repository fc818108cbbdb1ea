"""The export's check: PyTorch (Brevitas, ``eval()``) vs QONNX ``execute_onnx`` at every quantizer site.

Every activation, weight and bias quantizer output and the logits are compared exactly (``np.array_equal``, never a
tolerance); sites are found and paired by :mod:`verify.sites`, the rule ``dybnn verify`` uses too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from verify.sites import ACTIVATION, PARAMETER, OnnxSite, pair_sites, torch_sites


@dataclass(frozen=True)
class SiteComparison:
    """One quantizer site (or the logits) compared between PyTorch and QONNX."""

    kind: str  # "activation" | "parameter" | "output"
    torch_site: str  # qualified name of the Brevitas quant proxy ("" for the logits)
    onnx_node: str  # QONNX node name (or graph output name)
    op_type: str  # Quant | BipolarQuant | output
    shape: tuple[int, ...]
    elements: int
    mismatches: int
    max_abs_diff: float


@dataclass
class ComparisonReport:
    """Result of :func:`compare_torch_qonnx`; ``ok`` when every site matched and nothing was left unpaired."""

    sites: list[SiteComparison] = field(default_factory=list)
    unmatched_torch: list[str] = field(default_factory=list)
    unmatched_onnx: list[str] = field(default_factory=list)

    @property
    def elements(self) -> int:
        return sum(s.elements for s in self.sites)

    @property
    def mismatches(self) -> int:
        return sum(s.mismatches for s in self.sites)

    @property
    def ok(self) -> bool:
        return (
            self.mismatches == 0 and not self.unmatched_torch and not self.unmatched_onnx and bool(self.sites)
        )

    def count(self, kind: str) -> int:
        return sum(1 for s in self.sites if s.kind == kind)

    def summary(self) -> str:
        lines = [
            f"{len(self.sites)} sites ({self.count('activation')} activation, {self.count('parameter')} parameter, "
            f"{self.count('output')} output), {self.elements} elements, {self.mismatches} mismatches"
        ]
        for s in self.sites:
            if s.mismatches:
                lines.append(
                    f"  MISMATCH {s.kind} {s.torch_site or 'logits'} <-> {s.onnx_node} ({s.op_type}) {s.shape}: "
                    f"{s.mismatches}/{s.elements}, max |diff| {s.max_abs_diff:.3g}"
                )
        if self.unmatched_torch:
            lines.append(f"  unmatched PyTorch sites: {', '.join(self.unmatched_torch)}")
        if self.unmatched_onnx:
            lines.append(f"  unmatched QONNX nodes: {', '.join(self.unmatched_onnx)}")
        return "\n".join(lines)


def _site(kind, tname, oname, op, t: np.ndarray, o: np.ndarray) -> SiteComparison:
    o = o.astype(t.dtype, copy=False) if o.shape == t.shape else o
    neq = t != o
    diff = float(np.abs(t.astype(np.float64) - o.astype(np.float64)).max()) if neq.any() else 0.0
    return SiteComparison(kind, tname, oname, op, tuple(t.shape), int(t.size), int(neq.sum()), diff)


def compare_torch_qonnx(model: Any, onnx_model: Any, x: Any) -> ComparisonReport:
    """Run PyTorch (``eval()``) and QONNX ``execute_onnx`` on ``x`` and compare every quantizer output exactly.

    Sites (activation, weight and bias quantizers; :mod:`verify.sites`) are paired in order of occurrence within
    each (kind, shape), order pairs that differ re-paired by equality; the logits are compared too. ``x`` must have
    the batch size the graph was exported with.

    Args:
        model: the Brevitas model.
        onnx_model: a path or a ``qonnx`` ``ModelWrapper``.
        x: the inputs, a float32 array or tensor.
    """
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    from verify.sites import onnx_sites

    mw = onnx_model if isinstance(onnx_model, ModelWrapper) else ModelWrapper(os.fspath(onnx_model))
    xn = np.asarray(x, dtype=np.float32)
    captured, logits = torch_sites(model, xn, parameters=True)
    graph = mw.graph
    ctx = execute_onnx(mw, {graph.input[0].name: xn}, return_full_exec_context=True)
    osites: list[tuple[OnnxSite, np.ndarray]] = [(s, np.asarray(ctx[s.tensor])) for s in onnx_sites(mw.model)]

    report = ComparisonReport()
    for kind in (ACTIVATION, PARAMETER):
        ts = [s for s in captured if s.kind == kind]
        os_ = [(s, v) for s, v in osites if s.kind == kind]
        pairs, ut, uo = pair_sites(
            [(s.name, s.key) for s in ts],
            [(s.node, s.key(v.shape)) for s, v in os_],
            same=lambda i, j, ts=ts, os_=os_: np.array_equal(ts[i].value, os_[j][0].torch_layout(os_[j][1])),
        )
        report.unmatched_torch += ut
        report.unmatched_onnx += uo
        for i, j in pairs:
            s, v = os_[j]
            report.sites.append(_site(kind, ts[i].name, s.node, s.op_type, ts[i].value, s.torch_layout(v)))
    out_name = graph.output[0].name
    report.sites.append(_site("output", "", out_name, "output", logits, np.asarray(ctx[out_name])))
    return report
