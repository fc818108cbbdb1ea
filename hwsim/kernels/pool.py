"""Pooling: AvgPool (window sum then shift), MaxPool (fixed: max; bits: OR of packed words), GlobalPool."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.kernels.bits import PackedBits, as_packed
from hwsim.kernels.fixed import fixed_in, out_storage, requant_np, requant_params
from hwsim.kernels.hyper import channel_sums, pre_requant
from hwsim.kernels.registry import PARALLEL_CHUNKS, kernel
from hwsim.types import Bipolar

_INT64_MIN = np.iinfo(np.int64).min


@njit(cache=True, nogil=True, parallel=True)
def _window_sum(x, kh, kw, sh, sw, out):
    n, oh, ow, c = out.shape
    ntask = n * oh
    nchunk = min(ntask, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        for t in range(ci * ntask // nchunk, (ci + 1) * ntask // nchunk):
            b = t // oh
            y = t % oh
            for xx in range(ow):
                o = out[b, y, xx]
                o[:] = 0
                for i in range(kh):
                    for j in range(kw):
                        r = x[b, y * sh + i, xx * sw + j]
                        for q in range(c):
                            o[q] += r[q]


@njit(cache=True, nogil=True, parallel=True)
def _window_max(x, kh, kw, sh, sw, pt, pl, fill, out):
    """Max (int64) over the in-map window positions; ``fill`` when none is in the map."""
    n, h, w, c = x.shape
    _, oh, ow, _ = out.shape
    ntask = n * oh
    nchunk = min(ntask, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        for t in range(ci * ntask // nchunk, (ci + 1) * ntask // nchunk):
            b = t // oh
            y = t % oh
            for xx in range(ow):
                o = out[b, y, xx]
                o[:] = fill
                for i in range(kh):
                    iy = y * sh + i - pt
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = xx * sw + j - pl
                        if ix < 0 or ix >= w:
                            continue
                        r = x[b, iy, ix]
                        for q in range(c):
                            if r[q] > o[q]:
                                o[q] = r[q]


@njit(cache=True, nogil=True, parallel=True)
def _window_or(x, kh, kw, sh, sw, pt, pl, out):
    """OR of packed words over the in-map window positions (max of bits; an empty window gives 0 = -1)."""
    n, h, w, cw = x.shape
    _, oh, ow, _ = out.shape
    ntask = n * oh
    nchunk = min(ntask, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        for t in range(ci * ntask // nchunk, (ci + 1) * ntask // nchunk):
            b = t // oh
            y = t % oh
            for xx in range(ow):
                o = out[b, y, xx]
                o[:] = 0
                for i in range(kh):
                    iy = y * sh + i - pt
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = xx * sw + j - pl
                        if ix < 0 or ix >= w:
                            continue
                        r = x[b, iy, ix]
                        for q in range(cw):
                            o[q] |= r[q]


@kernel(N.AvgPool)
def avg_pool(node: N.AvgPool, ins, in_specs, out_specs):
    x = fixed_in(ins[0])
    n, h, w, c = x.shape
    win = node.window(in_specs[0].shape)
    oh, ow = win.oh, win.ow
    s = np.empty((n, oh, ow, c), np.int64)
    _window_sum(x, *node.kernel, *node.stride, s)
    return [
        requant_np(s, requant_params(in_specs[0].dtype.frac + node.shift, node.out), out_storage(out_specs))
    ]


@kernel(N.MaxPool)
def max_pool(node: N.MaxPool, ins, in_specs, out_specs):
    pt, pl = node.pad[0], node.pad[1]
    if isinstance(in_specs[0].dtype, Bipolar):
        x = as_packed(ins[0])
        n, h, w, cw = x.words.shape
        win = node.window(in_specs[0].shape)
        oh, ow = win.oh, win.ow
        out = np.empty((n, oh, ow, cw), np.uint64)
        _window_or(x.words, *node.kernel, *node.stride, pt, pl, out)
        return [PackedBits(out, x.n)]
    x = fixed_in(ins[0])
    n, h, w, c = x.shape
    win = node.window(in_specs[0].shape)
    oh, ow = win.oh, win.ow
    # a window wholly in the padding yields the int64 minimum, as in the reference: keep int64 where one can occur
    empty_window = (
        max(node.pad[0], node.pad[2]) >= node.kernel[0] or max(node.pad[1], node.pad[3]) >= node.kernel[1]
    )
    out = np.empty((n, oh, ow, c), np.int64 if empty_window else out_storage(out_specs))
    # every window holds an in-map element unless `empty_window`, so the dtype's minimum is a neutral start
    _window_max(
        x, *node.kernel, *node.stride, pt, pl, _INT64_MIN if empty_window else np.iinfo(out.dtype).min, out
    )
    return [out]


def _channel_statistic(node, x, in_spec, out, storage):
    """Per-channel sum over the map (after the optional pre-requantization), requantized to ``out``:
    the statistic of a GlobalPool and of a HyperContext."""
    x = pre_requant(x, in_spec.dtype.frac, node.pre)
    n, h, w, c = x.shape
    s = channel_sums(x.reshape(n, h * w, c))
    f = node.pre.frac if node.pre is not None else in_spec.dtype.frac
    return requant_np(s, requant_params(f + node.shift, out), storage)


@kernel(N.GlobalPool)
def global_pool(node: N.GlobalPool, ins, in_specs, out_specs):
    return [_channel_statistic(node, ins[0], in_specs[0], node.out, out_storage(out_specs))]


@kernel(N.HyperContext)
def hyper_context(node: N.HyperContext, ins, in_specs, out_specs):
    """The frame as it is, and :func:`global_pool`'s statistic of it."""
    return [ins[0], _channel_statistic(node, ins[0], in_specs[0], node.stat, out_storage(out_specs, 1))]
