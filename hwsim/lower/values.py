"""What the converter knows about each ONNX activation tensor while it walks the graph.

An ONNX tensor is represented by one of these values (all frozen; ``onnx`` names the tensor, ``layout`` maps it
to a hardware tensor, see :mod:`hwsim.lower.layout`):

* :class:`InputV` -- the float graph input (possibly seen through a Flatten).
* :class:`HwT` -- a materialized hardware tensor: ONNX value ``= q * 2**-frac`` (bipolar: ``(2b-1) * 2**-frac``).
* :class:`Affine` -- a matrix unit (XnorConv/XnorDense/FixedConv/FixedDense) whose output stage is still open:
  ONNX value ``= (acc * mul[c] + bias[c]) * 2**-frac``; following Mul/Add by quantized constants fold into it,
  a Quant sets ``out``, a BipolarQuant turns it into a threshold stage.
* :class:`Pend` -- a node with an ``out`` requantizer that a following Quant may still set (Add, AvgPool,
  GlobalPool).
* :class:`Elem` -- a per-channel elementwise chain on a hardware tensor (``x - tau``, ``PReLU(x - gamma) + zeta``,
  a float BatchNorm, ...), matched by its consumer (Sign, PReLU, DynamicSign, DynamicPReLU, or thresholds found by
  bisection of the golden function).
* :class:`Clipped`, :class:`Delta`, :class:`DynConst` -- the tail of a DyBNN hyper function (hardtanh, times
  lambda, slices, plus the static part), absorbed by DynamicSign / DynamicPReLU.

Exact numbers are ``(ints, frac)`` pairs with ``ints`` an ``object`` array of Python ints (no overflow while the
lowering composes them); nodes receive int64 arrays after a range check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from hwsim.encoding import finest_frac
from hwsim.lower.layout import Layout
from hwsim.types import Fixed

# -------------------------------------------------------------------------------------------------------------
# exact numbers


def exact_ints(x: np.ndarray, frac: int | None = None) -> tuple[np.ndarray, int]:
    """``(ints, frac)`` with ``x == ints * 2**-frac`` exactly (``frac`` the finest needed unless given)."""
    x = np.asarray(x, dtype=np.float64)
    f = finest_frac(x) if frac is None else max(int(frac), finest_frac(x))
    q = np.ldexp(x, f)
    return np.array([int(v) for v in q.ravel()], dtype=object).reshape(x.shape), f


def finest_frac_rows(x: np.ndarray) -> np.ndarray:
    """Per row of a 2-D float array, the smallest ``frac`` with every element an integer times ``2**-frac``
    (0 for an all-zero row); vectorized :func:`hwsim.encoding.finest_frac`."""
    x = np.asarray(x, dtype=np.float64)
    m, e = np.frexp(x)
    mi = np.abs(np.ldexp(m, 53).astype(np.int64))
    tz = np.zeros(mi.shape, dtype=np.int64)
    v = mi.copy()
    for b in (32, 16, 8, 4, 2, 1):
        mask = (v & ((np.int64(1) << b) - 1)) == 0
        mask &= v != 0
        tz += np.where(mask, b, 0)
        v = np.where(mask, v >> b, v)
    none = np.iinfo(np.int64).min
    f = np.where(x != 0, 53 - tz - e, none)
    out = f.max(axis=1) if f.size else np.full(x.shape[0], none)
    return np.where(out == none, 0, out)


def align_ints(q: np.ndarray, frac: int, to: int) -> np.ndarray:
    """Re-express ``q * 2**-frac`` at ``to >= frac`` fraction bits (exact)."""
    if to < frac:
        raise ValueError(f"cannot align frac {frac} down to {to}")
    return np.asarray(q, dtype=object) * (1 << (to - frac))


def normalize(
    mul: np.ndarray, bias: np.ndarray, frac: int, floor: int = 0
) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop common trailing zero bits of ``mul`` and ``bias`` (lowering ``frac``, never below ``floor``)."""
    vals = [int(v) for v in list(mul.ravel()) + list(bias.ravel()) if int(v) != 0]
    tz = min((v & -v).bit_length() - 1 for v in vals) if vals else 1 << 30
    k = max(0, min(tz, frac - floor))
    if k == 0:
        return mul, bias, frac
    d = 1 << k
    return (
        np.array([int(v) // d for v in mul.ravel()], dtype=object).reshape(mul.shape),
        np.array([int(v) // d for v in bias.ravel()], dtype=object).reshape(bias.shape),
        frac - k,
    )


def to_int64(q: np.ndarray, what: str) -> np.ndarray:
    """An ``object`` int array as int64, raising if some value needs more than 62 bits."""
    a = np.asarray(q)
    if a.dtype.kind in "iu":
        if a.size and int(np.abs(a.astype(np.int64)).max()) >= 1 << 62:
            raise OverflowError(f"{what}: a value needs more than 62 bits")
        return a.astype(np.int64)
    vals = [int(v) for v in np.asarray(q, dtype=object).ravel()]
    if vals and max(abs(v) for v in vals) >= 1 << 62:
        raise OverflowError(f"{what}: value {max(vals, key=abs)} needs more than 62 bits")
    return np.array(vals, dtype=np.int64).reshape(np.shape(q))


def ceil_div_pow2(q: int, k: int) -> int:
    """``ceil(q * 2**-k)`` for any integer ``k`` (exact)."""
    if k <= 0:
        return q << -k
    return -((-q) >> k)


def as_fraction(q: int, frac: int) -> Fraction:
    return Fraction(q, 1) / (1 << frac) if frac >= 0 else Fraction(q * (1 << -frac), 1)


def is_pow2(x: float) -> bool:
    if x <= 0 or not np.isfinite(x):
        return False
    m, _ = np.frexp(x)
    return m == 0.5


# -------------------------------------------------------------------------------------------------------------
# values


@dataclass(frozen=True, eq=False)
class Val:
    onnx: str
    layout: Layout


@dataclass(frozen=True, eq=False)
class InputV(Val):
    """The float32 graph input; ``hw`` is the hardware input tensor (``(H, W, C)``)."""

    hw: str


@dataclass(frozen=True, eq=False)
class HwT(Val):
    """A hardware tensor ``name``; ONNX value = ``q * 2**-frac`` (bipolar: ``+-1 * 2**-frac``)."""

    name: str
    frac: int
    bipolar: bool = False


@dataclass(frozen=True, eq=False)
class Unit:
    """A matrix unit before its output stage: node class name, ONNX node name, input value, node fields."""

    op: str
    node: str
    input: Val
    fields: dict[str, Any]
    #: per-channel accumulator bounds (Python ints), for thresholds and bisection domains
    acc_lo: np.ndarray
    acc_hi: np.ndarray


@dataclass(frozen=True, eq=False)
class Affine(Val):
    """``value = (acc * mul + bias) * 2**-frac`` (then requantized to ``out`` when set; ``relu`` before it)."""

    unit: Unit
    acc_frac: int
    mul: np.ndarray
    bias: np.ndarray
    frac: int
    out: Fixed | None = None
    relu: bool = False
    #: ONNX node names folded into the stage (for messages)
    folded: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.out is not None or self.relu


@dataclass(frozen=True, eq=False)
class Pend(Val):
    """A node whose ``out`` is still open: ``op`` in Add / AvgPool / GlobalPool; ``frac`` is its exact output grid."""

    op: str
    node: str
    inputs: tuple[Val, ...]
    fields: dict[str, Any]
    frac: int
    out: Fixed | None = None


@dataclass(frozen=True)
class Step:
    """One elementwise operation of an :class:`Elem` chain.

    ``kind``: ``add`` (``+ q * 2**-frac``), ``mul`` (``* q * 2**-frac``), ``prelu`` (slope ``q * 2**-frac``),
    ``dyn`` (``+ q * 2**-frac + delta``), ``float`` (anything else, kept only as its ONNX node).
    """

    kind: str
    node: str
    q: np.ndarray | None = None
    frac: int = 0
    delta: Delta | None = None
    #: ONNX tensor of the dynamic threshold / shift (``dyn`` steps) and its sign in this step, for verification
    ref: str = ""
    ref_sign: int = 1


@dataclass(frozen=True, eq=False)
class PadV(Val):
    """An explicit ONNX ``Pad`` (constant mode) of ``x``, to be absorbed by the following Conv."""

    x: Val
    pads: tuple[int, int, int, int]
    value: float
    node: str = ""


@dataclass(frozen=True, eq=False)
class Elem(Val):
    """A per-channel elementwise chain of ``steps`` applied to ``anchor`` (a hardware tensor or an open Affine)."""

    anchor: Val
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def dynamic(self) -> bool:
        return any(s.kind == "dyn" for s in self.steps)

    @property
    def exact(self) -> bool:
        return all(s.kind != "float" for s in self.steps)


@dataclass(frozen=True, eq=False)
class PooledElem(Val):
    """``MaxPool(elem)`` of a float chain whose quantizer follows the pooling (``conv -> BN -> MaxPool -> sign``).

    A quantizer ``q`` is non-decreasing, so ``q(max(f(x))) == max(q(f(x)))`` exactly: the quantizer is built on
    ``elem`` (thresholds of ``f`` by bisection) and the MaxPool pools its output (bits or levels).
    """

    elem: Elem
    node: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Clipped(Val):
    """``clip(z, -1, 1)`` of an open FixedDense Affine ``z`` (the hyper function's hardtanh), requantized to
    ``act`` when a Quant follows (``act.frac`` relative to the clipped value, before lambda); with
    ``squash="tanh"`` the function is ``tanh(z)`` instead, which must be followed by a Quant."""

    z: Affine
    node: str
    act: Fixed | None = None
    squash: str = "hardtanh"


@dataclass(frozen=True, eq=False)
class Delta(Val):
    """``sign * clip(z)[start:stop] * 2**lam_log2``: (a slice of) a hyper function's output."""

    clipped: Clipped
    lam_log2: int
    start: int
    stop: int
    sign: int = 1
    node: str = ""

    def negated(self) -> Delta:
        return Delta(
            self.onnx, self.layout, self.clipped, self.lam_log2, self.start, self.stop, -self.sign, self.node
        )


@dataclass(frozen=True, eq=False)
class DynConst(Val):
    """``q * 2**-frac + delta``: a static per-channel vector plus a hyper-function output (a dynamic threshold)."""

    q: np.ndarray
    frac: int
    delta: Delta
    node: str = ""


PENDING_HW = (Affine, Pend)
