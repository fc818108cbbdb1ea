"""Analysis: worst-case magnitudes of the exact integer intermediates inside every node.

``infer`` bounds every *tensor*; this analysis bounds what happens inside a node before its output requantizer
(accumulators, the affine stage, aligned sums, the hyper function's layers), so that the lowering can prove that
int64 arithmetic never overflows (62 bits with margin). The bounds are worst cases over the input types.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Bipolar, Fixed, TensorSpec

#: largest magnitude (bits including sign) an int64 intermediate may reach
INT64_SAFE_BITS = 62


@dataclass(frozen=True)
class Bound:
    node: str
    what: str
    magnitude: int

    @property
    def bits(self) -> int:
        """Two's-complement bits needed for ``[-magnitude, magnitude]``."""
        return int(self.magnitude).bit_length() + 1


def _mag(spec: TensorSpec) -> int:
    if isinstance(spec.dtype, Fixed):
        return max(abs(spec.dtype.lo), abs(spec.dtype.hi))
    return 1


def _amax(a: np.ndarray | None) -> int:
    return int(np.abs(np.asarray(a, dtype=object)).max()) if a is not None and np.size(a) else 0


def _stage(out: list[Bound], name: str, stage: N.OutputStage, acc: np.ndarray) -> None:
    out.append(Bound(name, "accumulator", int(max(acc)) if len(acc) else 0))
    if stage.mode == "affine":
        mul = np.abs(stage.mul.astype(object))
        bias = np.abs(stage.bias.astype(object))
        out.append(Bound(name, "acc * mul + bias", int(max(acc * mul + bias)) if len(acc) else 0))


def _hyper(out: list[Bound], name: str, hf: N.HyperFunction, x: TensorSpec) -> int:
    """Bounds of a hyper function; returns the bound of its output integers (at ``delta_frac``)."""
    h, w, c = x.shape
    m = _mag(x) if hf.pre is None else max(abs(hf.pre.lo), abs(hf.pre.hi))
    out.append(Bound(name, "hyper: channel sum", h * w * m))
    s = max(abs(hf.stat.lo), abs(hf.stat.hi))
    f1 = hf.h1_frac
    h1 = c * s * _amax(hf.w1) << (f1 - hf.stat.frac - hf.w1_frac)
    h1 += _amax(hf.b1) << (f1 - hf.b1_frac)
    out.append(Bound(name, "hyper: first layer", h1))
    fz = hf.z_frac
    z = hf.n_hidden * hf.hidden.hi * _amax(hf.w2) << (fz - hf.hidden.frac - hf.w2_frac)
    z += _amax(hf.b2) << (fz - hf.b2_frac)
    out.append(Bound(name, "hyper: second layer", z))
    if hf.act is not None:
        return max(abs(hf.act.lo), abs(hf.act.hi))
    return 1 << fz  # hardtanh clips to +-1.0


def node_bounds(node: N.Node, ins: list[TensorSpec]) -> list[Bound]:
    """Worst-case magnitudes inside ``node`` given its input specs."""
    out: list[Bound] = []
    nm = node.name
    if isinstance(node, (N.XnorConv, N.XnorDense)):
        k = node.weights[0].size
        m = k if isinstance(ins[0].dtype, Bipolar) else k * _mag(ins[0])
        _stage(out, nm, node.stage, np.full(node.cout, m, dtype=object))
    elif isinstance(node, (N.FixedConv, N.FixedDense)):
        w = np.abs(node.weights.reshape(node.cout, -1).astype(object)).sum(axis=1)
        _stage(out, nm, node.stage, w * _mag(ins[0]))
    elif isinstance(node, N.Add):
        a, b = ins[0].dtype, ins[1].dtype
        f = max(a.frac, b.frac)
        out.append(Bound(nm, "aligned sum", (_mag(ins[0]) << (f - a.frac)) + (_mag(ins[1]) << (f - b.frac))))
    elif isinstance(node, N.AvgPool):
        out.append(Bound(nm, "window sum", node.kernel[0] * node.kernel[1] * _mag(ins[0])))
    elif isinstance(node, N.GlobalPool):
        h, w, _ = ins[0].shape
        m = _mag(ins[0]) if node.pre is None else max(abs(node.pre.lo), abs(node.pre.hi))
        out.append(Bound(nm, "channel sum", h * w * m))
    elif isinstance(node, N.DynamicSign):
        fx = ins[0].dtype.frac
        d = _hyper(out, nm, node.hyper, ins[0])
        f = max(fx, node.tau_frac, node.hyper.delta_frac)
        out.append(Bound(nm, "aligned input", _mag(ins[0]) << (f - fx)))
        thr = (_amax(node.tau) << (f - node.tau_frac)) + (d << (f - node.hyper.delta_frac))
        out.append(Bound(nm, "threshold", thr))
    elif isinstance(node, (N.PReLU, N.DynamicPReLU)):
        fx = ins[0].dtype.frac
        g, fg = _amax(node.gamma), node.gamma_frac
        z, fz = _amax(node.zeta), node.zeta_frac
        if isinstance(node, N.DynamicPReLU):
            d = _hyper(out, nm, node.hyper, ins[0])
            df = node.hyper.delta_frac
            fg2, fz2 = max(fg, df), max(fz, df)
            g, fg = (g << (fg2 - fg)) + (d << (fg2 - df)), fg2
            z, fz = (z << (fz2 - fz)) + (d << (fz2 - df)), fz2
        fd = max(fx, fg)
        dm = (_mag(ins[0]) << (fd - fx)) + (g << (fd - fg))
        out.append(Bound(nm, "x - gamma", dm))
        fp = fd + node.beta_frac
        p = max(dm << node.beta_frac, dm * _amax(node.beta))
        out.append(Bound(nm, "prelu", p))
        fo = max(fp, fz)
        out.append(Bound(nm, "prelu + zeta", (p << (fo - fp)) + (z << (fo - fz))))
    return out


def integer_bounds(g: HwGraph) -> list[Bound]:
    """Every bound of every node of ``g``."""
    out: list[Bound] = []
    for n in g.nodes:
        out.extend(node_bounds(n, [g.spec(t) for t in n.inputs]))
    return out
