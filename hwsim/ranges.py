"""The one range (interval) analysis of the hardware graph: every exact integer a node computes, bounded.

Every width in the project comes from here: the output types that :mod:`hwsim.infer` gives exact tensors, the
int64-safety bounds of :mod:`hwsim.lower.bounds`, the accumulator bounds the lowering solves thresholds over,
the C++ types of :mod:`hls.emit`, the widths :mod:`hls.estimate` costs, and the RTL parameters. Nothing else
derives a range; it calls :func:`node_ranges` (one node, from its input specs) or :func:`graph_ranges`.

Intervals are closed integer intervals on a node's own power-of-two grid (the fraction bits are the node's, see
the node docstrings); Python integers, never overflowing. The rules:

* a tensor of type ``Fixed(b, f, s)`` lies in ``[lo, hi]`` of its type; bipolar bits are ``[-1, 1]``;
* **dot products** (matrix units, the hyper function's layers): for output row ``o`` with terms
  ``w[o, i] * x_i``, every *partial* sum -- any prefix in any order, and any subset (zero padding drops terms) --
  lies in ``[sum_i min(0, min w x_i), sum_i max(0, max w x_i)]`` (:func:`dot_rows`). Binary weights are taken
  as ``[-1, 1]`` whatever their sign (the hardware does not specialize on a weight), so an XNOR unit of ``K``
  synapses on an input of magnitude ``m`` is ``[-K*m, K*m]``; on bipolar bits ``[-K, K]``;
* aligned sums shift each operand to the finest grid, then add; ``min``/``max`` over channels join;
* a requantized value lies in its target type; a hardtanh clip of ``z`` at ``z_frac`` in ``[-2^z_frac,
  2^z_frac]``; a squash in ``act``'s type;
* a **threshold** compared with ``x >= t`` for ``x`` in ``[lo, hi]`` only needs to lie in ``[lo, hi + 1]``
  (:func:`clamp_thresholds`); smaller thresholds act as ``lo``, larger as ``hi + 1`` -- the comparison is
  unchanged, and the threshold's storage type is at most one bit wider than ``x``'s.

What :func:`node_ranges` returns per node (:class:`NodeRanges`):

======================  ==============================================================================
field                   meaning
======================  ==============================================================================
``inputs``              interval of each input tensor (its type)
``out``                 interval of the output tensor's *exact* value (before a requantizer, if any);
                        the output type of an exact node is the smallest type holding it
``acc``                 matrix units: every partial sum of the accumulator, all channels (``acc_t``)
``acc_lo``, ``acc_hi``  matrix units: per-output-channel bounds of the accumulator (object ints)
``value``               matrix units with an affine stage: ``acc * mul + bias`` (exact, before requant)
``thr``                 the interval thresholds are compared against (matrix threshold stage: ``acc``;
                        Sign, MultiThreshold: the input); clamp with :func:`clamp_thresholds`
``hyper``               DynamicSign / DynamicPReLU: :class:`HyperRanges` (channel sum, layer 1, layer 2,
                        ``z`` -- the range the squash thresholds are searched over and clamped to --,
                        ``delta``)
``steps``               every named exact intermediate, in computation order (what the int64 check of the
                        lowering bounds and the docs list), e.g. ``"accumulator"``, ``"aligned sum"``
======================  ==============================================================================

:class:`Interval` gives the widths: :attr:`Interval.signed_bits` (an intermediate, always signed: ``acc_t``,
``value_t``, ...) and :meth:`Interval.dtype_bits` (a tensor type: unsigned when ``lo >= 0``).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field

import numpy as np

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Bipolar, Fixed, TensorSpec


class RangeError(ValueError):
    """A node's input types do not admit a range analysis (e.g. a float tensor); the message names the node."""


def bits_for(lo: int, hi: int) -> tuple[int, bool]:
    """Smallest ``(bits, signed)`` two's-complement/unsigned type holding ``[lo, hi]`` (unsigned if ``lo >= 0``)."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return max(1, hi.bit_length()), False
    return max(hi.bit_length(), (-lo - 1).bit_length()) + 1, True


def signed_bits_for(lo: int, hi: int) -> int:
    """Bits of the smallest *signed* type holding ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    return max(hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1


@dataclass(frozen=True)
class Interval:
    """A closed integer interval ``[lo, hi]`` (``lo <= hi``) with exact interval arithmetic."""

    lo: int
    hi: int

    def __post_init__(self) -> None:
        if int(self.lo) > int(self.hi):
            raise ValueError(f"empty interval [{self.lo}, {self.hi}]")

    @classmethod
    def of(cls, x: object) -> Interval:
        """Interval of a tensor type (``Fixed``, ``Bipolar``), an integer array (its min..max; empty -> [0, 0]),
        an integer, or anything with integer ``lo``/``hi`` attributes (an ``Interval``, an emitter ``Num``)."""
        if isinstance(x, Bipolar):
            return cls(-1, 1)
        if isinstance(x, np.ndarray):
            return cls(int(x.min()), int(x.max())) if x.size else cls(0, 0)
        if isinstance(x, (int, np.integer)):
            return cls(int(x), int(x))
        if hasattr(x, "lo") and hasattr(x, "hi"):
            return cls(int(x.lo), int(x.hi))
        raise TypeError(f"no interval for {x!r}")

    def __add__(self, o: Interval) -> Interval:
        return type(self)(self.lo + o.lo, self.hi + o.hi)

    def __sub__(self, o: Interval) -> Interval:
        return type(self)(self.lo - o.hi, self.hi - o.lo)

    def __mul__(self, o: Interval) -> Interval:
        p = [self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi]
        return type(self)(min(p), max(p))

    def __lshift__(self, s: int) -> Interval:
        if s < 0:
            raise ValueError(f"negative alignment shift {s}")
        return type(self)(self.lo << s, self.hi << s)

    def times(self, k: int) -> Interval:
        """The sum of ``k`` values of this interval (or the value times the constant ``k``)."""
        return type(self)(min(self.lo * k, self.hi * k), max(self.lo * k, self.hi * k))

    def join(self, o: Interval) -> Interval:
        """Smallest interval holding both."""
        return type(self)(min(self.lo, o.lo), max(self.hi, o.hi))

    def clip(self, lo: int, hi: int) -> Interval:
        """The interval after ``clip(v, lo, hi)``."""
        return type(self)(min(max(self.lo, lo), hi), max(min(self.hi, hi), lo))

    @property
    def magnitude(self) -> int:
        """``max(|lo|, |hi|)``."""
        return max(abs(self.lo), abs(self.hi))

    @property
    def signed_bits(self) -> int:
        """Bits of the smallest signed type holding the interval (the width of an intermediate)."""
        return signed_bits_for(self.lo, self.hi)

    def dtype_bits(self) -> tuple[int, bool]:
        """``(bits, signed)`` of the smallest tensor type holding the interval (unsigned when ``lo >= 0``)."""
        return bits_for(self.lo, self.hi)


def clamp_thresholds(thr: np.ndarray, lo: int | np.ndarray, hi: int | np.ndarray) -> np.ndarray:
    """Thresholds of ``x >= t`` for ``x`` in ``[lo, hi]`` (scalars, or per-channel arrays along ``thr``'s first
    axis), clamped into ``[lo, hi + 1]``: every comparison is unchanged (module docstring). Python-integer
    (object) inputs of any size are clamped before the conversion to int64."""
    t = np.asarray(thr)
    lo, hi = np.asarray(lo), np.asarray(hi)
    if lo.ndim:
        lo = lo.reshape(lo.shape + (1,) * (t.ndim - lo.ndim))
        hi = hi.reshape(hi.shape + (1,) * (t.ndim - hi.ndim))
    return np.asarray(np.minimum(np.maximum(t, lo), hi + 1), dtype=np.int64)


# ------------------------------------------------------------------------------------------------- dot products


def dot_rows(w: np.ndarray | None, x: Interval, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-row bounds of every partial sum of ``sum_i w[o, i] * x_i``, ``x_i`` in ``x``.

    ``w`` is ``(rows, ...)`` of integers; ``w is None`` means binary weights (``k`` terms of weight in
    ``[-1, 1]`` per row, one row). Returns object arrays ``(lo, hi)``; ``lo <= 0 <= hi`` (the empty sum).
    """
    if w is None:
        m = x.magnitude
        return np.array([-k * m], dtype=object), np.array([k * m], dtype=object)
    w = np.asarray(w)
    w2 = w.reshape(w.shape[0], -1)
    wmax = int(np.abs(w2).max()) if w2.size else 0
    # int64 when no sum can overflow it (the common case, and fast), Python integers otherwise
    fits = wmax * x.magnitude * max(1, w2.shape[1]) < (1 << 62)
    w2 = w2.astype(np.int64) if fits else w2.astype(object)
    a, b = w2 * x.lo, w2 * x.hi
    lo = np.minimum(np.minimum(a, b), 0).sum(axis=1)
    hi = np.maximum(np.maximum(a, b), 0).sum(axis=1)
    return lo.astype(object), hi.astype(object)


def matrix_acc(x: Fixed | Bipolar, weights: np.ndarray, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel accumulator bounds of a matrix unit (rows of ``weights`` = output channels).

    ``binary``: ``weights`` are bits (the lowering's and XnorConv/XnorDense's), each synapse ``+-x``."""
    cout = int(weights.shape[0])
    if binary:
        lo, hi = dot_rows(None, Interval.of(x), int(np.asarray(weights[0]).size))
        return np.repeat(lo, cout), np.repeat(hi, cout)
    return dot_rows(weights, Interval.of(x))


def _join_rows(lo: np.ndarray, hi: np.ndarray) -> Interval:
    if not len(lo):
        return Interval(0, 0)
    return Interval(min(0, int(min(lo))), max(0, int(max(hi))))


# ------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class HyperRanges:
    """The exact intermediates of a :class:`~hwsim.nodes.HyperFunction` (grids in its docstring).

    ``sum``: a channel's sum over the frame (of ``x`` or of ``pre``); ``l1``: ``sum_c s[c] w1[j, c]``;
    ``h1``: ``(l1 << a1) + b1``; ``l2``: ``sum_j h[j] w2[o, j]``; ``z``: ``(l2 << a2) + b2``, exact per output
    row and joined (the domain of the squash thresholds); ``delta``: the clipped / requantized / squashed
    output, before lambda.
    """

    sum: Interval
    stat: Interval
    l1: Interval
    h1: Interval
    hidden: Interval
    l2: Interval
    z: Interval
    delta: Interval


@dataclass(frozen=True)
class NodeRanges:
    """The intervals of one node (see the module docstring for each field)."""

    node: str
    inputs: tuple[Interval | None, ...]
    out: Interval | None
    acc: Interval | None = None
    acc_lo: np.ndarray | None = field(default=None, repr=False)
    acc_hi: np.ndarray | None = field(default=None, repr=False)
    value: Interval | None = None
    thr: Interval | None = None
    hyper: HyperRanges | None = None
    steps: tuple[tuple[str, Interval], ...] = ()

    def step(self, what: str) -> Interval:
        """The named intermediate ``what`` (a ``KeyError`` naming the node and the known names otherwise)."""
        for k, v in self.steps:
            if k == what:
                return v
        raise KeyError(f"node {self.node!r}: no intermediate {what!r}; known: {[k for k, _ in self.steps]}")


def _iv(spec: TensorSpec) -> Interval | None:
    if isinstance(spec.dtype, (Fixed, Bipolar)):
        return Interval.of(spec.dtype)
    return None


def _fixed(node: N.Node, spec: TensorSpec, what: str = "input") -> Fixed:
    if not isinstance(spec.dtype, Fixed):
        raise RangeError(f"node {node.name!r} ({node.op_type}): {what} must be fixed point, got {spec.dtype}")
    return spec.dtype


def _shift(node: N.Node, amount: int, what: str) -> int:
    if amount < 0:
        raise RangeError(f"node {node.name!r}: {what} needs a right shift of {-amount} bits (not exact)")
    return amount


def z_range(hf: N.HyperFunction, where: str = "?") -> Interval:
    """Least and greatest reachable ``z = (h @ w2.T << a2) + b2`` on the ``z_frac`` grid over every output row,
    the hidden units anywhere in their type's range (exact per row, then joined): the domain the lowering
    searches the squash thresholds over and the interval they are clamped to."""
    fz = hf.z_frac
    a2, b2s = fz - hf.hidden.frac - hf.w2_frac, fz - hf.b2_frac
    if a2 < 0 or b2s < 0:
        raise RangeError(f"node {where!r}: hyper layer 2 alignment needs a right shift (not exact)")
    zlo, zhi = dot_rows(hf.w2, Interval.of(hf.hidden))
    b2 = [int(b) << b2s for b in np.asarray(hf.b2)]
    return Interval(
        min((int(lo) << a2) + b for lo, b in zip(zlo, b2, strict=True)),
        max((int(hi) << a2) + b for hi, b in zip(zhi, b2, strict=True)),
    )


def hyper_ranges(node: N.Node, hf: N.HyperFunction, x: TensorSpec) -> HyperRanges:
    """Intervals of the hyper function ``hf`` of ``node`` on the feature map ``x`` (``H, W, C``); a context hyper
    function sums nothing (``sum`` is the statistic's range)."""
    h, w, _ = x.shape
    xin = _fixed(node, x)
    stat = Interval.of(hf.stat)
    total = stat if hf.context else Interval.of(xin if hf.pre is None else hf.pre).times(h * w)
    c = int(hf.w1.shape[1])
    a1 = _shift(node, hf.h1_frac - hf.stat.frac - hf.w1_frac, "hyper layer 1 product alignment")
    b1 = Interval.of(hf.b1.astype(np.int64)) << _shift(node, hf.h1_frac - hf.b1_frac, "hyper b1 alignment")
    l1 = (stat * Interval.of(hf.w1.astype(np.int64))).times(c)
    h1 = (l1 << a1) + b1
    hidden = Interval.of(hf.hidden)
    fz = hf.z_frac
    l2 = (hidden * Interval.of(hf.w2.astype(np.int64))).times(hf.n_hidden)
    z = z_range(hf, node.name)
    if hf.act is not None:
        delta = Interval.of(hf.act)
    else:
        delta = Interval(-(1 << fz), 1 << fz)  # hardtanh(-1, 1) on the z grid
    return HyperRanges(total, stat, l1, h1, hidden, l2, z, delta)


def _hyper_steps(hr: HyperRanges) -> list[tuple[str, Interval]]:
    return [("hyper: channel sum", hr.sum), ("hyper: first layer", hr.h1), ("hyper: second layer", hr.z)]


def _matrix(node: N.MatrixNode, ins: list[TensorSpec]) -> NodeRanges:
    x = ins[0].dtype
    if not isinstance(x, (Fixed, Bipolar)):
        raise RangeError(
            f"node {node.name!r} ({node.op_type}): input must be bipolar or fixed point, got {x}"
        )
    binary = isinstance(node, (N.XnorConv, N.XnorDense))
    lo, hi = matrix_acc(x, node.weights, binary)
    acc = _join_rows(lo, hi)
    steps = [("accumulator", acc)]
    st = node.stage
    value = thr = None
    if st.mode == "threshold":
        thr = acc
        out = Interval(-1, 1)
    else:
        mul = st.mul.astype(object)
        a, b = lo * mul, hi * mul
        prod = Interval(int(min(np.where(a < b, a, b))), int(max(np.where(a < b, b, a)))) if len(a) else acc
        value = prod + Interval.of(st.bias.astype(np.int64))
        steps.append(("acc * mul + bias", value))
        out = value
    return NodeRanges(node.name, (Interval.of(x),), out, acc, lo, hi, value, thr, None, tuple(steps))


def _prelu(node: N.Node, ins: list[TensorSpec], hr: HyperRanges | None) -> NodeRanges:
    """``PReLU_beta(x - g) + z`` on aligned grids (``g``, ``z``: static shifts plus the dynamic delta)."""
    xin = _fixed(node, ins[0])
    fx = xin.frac
    g, fg = Interval.of(node.gamma.astype(np.int64)), node.gamma_frac
    z, fz = Interval.of(node.zeta.astype(np.int64)), node.zeta_frac
    steps = [] if hr is None else _hyper_steps(hr)
    if hr is not None:
        df = node.hyper.delta_frac
        fg2, fz2 = max(fg, df), max(fz, df)
        g, fg = (g << (fg2 - fg)) + (hr.delta << (fg2 - df)), fg2
        z, fz = (z << (fz2 - fz)) + (hr.delta << (fz2 - df)), fz2
    fd = max(fx, fg)
    fp = fd + _shift(node, node.beta_frac, "beta_frac < 0")
    fo = max(fp, fz)
    d = (Interval.of(xin) << (fd - fx)) - (g << (fd - fg))
    p = (d << (fp - fd)).join(d * Interval.of(node.beta.astype(np.int64)))
    y = (p << (fo - fp)) + (z << (fo - fz))
    steps += [("x - gamma", d), ("prelu", p), ("prelu + zeta", y)]
    return NodeRanges(node.name, (Interval.of(xin),), y, hyper=hr, steps=tuple(steps))


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def node_ranges(node: N.Node, ins: list[TensorSpec]) -> NodeRanges:
    """The intervals of ``node`` given its input specs (raises :class:`RangeError` naming the node).

    Nodes are immutable: the result is cached per node object and input specs (the folding search of the
    estimator asks for the same node many times)."""
    key = tuple(ins)
    per_node = _CACHE.setdefault(node, {})
    if key not in per_node:
        per_node[key] = _node_ranges(node, ins)
    return per_node[key]


def _node_ranges(node: N.Node, ins: list[TensorSpec]) -> NodeRanges:
    nm = node.name
    in_iv = tuple(_iv(s) for s in ins)
    if isinstance(node, N.MatrixNode):
        return _matrix(node, ins)
    if isinstance(node, (N.Sign, N.MultiThreshold)):
        x = Interval.of(_fixed(node, ins[0]))
        out = Interval(-1, 1) if isinstance(node, N.Sign) else Interval.of(node.out)
        return NodeRanges(nm, in_iv, out, thr=x)
    if isinstance(node, N.Add):
        a, b = (_fixed(node, s) for s in ins)
        f = max(a.frac, b.frac)
        s = (Interval.of(a) << (f - a.frac)) + (Interval.of(b) << (f - b.frac))
        return NodeRanges(nm, in_iv, s, steps=(("aligned sum", s),))
    if isinstance(node, N.AvgPool):
        s = Interval.of(_fixed(node, ins[0])).times(node.kernel[0] * node.kernel[1])
        return NodeRanges(nm, in_iv, s, steps=(("window sum", s),))
    if isinstance(node, (N.GlobalPool, N.HyperContext)):
        x = _fixed(node, ins[0]) if node.pre is None else node.pre
        h, w, _ = ins[0].shape
        s = Interval.of(x).times(h * w)
        return NodeRanges(nm, in_iv, s, steps=(("channel sum", s),))
    if isinstance(node, N.Concat):
        if all(isinstance(s.dtype, Bipolar) for s in ins):
            return NodeRanges(nm, in_iv, Interval(-1, 1))
        fs = [_fixed(node, s, "every input") for s in ins]
        f = max(x.frac for x in fs)
        out = Interval.of(fs[0]) << (f - fs[0].frac)
        for x in fs[1:]:
            out = out.join(Interval.of(x) << (f - x.frac))
        return NodeRanges(nm, in_iv, out)
    if isinstance(node, N.DynamicSign):
        xin = _fixed(node, ins[0])
        hr = hyper_ranges(node, node.hyper, ins[0])
        df = node.hyper.delta_frac
        f = max(xin.frac, node.tau_frac, df)
        lhs = Interval.of(xin) << (f - xin.frac)
        rhs = (Interval.of(node.tau.astype(np.int64)) << (f - node.tau_frac)) + (hr.delta << (f - df))
        steps = (*_hyper_steps(hr), ("aligned input", lhs), ("threshold", rhs))
        return NodeRanges(nm, in_iv, Interval(-1, 1), thr=lhs.join(rhs), hyper=hr, steps=steps)
    if isinstance(node, N.PReLU):
        return _prelu(node, ins, None)
    if isinstance(node, N.DynamicPReLU):
        return _prelu(node, ins, hyper_ranges(node, node.hyper, ins[0]))
    if isinstance(node, (N.Requant, N.InputQuant)) and node.out is not None:
        return NodeRanges(nm, in_iv, Interval.of(node.out))
    if isinstance(node, N.InputQuant):
        return NodeRanges(nm, in_iv, Interval(-1, 1))
    if isinstance(node, (N.MaxPool, N.SlidingWindow, N.Duplicate, N.Flatten)):
        return NodeRanges(nm, in_iv, in_iv[0])
    # LabelSelect (indices), FloatTail (floats): no integer range of interest
    return NodeRanges(nm, in_iv, None)


def graph_ranges(g: HwGraph) -> dict[str, NodeRanges]:
    """:func:`node_ranges` of every node of ``g``, by node name."""
    return {n.name: node_ranges(n, [g.spec(t) for t in n.inputs]) for n in g.nodes}


__all__ = [
    "HyperRanges",
    "Interval",
    "NodeRanges",
    "RangeError",
    "bits_for",
    "clamp_thresholds",
    "dot_rows",
    "graph_ranges",
    "hyper_ranges",
    "matrix_acc",
    "node_ranges",
    "signed_bits_for",
    "z_range",
]
