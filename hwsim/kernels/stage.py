"""The fused output stage of the matrix units (XnorConv/Dense, FixedConv/Dense), applied per output row.

``mode="affine"``: ``y = acc * mul[c] + bias[c]`` then the optional requantization (int64 arithmetic, stored in
the output's storage dtype).
``mode="threshold"``: bit ``= (acc >= thr[c]) XOR invert[c]``, packed straight into uint64 words (the
binarize-and-pack of the producing node: no uint8 bit tensor is ever built).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from hwsim.encoding import WORD_BITS, n_words
from hwsim.kernels.bits import PackedBits
from hwsim.kernels.fixed import requant, requant_params
from hwsim.nodes import OutputStage


class Stage(NamedTuple):
    """An :class:`~hwsim.nodes.OutputStage` as plain kernel arguments (``threshold``: 1 for the bit mode)."""

    threshold: int
    mul: np.ndarray
    bias: np.ndarray
    rq_on: int
    rq_shift: int
    rq_lo: int
    rq_hi: int
    thr: np.ndarray
    invert: np.ndarray


def stage_params(stage: OutputStage, channels: int) -> Stage:
    """The kernel form of ``stage`` for ``channels`` outputs (int64 arrays; unused fields zero-filled)."""
    empty = np.zeros(channels, np.int64)
    if stage.mode == "threshold":
        thr = np.ascontiguousarray(stage.thr, dtype=np.int64)
        inv = np.ascontiguousarray(stage.invert.astype(bool), dtype=np.uint8)
        return Stage(1, empty, empty, 0, 0, 0, 0, thr, inv)
    rq = requant_params(stage.frac, stage.out)
    mul = np.ascontiguousarray(stage.mul, dtype=np.int64)
    bias = np.ascontiguousarray(stage.bias, dtype=np.int64)
    return Stage(0, mul, bias, rq.on, rq.shift, rq.lo, rq.hi, empty, np.zeros(channels, np.uint8))


@njit(cache=True, nogil=True, inline="always")
def stage_block(acc, npix, kdot, sgn, st, out_int, out_bits, row0, q0, nq):
    """Finish accumulator rows ``acc[p, :nq]`` (``p < npix``) for the output channels ``q0 .. q0+nq-1`` into output
    rows ``row0 + p`` of the 2-D ``out_int`` (affine) or ``out_bits`` (threshold, packed; ``q0 % 64 == 0``).

    The stage input is ``dot[p, c] = kdot[p] + sgn * acc[p, c]`` (``kdot = K, sgn = -2`` turns a popcount of XORs
    into the bipolar dot product; ``0, 1`` passes an integer accumulator), computed in the same pass. Plain 2-D
    indexing, no array views: this runs once per output pixel and must stay cheap for narrow layers. Channel
    indices are unsigned: Numba then emits no negative-index wraparound, which would stop the vectorization.
    """
    u0 = np.uint64(q0)
    for p in range(npix):
        kd = kdot[p]
        r = row0 + p
        if st.threshold == 0:
            if st.rq_on == 0:
                for q in range(nq):
                    c = u0 + np.uint64(q)
                    out_int[r, c] = (kd + sgn * acc[p, q]) * st.mul[c] + st.bias[c]
            else:
                for q in range(nq):
                    c = u0 + np.uint64(q)
                    y = (kd + sgn * acc[p, q]) * st.mul[c] + st.bias[c]
                    out_int[r, c] = requant(y, st.rq_on, st.rq_shift, st.rq_lo, st.rq_hi)
        else:
            for w in range(q0 // WORD_BITS, (q0 + nq + WORD_BITS - 1) // WORD_BITS):
                v = np.uint64(0)
                top = min(WORD_BITS, q0 + nq - w * WORD_BITS)
                for b in range(top):
                    c = np.uint64(w * WORD_BITS + b)
                    bit = ((kd + sgn * acc[p, c - u0]) >= st.thr[c]) != (st.invert[c] != 0)
                    v |= np.uint64(bit) << np.uint64(b)
                out_bits[r, w] = v


def alloc_outputs(
    lead: tuple[int, ...], st: Stage, nout: int, dtype=np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """Output buffers of a matrix unit: integers ``lead + (C,)`` of ``dtype`` for the affine stage or packed words
    ``lead + (ceil(C/64),)`` for the threshold stage; the unused one is empty (its last axis has length 0)."""
    if st.threshold:
        return np.empty(lead + (0,), dtype), np.empty(lead + (n_words(nout),), np.uint64)
    return np.empty(lead + (nout,), dtype), np.empty(lead + (0,), np.uint64)


def finish(out_int: np.ndarray, out_bits: np.ndarray, st: Stage, nout: int) -> np.ndarray | PackedBits:
    """The kernel output: :class:`PackedBits` for the threshold stage, the integer array otherwise."""
    return PackedBits(out_bits, nout) if st.threshold else out_int
