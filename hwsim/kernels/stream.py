"""Stream plumbing: SlidingWindow (im2col), Concat, Duplicate, Flatten; and LabelSelect.

On packed bits SlidingWindow moves words when ``C`` is a multiple of 64 and shifts bits otherwise; the border
pixel is the channel mask (+1) or zero words (-1).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.encoding import n_words
from hwsim.kernels.bits import PackedBits, _insert_bits, as_packed, concat_packed, flatten_packed, word_mask
from hwsim.kernels.fixed import fixed_in, out_storage, shift_of
from hwsim.kernels.registry import PARALLEL_CHUNKS, kernel
from hwsim.types import Bipolar, Float


@njit(cache=True, nogil=True, parallel=True)
def _im2col_words(x, kh, kw, sh, sw, pt, pl, c, border, out):
    """Packed im2col: ``out[n, y, x]`` = the ``KH*KW`` window pixels of ``c`` bits each, end to end."""
    n, h, w, cw = x.shape
    _, oh, ow, _ = out.shape
    ntask = n * oh
    nchunk = min(ntask, PARALLEL_CHUNKS)
    aligned = c % 64 == 0
    for ci in prange(nchunk):
        for t in range(ci * ntask // nchunk, (ci + 1) * ntask // nchunk):
            b = t // oh
            y = t % oh
            for xx in range(ow):
                o = out[b, y, xx]
                o[:] = 0
                for i in range(kh):
                    iy = y * sh + i - pt
                    for j in range(kw):
                        ix = xx * sw + j - pl
                        inside = 0 <= iy < h and 0 <= ix < w
                        src = x[b, iy, ix] if inside else border
                        tap = i * kw + j
                        if aligned:
                            o[tap * cw : (tap + 1) * cw] = src
                        else:
                            _insert_bits(o, src, tap * c)


@njit(cache=True, nogil=True, parallel=True)
def _im2col_int(x, kh, kw, sh, sw, pt, pl, padv, out):
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
                for i in range(kh):
                    iy = y * sh + i - pt
                    for j in range(kw):
                        ix = xx * sw + j - pl
                        tap = i * kw + j
                        if 0 <= iy < h and 0 <= ix < w:
                            o[tap * c : (tap + 1) * c] = x[b, iy, ix]
                        else:
                            o[tap * c : (tap + 1) * c] = padv


@njit(cache=True, nogil=True, parallel=True)
def _place_shifted(out, x, offset, shift):
    """``out[r, offset : offset + C] = x[r] << shift`` (the exact alignment of :func:`hwsim.encoding.align`)."""
    c = x.shape[1]
    for r in prange(x.shape[0]):
        o = out[r]
        xr = x[r]
        for q in range(c):
            o[offset + q] = np.int64(xr[q]) << shift


@njit(cache=True, nogil=True, parallel=True)
def _top_k(x, k, out):
    """Indices of the ``k`` largest of each row, largest first, ties to the lower index (stable sort of -x)."""
    for r in prange(x.shape[0]):
        order = np.argsort(-x[r], kind="mergesort")
        out[r, :] = order[:k]


@kernel(N.SlidingWindow)
def sliding_window(node: N.SlidingWindow, ins, in_specs, out_specs):
    kh, kw = node.kernel
    pt, pl = node.pad[0], node.pad[1]
    if isinstance(in_specs[0].dtype, Bipolar):
        x = as_packed(ins[0])
        n, h, w, _ = x.words.shape
        win = node.window(in_specs[0].shape)
        oh, ow = win.oh, win.ow
        border = word_mask(x.n) if node.pad_value > 0 else np.zeros(n_words(x.n), np.uint64)
        out = np.empty((n, oh, ow, n_words(kh * kw * x.n)), np.uint64)
        _im2col_words(x.words, kh, kw, *node.stride, pt, pl, x.n, border, out)
        return [PackedBits(out, kh * kw * x.n)]
    x = fixed_in(ins[0])
    n, h, w, c = x.shape
    win = node.window(in_specs[0].shape)
    oh, ow = win.oh, win.ow
    out = np.empty((n, oh, ow, kh * kw * c), out_storage(out_specs))
    _im2col_int(x, kh, kw, *node.stride, pt, pl, node.pad_value, out)
    return [out]


@kernel(N.Concat)
def concat(node: N.Concat, ins, in_specs, out_specs):
    if isinstance(out_specs[0].dtype, Bipolar):
        return [concat_packed([as_packed(x) for x in ins])]
    f = out_specs[0].dtype.frac
    xs = [fixed_in(x) for x in ins]
    lead = xs[0].shape[:-1]
    out = np.empty(lead + (sum(x.shape[-1] for x in xs),), out_storage(out_specs))
    out2 = out.reshape(-1, out.shape[-1])
    off = 0
    for x, s in zip(xs, in_specs, strict=True):
        _place_shifted(out2, x.reshape(-1, x.shape[-1]), off, shift_of(s.dtype.frac, f))
        off += x.shape[-1]
    return [out]


@kernel(N.Duplicate)
def duplicate(node: N.Duplicate, ins, in_specs, out_specs):
    # a fork: every consumer reads the same buffer (kernels never write their inputs)
    x = as_packed(ins[0]) if isinstance(in_specs[0].dtype, Bipolar) else ins[0]
    return [x for _ in node.outputs]


@kernel(N.Flatten)
def flatten(node: N.Flatten, ins, in_specs, out_specs):
    if isinstance(in_specs[0].dtype, Bipolar):
        return [flatten_packed(as_packed(ins[0]))]
    x = np.asarray(ins[0])
    return [x.reshape(x.shape[0], -1)]


@kernel(N.LabelSelect)
def label_select(node: N.LabelSelect, ins, in_specs, out_specs):
    if isinstance(in_specs[0].dtype, Float):  # float logits of a FloatTail: the reference's stable sort
        order = np.argsort(-np.asarray(ins[0], dtype=np.float32), axis=-1, kind="stable")
        return [order[..., : node.k].astype(np.int64)]
    x = np.ascontiguousarray(ins[0], dtype=np.int64)
    c = x.shape[-1]
    out = np.empty(x.shape[:-1] + (node.k,), np.int64)
    _top_k(x.reshape(-1, c), node.k, out.reshape(-1, node.k))
    return [out]
