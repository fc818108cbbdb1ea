"""DyBNN's hyper function (:class:`~hwsim.nodes.HyperFunction`) for a batch, in int64::

    p     = requant(x -> pre)                             when ``pre`` is set, element by element
    s     = requant(sum_{h,w} p -> stat)                 frac sum_frac + pool_shift -> stat.frac
    h     = requant(relu((s @ w1.T) << a1 + b1 << c1) -> hidden)
    z     = (h @ w2.T) << a2 + b2 << c2,  clipped to [-2**z_frac, 2**z_frac]
    z     = requant(z -> act)                             when ``act`` is set
    z     = act.lo + #{i : squash_thr[i] <= z}            instead of the clip and requant, when ``squash_thr`` is set

with the alignment shifts ``a*, c*`` of :func:`hwsim.reference.hyper_function`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim.kernels.fixed import fixed_in, requant, requant_np, requant_params, shift_of, storage_dtype
from hwsim.kernels.registry import prepared
from hwsim.nodes import HyperFunction
from hwsim.types import Fixed


@njit(cache=True, nogil=True)
def _channel_sums(x: np.ndarray, out: np.ndarray) -> None:
    """``out[n, c] = sum_p x[n, p, c]`` for ``x (N, P, C)`` int64."""
    for b in range(x.shape[0]):
        s = out[b]
        s[:] = 0
        xb = x[b]
        for p in range(x.shape[1]):
            row = xb[p]
            for c in range(x.shape[2]):
                s[c] += row[c]


@njit(cache=True, nogil=True, parallel=True)
def channel_sums(x: np.ndarray) -> np.ndarray:
    """Per-sample channel sums of ``x (N, P, C)`` int64 -> ``(N, C)``; samples in parallel."""
    n = x.shape[0]
    out = np.empty((n, x.shape[2]), np.int64)
    for b in prange(n):
        _channel_sums(x[b : b + 1], out[b : b + 1])
    return out


@njit(cache=True, nogil=True)
def _mlp(
    s,
    st_shift,
    st_lo,
    st_hi,
    w1,
    a1,
    b1s,
    hd_shift,
    hd_lo,
    hd_hi,
    w2,
    a2,
    b2s,
    zlim,
    act_on,
    act_shift,
    act_lo,
    act_hi,
    sq_thr,
    sq_lo,
    out,
):
    """The two fixed-point layers of the hyper function for ``s (N, C)`` channel sums -> ``out (N, O)``.

    ``sq_thr`` non-empty: the output level is ``sq_lo`` plus the number of thresholds ``<= z`` (binary search)."""
    n, c = s.shape
    hd = w1.shape[0]
    no = w2.shape[0]
    st = np.empty(c, np.int64)
    h = np.empty(hd, np.int64)
    for b in range(n):
        for k in range(c):
            st[k] = requant(s[b, k], 1, st_shift, st_lo, st_hi)
        for j in range(hd):
            v = np.int64(0)
            for k in range(c):
                v += st[k] * w1[j, k]
            v = (v << a1) + b1s[j]
            if v < 0:
                v = 0
            h[j] = requant(v, 1, hd_shift, hd_lo, hd_hi)
        for o in range(no):
            v = np.int64(0)
            for j in range(hd):
                v += h[j] * w2[o, j]
            v = (v << a2) + b2s[o]
            if sq_thr.shape[0] > 0:  # count of sorted thresholds <= v
                lo = 0
                hi = sq_thr.shape[0]
                while lo < hi:
                    mid = (lo + hi) // 2
                    if sq_thr[mid] <= v:
                        lo = mid + 1
                    else:
                        hi = mid
                out[b, o] = sq_lo + lo
                continue
            if v < -zlim:
                v = -zlim
            elif v > zlim:
                v = zlim
            out[b, o] = requant(v, act_on, act_shift, act_lo, act_hi)


def _params(hf: HyperFunction, x_frac: int) -> tuple:
    f1 = hf.h1_frac
    fz = hf.z_frac
    b1s = np.asarray(hf.b1, dtype=np.int64) << np.int64(shift_of(hf.b1_frac, f1))
    b2s = np.asarray(hf.b2, dtype=np.int64) << np.int64(shift_of(hf.b2_frac, fz))
    return (hf.sum_frac(x_frac) + hf.pool_shift - hf.stat.frac, hf.stat.lo, hf.stat.hi, np.ascontiguousarray(hf.w1, dtype=np.int64), shift_of(hf.stat.frac + hf.w1_frac, f1), b1s, f1 - hf.hidden.frac, hf.hidden.lo, hf.hidden.hi, np.ascontiguousarray(hf.w2, dtype=np.int64), shift_of(hf.hidden.frac + hf.w2_frac, fz), b2s, 1 << fz, *requant_params(fz, hf.act), *_squash(hf))  # fmt: skip


def _squash(hf: HyperFunction) -> tuple[np.ndarray, int]:
    if hf.squash_thr is None:
        return np.zeros(0, np.int64), 0
    return np.ascontiguousarray(hf.squash_thr, dtype=np.int64), int(hf.act.lo)


def pre_requant(x: np.ndarray, x_frac: int, pre: Fixed | None) -> np.ndarray:
    """``x`` requantized element by element to ``pre`` before a channel sum (int8..int64 storage), or ``x``."""
    if pre is None:
        return fixed_in(x)
    return requant_np(x, requant_params(x_frac, pre), storage_dtype(pre))


def hyper_delta(
    node, hf: HyperFunction, x: np.ndarray, x_frac: int, context: np.ndarray | None = None
) -> np.ndarray:
    """``delta (N, O)`` int64 at ``hf.delta_frac`` for the batch ``x (N, H, W, C)`` (twin of
    :func:`hwsim.reference.hyper_function`); a context hyper function reads ``context (N, C0)`` instead."""
    n, h, w, c = x.shape
    if hf.context:
        # the statistics as they are: requantizing a stat-typed value to its own type is the identity
        p = prepared(node, "hyper-context", lambda: _params(hf, hf.stat.frac))
        s = np.ascontiguousarray(context, dtype=np.int64)
    else:
        p = prepared(node, f"hyper{x_frac}", lambda: _params(hf, x_frac))
        s = channel_sums(pre_requant(x, x_frac, hf.pre).reshape(n, h * w, c))
    out = np.empty((n, hf.n_out), np.int64)
    _mlp(s, *p, out)
    return out


__all__ = ["channel_sums", "hyper_delta", "pre_requant"]
