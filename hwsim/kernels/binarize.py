"""Binarization sites, fused with packing: InputQuant, Sign, DynamicSign; and MultiThreshold.

A binarizing kernel never builds a uint8 bit tensor: each output word is assembled in a register,

    word[r, w] = OR_b ((x[r, 64w + b] << xs) >= thr[s(r), 64w + b]) XOR invert[64w + b]) << b

and stored once (:class:`~hwsim.kernels.bits.PackedBits`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.encoding import WORD_BITS, float_key, n_words
from hwsim.kernels.bits import PackedBits
from hwsim.kernels.fixed import fixed_in, out_storage, shift_of
from hwsim.kernels.hyper import hyper_delta
from hwsim.kernels.registry import PARALLEL_CHUNKS, kernel, prepared


@njit(cache=True, nogil=True, parallel=True)
def _binarize_pack(x, thr, rows_per_thr, xs, invert, out):
    """``x (M, C)`` int64 -> ``out (M, Cw)`` words; row ``r`` compares ``x << xs`` with ``thr[r // rows_per_thr]``."""
    m, c = x.shape
    nw = out.shape[1]
    nchunk = min(m, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        for r in range(ci * m // nchunk, (ci + 1) * m // nchunk):
            xr = x[r]
            tr = thr[r // rows_per_thr]
            for w in range(nw):
                v = np.uint64(0)
                top = min(WORD_BITS, c - w * WORD_BITS)
                for b in range(top):
                    q = w * WORD_BITS + b
                    bit = ((np.int64(xr[q]) << xs) >= tr[q]) != (invert[q] != 0)
                    v |= np.uint64(bit) << np.uint64(b)
                out[r, w] = v


@njit(cache=True, nogil=True, parallel=True)
def _sign_float_pack(x, out):
    """``x (M, C)`` float32 -> words of ``x >= 0`` (Brevitas/QONNX bipolar quantization, ``sign(0) = +1``)."""
    m, c = x.shape
    nw = out.shape[1]
    for r in prange(m):
        for w in range(nw):
            v = np.uint64(0)
            top = min(WORD_BITS, c - w * WORD_BITS)
            for b in range(top):
                v |= np.uint64(x[r, w * WORD_BITS + b] >= 0) << np.uint64(b)
            out[r, w] = v


@njit(cache=True, nogil=True, parallel=True)
def _quantize(x, scale, lo, hi, out):
    """``out = clip(rint(x * scale), lo, hi)`` over flat arrays; ``scale`` a power of two (exact in float64)."""
    flo = np.float64(lo)  # the reference clips in float64, then converts
    fhi = np.float64(hi)
    for i in prange(x.shape[0]):
        v = np.rint(np.float64(x[i]) * scale)  # rint: round half to even, like np.round
        out[i] = np.int64(min(max(v, flo), fhi))


@njit(cache=True, nogil=True, parallel=True)
def _multi_threshold(x, thr, base, out):
    """``out[r, c] = base + #{t : x[r, c] >= thr[c, t]}`` over ``x (M, C)``."""
    m, c = x.shape
    nt = thr.shape[1]
    for r in prange(m):
        for q in range(c):
            v = x[r, q]
            k = 0
            for t in range(nt):
                k += v >= thr[q, t]
            out[r, q] = base + k


def binarize_pack(x: np.ndarray, thr: np.ndarray, xs: int, invert: np.ndarray) -> PackedBits:
    """Pack ``(x << xs) >= thr`` (XOR ``invert``) of ``x (N, ..., C)``; ``thr (C,)`` or per sample ``(N, C)``."""
    x = fixed_in(x)
    c = x.shape[-1]
    x2 = x.reshape(-1, c)
    thr2 = np.ascontiguousarray(thr, dtype=np.int64).reshape(-1, c)
    per = x2.shape[0] // thr2.shape[0] if x2.shape[0] else 1
    out = np.empty((x2.shape[0], n_words(c)), np.uint64)
    _binarize_pack(x2, thr2, max(per, 1), xs, invert, out)
    return PackedBits(out.reshape(x.shape[:-1] + (out.shape[-1],)), c)


@kernel(N.InputQuant)
def input_quant(node: N.InputQuant, ins, in_specs, out_specs):
    if node.key:
        return [float_key(ins[0]).astype(out_storage(out_specs))]
    x = np.ascontiguousarray(ins[0], dtype=np.float32)
    if node.out is None:
        c = x.shape[-1]
        out = np.empty(x.shape[:-1] + (n_words(c),), np.uint64)
        _sign_float_pack(x.reshape(-1, c), out.reshape(-1, out.shape[-1]))
        return [PackedBits(out, c)]
    q = np.empty(x.shape, out_storage(out_specs))
    _quantize(x.reshape(-1), 2.0**node.out.frac, node.out.lo, node.out.hi, q.reshape(-1))
    return [q]


@kernel(N.Sign)
def sign(node: N.Sign, ins, in_specs, out_specs):
    inv = prepared(node, "invert", lambda: np.ascontiguousarray(node.invert.astype(bool), dtype=np.uint8))
    return [binarize_pack(ins[0], node.thr, 0, inv)]


@kernel(N.DynamicSign)
def dynamic_sign(node: N.DynamicSign, ins, in_specs, out_specs):
    x = fixed_in(ins[0])
    fx = in_specs[0].dtype.frac
    hf = node.hyper
    delta = hyper_delta(node, hf, x, fx, ins[1] if hf.context else None)  # (N, C) at delta_frac
    f = max(fx, node.tau_frac, hf.delta_frac)
    tau = np.asarray(node.tau, dtype=np.int64) << np.int64(shift_of(node.tau_frac, f))
    thr = tau[None, :] + (delta << np.int64(shift_of(hf.delta_frac, f)))
    inv = np.zeros(node.channels, np.uint8)
    return [binarize_pack(x, thr, shift_of(fx, f), inv)]


@kernel(N.MultiThreshold)
def multi_threshold(node: N.MultiThreshold, ins, in_specs, out_specs):
    x = fixed_in(ins[0])
    c = x.shape[-1]
    thr = prepared(
        node,
        f"thr{c}",
        lambda: np.ascontiguousarray(np.broadcast_to(node.thr, (c, node.thr.shape[1])), dtype=np.int64),
    )
    out = np.empty(x.shape, np.int64)
    _multi_threshold(x.reshape(-1, c), thr, node.base, out.reshape(-1, c))
    return [out]
