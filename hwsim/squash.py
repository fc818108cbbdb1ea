"""Thresholds of a monotone squash function (tanh) in a DyBNN hyper function.

The hyper function's second layer gives an exact integer ``z`` on the grid ``2**-z_frac``; a float squash such as
tanh then feeds the 8-bit output quantizer. Hardware cannot evaluate tanh exactly as PyTorch does, but the whole
map ``z -> level`` is a non-decreasing step function of an integer, so it is realized exactly by
``level = act.lo + #{k : thr[k] <= z}`` with ``thr[k]`` the least ``z`` whose level is at least
``act.lo + k + 1`` (docs/numerics.md, "The tanh squash"). :func:`squash_thresholds` finds them by bisection of
the golden level function over the reachable integer domain of ``z`` (:func:`z_bounds`) and checks the result
there: exhaustively when the domain is small, else on every point where tanh is not yet saturated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim.nodes import HyperFunction
from hwsim.ranges import z_range
from hwsim.types import Fixed

#: exhaustive check of the thresholds up to this many integer points
EXHAUSTIVE_POINTS = 1 << 24


class SquashError(ValueError):
    """The golden level function is not a non-decreasing step function on the domain."""


def z_bounds(hf: HyperFunction) -> tuple[int, int]:
    """``(lo, hi)`` of :func:`hwsim.ranges.z_range`: the reachable ``z = h @ w2.T + b2`` (``z_frac`` grid)."""
    z = z_range(hf)
    return z.lo, z.hi


def first_true(pred: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Smallest integer ``q`` in ``[lo, hi+1]`` with ``pred(q)`` true, elementwise, for predicates monotone in ``q``
    (``pred(hi+1)`` is taken as true; ``pred`` is only called on ``[lo, hi]``)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    a = lo.copy()
    b = hi + 1  # invariant: pred(b) true (virtually), answer in [a, b]
    while True:
        open_ = a < b
        if not open_.any():
            return a
        mid = a + (b - a) // 2
        p = pred(np.clip(mid, lo, hi))  # open entries have lo <= mid <= hi; closed ones are ignored
        b = np.where(open_ & p, mid, b)
        a = np.where(open_ & ~p, mid + 1, a)


def squash_thresholds(levels: Callable[[np.ndarray], np.ndarray], lo: int, hi: int, act: Fixed) -> np.ndarray:
    """The ``act.hi - act.lo`` thresholds of the non-decreasing map ``levels`` (int64 ``z`` array -> int64 levels
    in ``[act.lo, act.hi]``) on the integer domain ``[lo, hi]``; raises :class:`SquashError` if the map is not a
    non-decreasing step function there."""
    if hi < lo:
        raise SquashError(f"empty domain [{lo}, {hi}]")
    ks = np.arange(act.lo + 1, act.hi + 1, dtype=np.int64)
    thr = first_true(lambda z: levels(z) >= ks, np.full(ks.shape, lo), np.full(ks.shape, hi))
    # check: everywhere on small domains, else between the first and the last threshold (outside, the level is
    # that of the domain's ends, checked too) -- with up to EXHAUSTIVE_POINTS points, else samples
    inner_lo, inner_hi = int(thr.min(initial=lo)), int(min(thr.max(initial=lo), hi))
    pts = [np.array([lo, hi, max(lo, inner_lo - 1), inner_lo, inner_hi], dtype=np.int64)]
    span = inner_hi - inner_lo + 1
    if span <= EXHAUSTIVE_POINTS:
        pts.append(np.arange(inner_lo, inner_hi + 1, dtype=np.int64))
    else:
        rng = np.random.default_rng(0)
        pts.append(rng.integers(inner_lo, inner_hi + 1, 1 << 20, dtype=np.int64))
    pts = np.concatenate(pts)
    want = levels(pts)
    got = act.lo + np.searchsorted(thr, pts, side="right")
    if not np.array_equal(got, want):
        z = int(pts[np.argmax(got != want)])
        raise SquashError(
            f"the squash function is not non-decreasing at z = {z} (level {int(levels(np.array([z]))[0])}); "
            "it cannot be realized by thresholds"
        )
    return thr


def quantized(values: np.ndarray, act: Fixed) -> np.ndarray:
    """QONNX ``Quant`` of float values to ``act``: round half to even at ``act.frac``, saturate (exact: the scaling
    is by a power of two)."""
    v = np.ldexp(np.asarray(values, dtype=np.float64), act.frac)
    return np.clip(np.round(v), act.lo, act.hi).astype(np.int64)


def tanh_levels_torch(z_frac: int, act: Fixed) -> Callable[[np.ndarray], np.ndarray]:
    """The golden level function of a Brevitas hyper function with ``squash="tanh"``: PyTorch's float32
    ``tanh`` of ``z * 2**-z_frac`` (exact in float32 for ``|z| < 2**24``), quantized to ``act``."""
    import torch

    def levels(z: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ldexp(np.asarray(z, dtype=np.float64), -z_frac).astype(np.float32))
        return quantized(torch.tanh(x).numpy(), act)

    return levels


def tanh_levels_onnxruntime(z_frac: int, act: Fixed) -> Callable[[np.ndarray], np.ndarray]:
    """The same with onnxruntime's ``Tanh`` (what ``qonnx.core.onnx_exec.execute_onnx`` computes)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    g = helper.make_graph(
        [helper.make_node("Tanh", ["x"], ["y"])],
        "tanh",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = min(m.ir_version, 9)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])

    def levels(z: np.ndarray) -> np.ndarray:
        x = np.ldexp(np.asarray(z, dtype=np.float64).ravel(), -z_frac).astype(np.float32)
        return quantized(sess.run(None, {"x": x})[0], act).reshape(np.shape(z))

    return levels


def disagreements(
    thr: np.ndarray, other: Callable[[np.ndarray], np.ndarray], lo: int, hi: int, act: Fixed
) -> list[int]:
    """Integer ``z`` in ``[lo, hi]`` where the level function ``other`` differs from the thresholds ``thr``;
    every point between the first and last threshold (and one either side) is compared when there are at most
    :data:`EXHAUSTIVE_POINTS`, else a sample."""
    a = max(lo, int(thr.min()) - 1)
    b = min(hi, int(thr.max()) + 1)
    if b - a + 1 <= EXHAUSTIVE_POINTS:
        pts = np.arange(a, b + 1, dtype=np.int64)
    else:
        pts = np.random.default_rng(0).integers(a, b + 1, 1 << 20, dtype=np.int64)
    got = act.lo + np.searchsorted(thr, pts, side="right")
    return [int(z) for z in pts[got != other(pts)]]


__all__ = [
    "SquashError",
    "disagreements",
    "first_true",
    "quantized",
    "squash_thresholds",
    "tanh_levels_onnxruntime",
    "tanh_levels_torch",
    "z_bounds",
]
