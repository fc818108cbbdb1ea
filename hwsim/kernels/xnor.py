"""XnorConv / XnorDense on packed bits: XNOR-popcount with the output stage fused.

Layout. Activations are channels-last words ``(N, H, W, Cw)``, ``Cw = ceil(Cin/64)``; weights are packed the same
way and laid out ``(KH*KW*Cw, Cout)``: for each input word of the window the ``Cout`` weight words are contiguous.
``off[k]`` is the offset of window word ``k`` from the window's first word in the (padded) input, so a pass
covers every kernel row without an im2col buffer. The innermost loop runs over output channels::

    acc[p, o] += popcount(x[base_p + off[k]] XOR w[k, o])      (p over 4 output pixels, 4 words k per pass)

so it vectorizes (``vpxorq``/``vpopcntq``/``vpaddq`` on 8 channels), each input word is loaded once for all
``Cout`` channels, each weight vector is reused for 4 output pixels, and 4 words are consumed per pass, so each
accumulator row is loaded and stored once per 4 words. ``popcount(XOR)`` counts disagreements, so
``dot = K - 2 * acc``; the output stage runs on each finished block of 4 pixels.

Padding. The input is copied once into a padded word array. ``pad_value`` +1 pads with the channel mask, -1 with
0 words: both are ordinary bits and ``K = KH*KW*Cin``. ``pad_value`` 0 pads with 0 words as well, which adds
``popcount(w)`` (the number of +1 weights of the tap) for every tap outside the map; border pixels subtract that
and use ``K_valid = (#valid taps) * Cin`` (see :mod:`hwsim.encoding`)::

    dot = K_valid - 2 * (acc - sum_{taps outside} popcount(w[tap, o]))

Fixed-point inputs (CNV's first layer) go through :mod:`hwsim.kernels.intmm` with +-1 int64 weights.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.encoding import WORD_BITS, pack_bits
from hwsim.kernels.bits import PackedBits, as_packed, popcount, word_mask
from hwsim.kernels.fixed import out_storage
from hwsim.kernels.intmm import int_conv, int_dense, matrix_cost
from hwsim.kernels.registry import PARALLEL_CHUNKS, kernel, prepared
from hwsim.kernels.stage import Stage, alloc_outputs, finish, stage_block, stage_params
from hwsim.types import Bipolar

#: output pixels (conv) or rows (dense) that share each loaded weight vector
BLOCK = 4
#: weight words of one output-channel chunk (128 KiB: stays in the 1-2 MiB L2 while a row or row group streams by)
CHUNK_WORDS = 16384
#: aim for about this many work items in the dense kernel (row groups x channel chunks)
TASKS = 16


@njit(cache=True, nogil=True, inline="always")
def _popacc4(acc, x, o0, o1, o2, o3, offs, wt):
    """``acc[p, :] += sum_k popcount(x[o_p + offs[k]] XOR wt[k, :])`` for 4 pixels at base offsets ``o_p``.

    ``wt (K, Cout)``; ``offs (K,)`` are the window's word offsets relative to a pixel's base, so one call covers
    every kernel row. Four words per pass: each accumulator row is loaded and stored once per 4 words.
    """
    kk = wt.shape[0]
    nout = wt.shape[1]
    k = 0
    while k + 4 <= kk:
        e0 = offs[k]
        e1 = offs[k + 1]
        e2 = offs[k + 2]
        e3 = offs[k + 3]
        a0 = x[o0 + e0]
        a1 = x[o1 + e0]
        a2 = x[o2 + e0]
        a3 = x[o3 + e0]
        b0 = x[o0 + e1]
        b1 = x[o1 + e1]
        b2 = x[o2 + e1]
        b3 = x[o3 + e1]
        c0 = x[o0 + e2]
        c1 = x[o1 + e2]
        c2 = x[o2 + e2]
        c3 = x[o3 + e2]
        d0 = x[o0 + e3]
        d1 = x[o1 + e3]
        d2 = x[o2 + e3]
        d3 = x[o3 + e3]
        for q in range(nout):
            u = wt[k, q]
            v = wt[k + 1, q]
            s = wt[k + 2, q]
            t = wt[k + 3, q]
            acc[0, q] += (popcount(a0 ^ u) + popcount(b0 ^ v)) + (popcount(c0 ^ s) + popcount(d0 ^ t))
            acc[1, q] += (popcount(a1 ^ u) + popcount(b1 ^ v)) + (popcount(c1 ^ s) + popcount(d1 ^ t))
            acc[2, q] += (popcount(a2 ^ u) + popcount(b2 ^ v)) + (popcount(c2 ^ s) + popcount(d2 ^ t))
            acc[3, q] += (popcount(a3 ^ u) + popcount(b3 ^ v)) + (popcount(c3 ^ s) + popcount(d3 ^ t))
        k += 4
    if k + 2 <= kk:
        e0 = offs[k]
        e1 = offs[k + 1]
        a0 = x[o0 + e0]
        a1 = x[o1 + e0]
        a2 = x[o2 + e0]
        a3 = x[o3 + e0]
        b0 = x[o0 + e1]
        b1 = x[o1 + e1]
        b2 = x[o2 + e1]
        b3 = x[o3 + e1]
        for q in range(nout):
            u = wt[k, q]
            v = wt[k + 1, q]
            acc[0, q] += popcount(a0 ^ u) + popcount(b0 ^ v)
            acc[1, q] += popcount(a1 ^ u) + popcount(b1 ^ v)
            acc[2, q] += popcount(a2 ^ u) + popcount(b2 ^ v)
            acc[3, q] += popcount(a3 ^ u) + popcount(b3 ^ v)
        k += 2
    if k < kk:
        e0 = offs[k]
        a0 = x[o0 + e0]
        a1 = x[o1 + e0]
        a2 = x[o2 + e0]
        a3 = x[o3 + e0]
        for q in range(nout):
            u = wt[k, q]
            acc[0, q] += popcount(a0 ^ u)
            acc[1, q] += popcount(a1 ^ u)
            acc[2, q] += popcount(a2 ^ u)
            acc[3, q] += popcount(a3 ^ u)


@njit(cache=True, nogil=True, parallel=True)
def _xnor_conv(xp, wt3, wpop, kw, sh, sw, pt, pl, h, w, cin, zero_pad, oh, ow, nout, st, out_int, out_bits):
    """XNOR-popcount convolution of the padded words ``xp (N, Hp, Wp*Cw)`` with the chunked weights ``wt3``
    (:func:`conv_weights`); output pixel ``(b, y, x)`` is row ``(b*OH + y)*OW + x`` of ``out_int`` / ``out_bits``.

    Work items are runs of 4-pixel blocks in (batch, row, column) order; within a run the output channels go chunk
    by chunk, so that the chunk's weights stay in cache while the run's pixels stream past them."""
    n = xp.shape[0]
    kh = wpop.shape[0]
    nco, kk, ochunk = wt3.shape
    rowlen = xp.shape[2]
    sample = xp.shape[1] * rowlen
    cw = kk // (kh * kw)
    pix = sw * cw
    xf = xp.reshape(n * sample)
    offs = np.empty(kk, np.int64)  # word offsets of the window relative to its top-left pixel
    for i in range(kh):
        for k in range(kw * cw):
            offs[i * kw * cw + k] = i * rowlen + k
    ktot = kh * kw * cin
    npixel = n * oh * ow
    nblk = (npixel + BLOCK - 1) // BLOCK
    nchunk = min(nblk, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        acc = np.empty((BLOCK, ochunk), np.int64)  # per-thread buffers
        kdot = np.empty(BLOCK, np.int64)
        base = np.empty(BLOCK, np.int64)
        ys = np.empty(BLOCK, np.int64)
        xs = np.empty(BLOCK, np.int64)
        b0 = ci * nblk // nchunk
        b1 = (ci + 1) * nblk // nchunk
        for co in range(nco):
            q0 = co * ochunk
            nq = min(ochunk, nout - q0)
            wc = wt3[co]
            # 4 consecutive output pixels per block in (b, y, x) order, across row ends (no idle lanes on 7x7
            # maps); the position advances incrementally (no divisions per pixel)
            pb = b0 * BLOCK // (oh * ow)
            py = (b0 * BLOCK // ow) % oh
            px = b0 * BLOCK % ow
            for blk in range(b0, b1):
                p0 = blk * BLOCK
                npix = min(BLOCK, npixel - p0)
                if px + BLOCK <= ow:  # the whole block lies in one output row (always when OW % 4 == 0)
                    o0 = pb * sample + py * sh * rowlen + px * pix
                    o1 = o0 + pix
                    o2 = o1 + pix
                    o3 = o2 + pix
                    for p in range(BLOCK):
                        ys[p] = py
                        xs[p] = px + p
                    px += BLOCK
                else:
                    for p in range(npix):
                        ys[p] = py
                        xs[p] = px
                        base[p] = pb * sample + py * sh * rowlen + px * pix
                        px += 1
                        if px == ow:
                            px = 0
                            py += 1
                            if py == oh:
                                py = 0
                                pb += 1
                    for p in range(npix, BLOCK):
                        base[p] = base[npix - 1]
                    o0 = base[0]
                    o1 = base[1]
                    o2 = base[2]
                    o3 = base[3]
                if px == ow:
                    px = 0
                    py += 1
                    if py == oh:
                        py = 0
                        pb += 1
                acc[:] = 0
                _popacc4(acc, xf, o0, o1, o2, o3, offs, wc)
                for p in range(npix):
                    y = ys[p]
                    xx = xs[p]
                    kdot[p] = ktot
                    if zero_pad and (
                        y * sh - pt < 0 or y * sh - pt + kh > h or xx * sw - pl < 0 or xx * sw - pl + kw > w
                    ):
                        # taps outside the map read 0 words, each adding popcount(w); K counts valid taps
                        nvalid = 0
                        for i in range(kh):
                            iy = y * sh + i - pt
                            for j in range(kw):
                                ix = xx * sw + j - pl
                                if 0 <= iy < h and 0 <= ix < w:
                                    nvalid += 1
                                else:
                                    for q in range(nq):
                                        acc[p, q] -= wpop[i, j, np.uint64(q0 + q)]
                        kdot[p] = nvalid * cin
                stage_block(acc, npix, kdot, -2, st, out_int, out_bits, p0, q0, nq)


@njit(cache=True, nogil=True, parallel=True)
def _xnor_dense(x, wt3, cin, nout, st, out_int, out_bits):
    """XNOR-popcount matrix product of ``x (M, Cw)`` words with the chunked weights ``wt3`` (:func:`chunked`);
    4 rows share each weight load.

    Work items are (group of row blocks, output-channel chunk): a chunk's weights stay in cache while the group's
    rows stream past them, and each thread fetches only its chunks' weights from memory."""
    m = x.shape[0]
    cw = x.shape[1]
    nco, _, ochunk = wt3.shape
    xf = x.reshape(m * cw)
    offs = np.arange(cw)
    nblk = (m + BLOCK - 1) // BLOCK
    ngroup = max(1, min(nblk, (TASKS + nco - 1) // nco))
    for ti in prange(ngroup * nco):
        g = ti // nco
        co = ti % nco
        q0 = co * ochunk
        nq = min(ochunk, nout - q0)
        wc = wt3[co]
        acc = np.empty((BLOCK, ochunk), np.int64)  # per-thread buffers
        kdot = np.full(BLOCK, cin, np.int64)
        for blk in range(g * nblk // ngroup, (g + 1) * nblk // ngroup):
            r0 = blk * BLOCK
            r1 = min(r0 + 1, m - 1)
            r2 = min(r0 + 2, m - 1)
            r3 = min(r0 + 3, m - 1)
            acc[:] = 0
            _popacc4(acc, xf, r0 * cw, r1 * cw, r2 * cw, r3 * cw, offs, wc)
            stage_block(acc, min(BLOCK, m - r0), kdot, -2, st, out_int, out_bits, r0, q0, nq)


# ---------------------------------------------------------------------------------------------------- wrappers


def pad_words(x: np.ndarray, cin: int, pad: tuple[int, int, int, int], pad_value: int) -> np.ndarray:
    """Copy packed words ``(N, H, W, Cw)`` into a border of +1 (channel mask) or -1/0 (zero words) pixels."""
    pt, pl, pb, pr = pad
    if not any(pad):
        return x
    n, h, w, cw = x.shape
    xp = np.empty((n, h + pt + pb, w + pl + pr, cw), np.uint64)
    xp[...] = word_mask(cin) if pad_value > 0 else np.uint64(0)
    xp[:, pt : pt + h, pl : pl + w, :] = x
    return xp


def out_chunk(k_words: int, nout: int) -> int:
    """Output channels per chunk: ``k_words x chunk`` weight words fit in :data:`CHUNK_WORDS`; a multiple of 64 (packed
    outputs stay word-aligned), at least 64, at most ``nout``."""
    c = max(64, (CHUNK_WORDS // max(k_words, 1)) // 64 * 64)
    return nout if c >= nout else c


def chunked(wt: np.ndarray) -> np.ndarray:
    """``(K, Cout)`` weight words -> ``(n_chunks, K, chunk)`` (C-contiguous per chunk; the last one zero-padded)."""
    k, nout = wt.shape
    c = out_chunk(k, nout)
    nco = -(-nout // c)
    out = np.zeros((nco, k, c), np.uint64)
    for i in range(nco):
        part = wt[:, i * c : (i + 1) * c]
        out[i, :, : part.shape[1]] = part
    return out


def conv_weights(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Cout, KH, KW, Cin)`` bits -> packed words ``(KH*KW*Cw, Cout)`` in chunks (:func:`chunked`) and
    ``(KH, KW, Cout)`` +1 counts."""
    o, kh, kw, _ = weights.shape
    wp = pack_bits(weights)  # (O, KH, KW, Cw)
    wt = np.ascontiguousarray(wp.transpose(1, 2, 3, 0)).reshape(kh * kw * wp.shape[-1], o)
    wpop = np.ascontiguousarray(weights.astype(np.int64).sum(axis=3).transpose(1, 2, 0))
    return chunked(wt), wpop


def xnor_conv_packed(
    x: PackedBits,
    wt: np.ndarray,
    wpop: np.ndarray,
    win: N.Window,
    pad_value: int,
    st: Stage,
    dtype=np.int64,
):
    """Binary convolution of packed ``x`` (prepared weights from :func:`conv_weights`) over the node's window
    ``win``, fused output stage."""
    n, h, w, _ = x.words.shape
    kw, oh, ow = win.kw, win.oh, win.ow
    nout = wpop.shape[2]
    xp = pad_words(x.words, x.n, win.pad, pad_value)
    xp = xp.reshape(n, xp.shape[1], -1)
    out_int, out_bits = alloc_outputs((n, oh, ow), st, nout, dtype)
    _xnor_conv(
        xp,
        wt,
        wpop,
        kw,
        win.sh,
        win.sw,
        win.pt,
        win.pl,
        h,
        w,
        x.n,
        pad_value == 0,
        oh,
        ow,
        nout,
        st,
        out_int.reshape(n * oh * ow, -1),
        out_bits.reshape(n * oh * ow, -1),
    )
    return finish(out_int, out_bits, st, nout)


def xnor_dense_packed(x: PackedBits, wt3: np.ndarray, nout: int, st: Stage, dtype=np.int64):
    """Binary matrix product of packed ``x (..., Cin)`` with the chunked weight words ``wt3`` (:func:`chunked`)
    of ``nout`` outputs, fused output stage."""
    lead = x.words.shape[:-1]
    m = int(np.prod(lead))
    out_int, out_bits = alloc_outputs((m,), st, nout, dtype)
    _xnor_dense(x.words.reshape(m, -1), wt3, x.n, nout, st, out_int, out_bits)
    if st.threshold:
        return PackedBits(out_bits.reshape(lead + out_bits.shape[-1:]), nout)
    return out_int.reshape(lead + (nout,))


@kernel(N.XnorConv, cost=matrix_cost)
def xnor_conv(node: N.XnorConv, ins, in_specs, out_specs):
    st = prepared(node, "stage", lambda: stage_params(node.stage, node.cout))
    if isinstance(in_specs[0].dtype, Bipolar):
        wt, wpop = prepared(node, "packed", lambda: conv_weights(node.weights))
        x = as_packed(ins[0])
        return [
            xnor_conv_packed(
                x, wt, wpop, node.window(in_specs[0].shape), node.pad_value, st, out_storage(out_specs)
            )
        ]
    ws = prepared(
        node, "int", lambda: np.ascontiguousarray(2 * node.weights.astype(np.int64).transpose(1, 2, 3, 0) - 1)
    )
    return [int_conv(ins[0], ws, node.window(in_specs[0].shape), node.pad_value, st, out_storage(out_specs))]


@kernel(N.XnorDense, cost=matrix_cost)
def xnor_dense(node: N.XnorDense, ins, in_specs, out_specs):
    st = prepared(node, "stage", lambda: stage_params(node.stage, node.cout))
    if isinstance(in_specs[0].dtype, Bipolar):
        wt3 = prepared(node, "packed", lambda: chunked(np.ascontiguousarray(pack_bits(node.weights).T)))
        return [xnor_dense_packed(as_packed(ins[0]), wt3, node.cout, st, out_storage(out_specs))]
    ws = prepared(node, "int", lambda: np.ascontiguousarray(2 * node.weights.astype(np.int64).T - 1))
    return [int_dense(ins[0], ws, st, out_storage(out_specs))]


__all__ = ["WORD_BITS", "chunked", "conv_weights", "pad_words", "xnor_conv_packed", "xnor_dense_packed"]
