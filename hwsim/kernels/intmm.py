"""Integer matrix units: FixedConv / FixedDense, and XnorConv / XnorDense on a fixed-point input.

Exact int64 arithmetic. Weights are laid out with the output channel innermost, ``(KH, KW, Cin, Cout)`` and
``(Cin, Cout)``, so the innermost loop ``acc[o] += x * w[..., o]`` runs over contiguous output channels and
vectorizes::

    acc[n, y, x, o] = sum_{i, j, c} xin[n, y*sh + i - pt, x*sw + j - pl, c] * w[i, j, c, o]

Border positions take ``pad_value`` (0 for FixedConv: the tap is skipped).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.kernels.fixed import fixed_in, out_storage
from hwsim.kernels.registry import PARALLEL_CHUNKS, elements, kernel, prepared
from hwsim.kernels.stage import Stage, alloc_outputs, finish, stage_block, stage_params
from hwsim.types import Bipolar


@njit(cache=True, nogil=True, parallel=True)
def _int_conv(x, w, sh, sw, pt, pl, padv, oh, ow, st, out_int, out_bits):
    """``out_*`` are 2-D: output pixel ``(b, y, x)`` is row ``(b*OH + y)*OW + x``."""
    n, h, wd, cin = x.shape
    kh, kw, _, nout = w.shape
    ntask = n * oh
    nchunk = min(ntask, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        acc = np.empty((1, nout), np.int64)  # per-thread buffers
        kdot = np.zeros(1, np.int64)
        for t in range(ci * ntask // nchunk, (ci + 1) * ntask // nchunk):
            b = t // oh
            y = t % oh
            for xx in range(ow):
                acc[:] = 0
                for i in range(kh):
                    iy = y * sh + i - pt
                    for j in range(kw):
                        ix = xx * sw + j - pl
                        if 0 <= iy < h and 0 <= ix < wd:
                            for c in range(cin):
                                v = np.int64(x[b, iy, ix, c])
                                for q in range(nout):
                                    acc[0, q] += v * w[i, j, c, q]
                        elif padv != 0:
                            for c in range(cin):
                                for q in range(nout):
                                    acc[0, q] += padv * w[i, j, c, q]
                stage_block(acc, 1, kdot, 1, st, out_int, out_bits, t * ow + xx, 0, nout)


@njit(cache=True, nogil=True, parallel=True)
def _int_dense(x, w, st, out_int, out_bits):
    m, cin = x.shape
    nout = w.shape[1]
    nchunk = min(m, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        acc = np.empty((1, nout), np.int64)  # per-thread buffers
        kdot = np.zeros(1, np.int64)
        for r in range(ci * m // nchunk, (ci + 1) * m // nchunk):
            acc[:] = 0
            for c in range(cin):
                v = np.int64(x[r, c])
                for q in range(nout):
                    acc[0, q] += v * w[c, q]
            stage_block(acc, 1, kdot, 1, st, out_int, out_bits, r, 0, nout)


def int_conv(x: np.ndarray, w: np.ndarray, win: N.Window, pad_value: int, st: Stage, dtype=np.int64):
    """Integer convolution of ``x (N,H,W,Cin)`` with ``w (KH,KW,Cin,Cout)`` int64 over the node's window ``win``,
    then the output stage (integers stored as ``dtype``)."""
    x = fixed_in(x)
    n = x.shape[0]
    nout = w.shape[3]
    oh, ow = win.oh, win.ow
    out_int, out_bits = alloc_outputs((n, oh, ow), st, nout, dtype)
    _int_conv(
        x,
        w,
        win.sh,
        win.sw,
        win.pt,
        win.pl,
        pad_value,
        oh,
        ow,
        st,
        out_int.reshape(n * oh * ow, -1),
        out_bits.reshape(n * oh * ow, -1),
    )
    return finish(out_int, out_bits, st, nout)


def int_dense(x: np.ndarray, w: np.ndarray, st: Stage, dtype=np.int64):
    """Integer matrix product of ``x (..., Cin)`` with ``w (Cin, Cout)`` int64, then the output stage."""
    x = fixed_in(x)
    lead = x.shape[:-1]
    nout = w.shape[1]
    out_int, out_bits = alloc_outputs((int(np.prod(lead)),), st, nout, dtype)
    _int_dense(x.reshape(-1, x.shape[-1]), w, st, out_int, out_bits)
    out_int = out_int.reshape(lead + out_int.shape[-1:])
    out_bits = out_bits.reshape(lead + out_bits.shape[-1:])
    return finish(out_int, out_bits, st, nout)


def matrix_cost(node, ins, in_specs, out_specs) -> float:
    """Estimated single-threaded ns of a matrix unit: about 1 ps per binary MAC (XNOR-popcount on packed
    bits), 0.2 ns per integer MAC, plus 1 ns per output element."""
    x = ins[0]
    if out_specs:
        outs = x.shape[0] * int(np.prod(out_specs[0].shape))
    else:
        outs = elements(x) // max(x.shape[-1], 1) * node.cout
    k = int(np.prod(node.weights.shape[1:]))
    per_mac = 0.001 if in_specs and isinstance(in_specs[0].dtype, Bipolar) else 0.2
    return outs * (1.0 + k * per_mac)


def _conv_params(node) -> tuple[np.ndarray, Stage]:
    w = np.ascontiguousarray(node.weights.astype(np.int64).transpose(1, 2, 3, 0))
    return w, stage_params(node.stage, node.cout)


def _dense_params(node) -> tuple[np.ndarray, Stage]:
    return np.ascontiguousarray(node.weights.astype(np.int64).T), stage_params(node.stage, node.cout)


@kernel(N.FixedConv, cost=matrix_cost)
def fixed_conv(node: N.FixedConv, ins, in_specs, out_specs):
    w, st = prepared(node, "int", lambda: _conv_params(node))
    return [int_conv(ins[0], w, node.window(in_specs[0].shape), 0, st, out_storage(out_specs))]


@kernel(N.FixedDense, cost=matrix_cost)
def fixed_dense(node: N.FixedDense, ins, in_specs, out_specs):
    w, st = prepared(node, "int", lambda: _dense_params(node))
    return [int_dense(ins[0], w, st, out_storage(out_specs))]
