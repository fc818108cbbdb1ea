"""Packed bipolar tensors and the bit primitives every kernel shares.

Packing follows :mod:`hwsim.encoding` exactly: the last (channel) axis of a ``{0,1}`` tensor is packed into
``uint64`` words, element ``c`` -> word ``c // 64``, bit ``c % 64`` (LSB first), unused high bits of the last word
0. A :class:`PackedBits` carries the words and the logical channel count ``n``; it unpacks lazily to the uint8 bit
array of the numpy reference whenever numpy asks for an array (``np.asarray``, ``assert_array_equal``), so a
kernel output compares directly with a reference output.

``popcount`` is the one population count of the package: LLVM ``ctpop`` on an i64 (pynndescent's approach), which
the loop vectorizer turns into ``vpopcntq`` on AVX-512 VPOPCNTDQ machines.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from hwsim.encoding import WORD_BITS, n_words, pack_bits, unpack_bits
from hwsim.types import Fixed

# ---------------------------------------------------------------------------------------------------- popcount

if numba.config.DISABLE_JIT:  # pure-Python mode (coverage runs): intrinsics cannot be called from Python

    def popcount(x: Any) -> int:
        """Number of set bits of a uint64 word, as int64."""
        return int(x).bit_count()

else:

    @intrinsic
    def popcount(typingctx, x):  # noqa: ARG001 - numba intrinsic signature
        """Number of set bits of a uint64 word, as int64 (LLVM ``ctpop.i64``; same bits, signed type)."""
        if x != types.uint64:
            return None
        sig = types.int64(types.uint64)

        def codegen(context, builder, signature, args):
            fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
            return builder.call(fn, args)

        return sig, codegen


# ---------------------------------------------------------------------------------------------------- PackedBits


class PackedBits:
    """A bipolar tensor of logical shape ``words.shape[:-1] + (n,)``, stored packed (see module docstring).

    Behaves like the uint8 bit array of the reference where numpy needs one (``__array__``, ``astype``,
    ``reshape``, ``copy``, ``shape``, ``dtype``); kernels read :attr:`words` directly. Treat it as immutable.
    """

    __slots__ = ("n", "words")
    __array_priority__ = 10.0

    def __init__(self, words: np.ndarray, n: int) -> None:
        if not isinstance(words, np.ndarray) or words.dtype != np.uint64 or words.ndim < 1:
            raise TypeError("PackedBits: words must be a uint64 array with at least one axis")
        if words.shape[-1] != n_words(n):
            raise ValueError(f"PackedBits: {words.shape[-1]} words cannot hold exactly {n} bits")
        self.words = np.ascontiguousarray(words)
        self.n = int(n)

    @staticmethod
    def from_bits(bits: np.ndarray) -> PackedBits:
        """Pack a ``{0,1}`` array along its last axis (:func:`hwsim.encoding.pack_bits`)."""
        bits = np.asarray(bits)
        return PackedBits(pack_bits(bits), bits.shape[-1])

    def unpack(self) -> np.ndarray:
        """The uint8 ``{0,1}`` array of the reference (:func:`hwsim.encoding.unpack_bits`)."""
        return np.ascontiguousarray(unpack_bits(self.words, self.n))

    # -- the ndarray surface the reference functions and numpy's testing helpers use
    @property
    def shape(self) -> tuple[int, ...]:
        return self.words.shape[:-1] + (self.n,)

    @property
    def ndim(self) -> int:
        return self.words.ndim

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.words.shape[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        a = self.unpack()
        return a if dtype is None else a.astype(dtype)

    def astype(self, dtype: Any, copy: bool = True) -> np.ndarray:
        return self.unpack().astype(dtype)

    def reshape(self, *shape: Any) -> np.ndarray:
        return self.unpack().reshape(*shape)

    def copy(self) -> PackedBits:
        return PackedBits(self.words.copy(), self.n)

    def __getitem__(self, idx: Any) -> np.ndarray:
        return self.unpack()[idx]

    def __repr__(self) -> str:
        return f"PackedBits(shape={self.shape}, words={self.words.shape})"


def as_packed(x: PackedBits | np.ndarray) -> PackedBits:
    """A bipolar kernel input as :class:`PackedBits` (packs a plain uint8 bit array)."""
    if isinstance(x, PackedBits):
        return x
    return PackedBits.from_bits(np.asarray(x))


def as_array(x: Any) -> Any:
    """A bipolar tensor as the reference represents it (unpacks :class:`PackedBits`, passes anything else)."""
    return x.unpack() if isinstance(x, PackedBits) else x


def to_reference(x: Any, spec: Any) -> Any:
    """A kernel tensor in the reference representation of its :class:`~hwsim.types.TensorSpec`: bipolar as uint8
    bits, fixed point as int64 (kernels may store it narrower, see :func:`hwsim.kernels.fixed.storage_dtype`)."""
    if isinstance(x, PackedBits):
        return x.unpack()
    if isinstance(spec.dtype, Fixed) and isinstance(x, np.ndarray) and x.dtype != np.int64:
        return x.astype(np.int64)
    return x


def word_mask(n: int) -> np.ndarray:
    """One row of words with the ``n`` valid bits set (a +1 border pixel of an ``n``-channel map)."""
    return pack_bits(np.ones(n, np.uint8))


# ---------------------------------------------------------------------------------------------------- bit moves


@njit(cache=True, nogil=True)
def _insert_bits(dst: np.ndarray, src: np.ndarray, offset: int) -> None:
    """OR the words ``src`` (high unused bits 0) into ``dst`` starting at bit ``offset`` (``dst`` 1-D)."""
    nw = dst.shape[0]
    w0 = offset // WORD_BITS
    s = offset % WORD_BITS
    if s == 0:
        for k in range(src.shape[0]):
            if w0 + k < nw:
                dst[w0 + k] |= src[k]
        return
    sl = np.uint64(s)
    sr = np.uint64(WORD_BITS - s)
    for k in range(src.shape[0]):
        v = src[k]
        dst[w0 + k] |= v << sl
        if w0 + k + 1 < nw:
            dst[w0 + k + 1] |= v >> sr


@njit(cache=True, nogil=True)
def _concat_rows(dst: np.ndarray, src: np.ndarray, offset: int) -> None:
    """``dst[r]`` gets ``src[r]`` inserted at bit ``offset`` for every row ``r`` (2-D word arrays)."""
    for r in range(src.shape[0]):
        _insert_bits(dst[r], src[r], offset)


@njit(cache=True, nogil=True)
def _flatten_rows(dst: np.ndarray, src: np.ndarray, n: int) -> None:
    """``dst[r]`` = the ``P`` packed groups ``src[r, p]`` (``n`` bits each) laid end to end (``src (R, P, W)``)."""
    for r in range(src.shape[0]):
        for p in range(src.shape[1]):
            _insert_bits(dst[r], src[r, p], p * n)


def concat_packed(parts: list[PackedBits]) -> PackedBits:
    """Channel concatenation of packed tensors with equal leading shapes."""
    lead = parts[0].words.shape[:-1]
    total = sum(p.n for p in parts)
    rows = int(np.prod(lead))
    out = np.zeros((rows, n_words(total)), np.uint64)
    off = 0
    for p in parts:
        _concat_rows(out, p.words.reshape(rows, -1), off)
        off += p.n
    return PackedBits(out.reshape(lead + (out.shape[-1],)), total)


def flatten_packed(x: PackedBits) -> PackedBits:
    """Channels-last flatten ``(N, ..., C) -> (N, prod)`` of a packed tensor (words move, bits shift)."""
    nb = x.words.shape[0]
    groups = int(np.prod(x.words.shape[1:-1]))
    total = groups * x.n
    if x.n % WORD_BITS == 0:  # whole words: a reshape
        return PackedBits(x.words.reshape(nb, -1), total)
    out = np.zeros((nb, n_words(total)), np.uint64)
    _flatten_rows(out, x.words.reshape(nb, groups, -1), x.n)
    return PackedBits(out, total)


__all__ = [
    "PackedBits",
    "as_array",
    "as_packed",
    "to_reference",
    "concat_packed",
    "flatten_packed",
    "popcount",
    "word_mask",
]
