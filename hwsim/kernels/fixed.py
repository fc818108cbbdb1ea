"""Fixed-point primitives inside Numba kernels: the RNE shift and the saturating requantization.

Scalar twins of :func:`hwsim.encoding.shift_round_half_even` and :func:`hwsim.encoding.requantize`, on int64:

    rne(q, s) = q * 2**-s rounded half to even     (s > 0: floor = q >> s, rem = q - floor * 2**s,
                                                      round up iff rem > 2**(s-1) or (rem == 2**(s-1) and floor odd))
              = q << -s                            (s <= 0, exact)
    requant(q) = clip(rne(q, frac_in - frac_out), lo, hi)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from hwsim.types import Fixed


class Requant(NamedTuple):
    """Parameters of one requantization, passed into kernels as plain integers (``on=0``: identity)."""

    on: int
    shift: int
    lo: int
    hi: int


def requant_params(frac_in: int, out: Fixed | None) -> Requant:
    """``Requant`` from ``frac_in`` to ``out``; ``out=None`` keeps the value as is."""
    if out is None:
        return Requant(0, 0, 0, 0)
    return Requant(1, int(frac_in) - out.frac, out.lo, out.hi)


@njit(cache=True, nogil=True, inline="always")
def rne_shift(q: np.int64, s: np.int64) -> np.int64:
    """``round_half_even(q * 2**-s)`` (``s > 0``) or ``q << -s`` (``s <= 0``), exact int64 (no overflow)."""
    if s <= 0:
        return q << -s
    floor = q >> s
    rem = q - (floor << s)
    half = np.int64(1) << (s - 1)
    # branch-free, so that loops over elements vectorize
    up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    return floor + np.int64(up)


@njit(cache=True, nogil=True, inline="always")
def requant(q: np.int64, on: np.int64, shift: np.int64, lo: np.int64, hi: np.int64) -> np.int64:
    """Saturating RNE requantization of one value (identity when ``on == 0``)."""
    if on == 0:
        return q
    return min(max(rne_shift(q, shift), lo), hi)


@njit(cache=True, nogil=True)
def requant_array(q: np.ndarray, on: int, shift: int, lo: int, hi: int, out: np.ndarray) -> None:
    """``out = requant(q)`` elementwise over flat int64 arrays."""
    for i in range(q.shape[0]):
        out[i] = requant(np.int64(q[i]), on, shift, lo, hi)


def requant_np(q: np.ndarray, rq: Requant, dtype: np.dtype | type = np.int64) -> np.ndarray:
    """Requantize an integer array (any shape) with a :class:`Requant` into a new ``dtype`` array."""
    q = fixed_in(q)
    if not rq.on and q.dtype == dtype:
        return q
    out = np.empty(q.shape, dtype)
    requant_array(q.reshape(-1), rq.on, rq.shift, rq.lo, rq.hi, out.reshape(-1))
    return out


def shift_of(frac_in: int, frac_out: int) -> int:
    """Left shift that re-expresses ``frac_in`` on ``frac_out >= frac_in`` (as :func:`hwsim.encoding.align`)."""
    if frac_out < frac_in:
        raise ValueError(f"align: cannot express frac {frac_in} exactly with {frac_out} fraction bits")
    return frac_out - frac_in


# ---------------------------------------------------------------------------------------------------- storage

_SIGNED = (np.dtype(np.int8), np.dtype(np.int16), np.dtype(np.int32), np.dtype(np.int64))


def storage_dtype(t: object) -> np.dtype:
    """The integer dtype a kernel stores a tensor of type ``t`` in: for :class:`Fixed`, the narrowest of
    int8/int16/int32/int64 that holds ``[t.lo, t.hi]``; int64 for anything else (indices, unknown).

    Every fixed-point tensor is bounded by its type: requantized outputs saturate to it, exact ones get it from the
    worst-case bounds of :mod:`hwsim.infer`. Storing activations in 16 instead of 64 bits keeps the real-valued
    path of a network in cache; all arithmetic inside the kernels stays int64. :func:`hwsim.kernels.to_reference`
    widens back to int64 when a tensor leaves the simulator.
    """
    if isinstance(t, Fixed):
        need = t.bits if t.signed else t.bits + 1  # two's-complement bits
        for d in _SIGNED:
            if need <= 8 * d.itemsize:
                return d
    return np.dtype(np.int64)


def out_storage(out_specs, i: int = 0) -> np.dtype:
    """Storage dtype of output ``i`` (int64 when the caller gives no specs)."""
    return storage_dtype(out_specs[i].dtype) if out_specs else np.dtype(np.int64)


def fixed_in(x: np.ndarray) -> np.ndarray:
    """A fixed-point kernel input as a C-contiguous signed-integer array (int64 unless already int8..int64)."""
    x = np.asarray(x)
    if x.dtype not in _SIGNED:
        x = x.astype(np.int64)
    return np.ascontiguousarray(x)
