"""Hardware tensors as the ONNX tensors they stand for (the lowering's record), without torch or QONNX.

Values are converted exactly: hardware integers ``q`` to ``q * 2**-frac`` (bits to ``+-2**-frac``), channels-last
to NCHW through the lowering's :class:`~hwsim.lower.layout.Layout`. Used by :mod:`verify.levels` to compare the
simulator with QONNX and PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hwsim import nodes as N
from hwsim.encoding import align
from hwsim.graph import HwGraph
from hwsim.lower.layout import Layout
from hwsim.reference import hyper_function


def hw_value(a: np.ndarray, rec: dict[str, Any]) -> np.ndarray:
    """A hardware tensor (batched) as the ONNX tensor it stands for: exact float64, NCHW layout."""
    a = np.asarray(a)
    v = (2.0 * a.astype(np.float64) - 1.0) if rec["bipolar"] else a.astype(np.float64)
    return Layout.from_json(rec["layout"]).hw_to_onnx(np.ldexp(v, -int(rec["frac"])))


def dynamic_values(g: HwGraph, env: dict[str, np.ndarray]) -> dict[str, tuple[str, np.ndarray, float]]:
    """Dynamic thresholds / shifts recomputed from a simulation's intermediates, as exact float64 ``(N, C)``.

    Returns ``{key: (onnx tensor, value, scale)}`` where the ONNX tensor times ``scale`` must equal ``value``.
    """
    out: dict[str, tuple[str, np.ndarray, float]] = {}
    for name, rec in (g.metadata.get("dynamic") or {}).items():
        node = g.node(name)
        x = env[node.inputs[0]].astype(np.int64)
        fx = g.spec(node.inputs[0]).dtype.frac
        hf = node.hyper
        d = hyper_function(hf, x, fx, env[node.inputs[1]] if hf.context else None)
        df = hf.delta_frac
        if isinstance(node, N.DynamicSign) and "threshold" in rec:
            f = max(fx, node.tau_frac, df)
            thr = align(node.tau, node.tau_frac, f)[None] + align(d, df, f)
            out[f"{name}.threshold"] = (
                rec["threshold"],
                np.ldexp(thr.astype(np.float64), -f),
                rec["threshold_scale"],
            )
        elif isinstance(node, N.DynamicPReLU) and "gamma" in rec:
            c = node.channels
            fg, fz = max(node.gamma_frac, df), max(node.zeta_frac, df)
            gm = align(node.gamma, node.gamma_frac, fg)[None] + align(d[:, :c], df, fg)
            zt = align(node.zeta, node.zeta_frac, fz)[None] + align(d[:, c:], df, fz)
            out[f"{name}.gamma"] = (rec["gamma"], np.ldexp(gm.astype(np.float64), -fg), rec["gamma_scale"])
            out[f"{name}.zeta"] = (rec["zeta"], np.ldexp(zt.astype(np.float64), -fz), rec["zeta_scale"])
    return out
