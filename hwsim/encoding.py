"""The one source of truth for binary and fixed-point encodings in dybnn.

Bipolar values
    A binary activation or weight takes the values -1 and +1. It is stored as a bit: **bit 1 is +1, bit 0 is -1**
    (the Larq Compute Engine convention is the opposite; FINN's ``BINARY`` type agrees with ours). A binarization
    site outputs +1 iff ``x >= threshold``; ``sign(0) = +1``, as in Brevitas (``x >= 0``) and QONNX
    ``BipolarQuant``.

Bit order and packing
    Tensors are channels-last (``N, H, W, C`` or ``N, C``). Packing runs along the last axis: element ``c`` goes to
    word ``c // 64``, bit ``c % 64`` (least significant bit first) of a ``uint64``. The unused high bits of the last
    word are 0. The HLS code uses the same order with ``ap_uint<SIMD>`` words: element ``i`` of a SIMD group is
    bit ``i``.

XNOR-popcount identity
    For ``a, w`` in {-1, +1}^K encoded as bits ``A, W``::

        dot(a, w) = sum_k a_k w_k = 2 * popcount(XNOR(A, W)) - K = K - 2 * popcount(XOR(A, W))

    Padding bits in the last word are excluded from K and masked out of the XOR.

Padding of binary convolutions
    A model chooses the value of the border: +1, -1 (both bipolar: the border is an ordinary bit), or 0 (ReActNet;
    a zero contributes nothing). With 0-padding the dot product runs over the K_valid in-map positions only:
    ``dot = K_valid - 2 * popcount(XOR(A, W) & valid)``.

Fixed point
    A real-valued tensor is an integer ``q`` with a power-of-two scale: value ``= q * 2**-frac``. ``bits`` and
    ``signed`` give the saturation range (``[-2**(bits-1), 2**(bits-1)-1]`` or ``[0, 2**bits - 1]``). Requantization
    to a type with fewer fraction bits rounds half to even (``torch.round``, ``np.round``, HLS ``AP_RND_CONV``) and
    saturates (``AP_SAT``). Arithmetic is done in int64 and must never overflow (the lowering bounds every
    intermediate).

Ordered float keys
    A graph input preprocessed by float operations (``2x - 1``, a float BatchNorm, ...) before its quantizer is
    quantized by thresholds on the float32 value itself. The hardware compares integers: the **key** of a float32
    ``x`` with bit pattern ``b`` (int32) is ``b`` when ``b >= 0`` and ``-(b & 0x7fffffff)`` otherwise. The key is
    strictly increasing in ``x`` over the non-NaN floats, ``-0.0`` and ``+0.0`` share the key 0, and
    ``x >= y <=> key(x) >= key(y)`` (:func:`float_key`, :func:`key_float`). NaN has no defined key order.
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 64


def bits_from_bipolar(x: np.ndarray) -> np.ndarray:
    """Map a {-1,+1} array to bits {0,1} (uint8). Raises if any element is not +-1."""
    x = np.asarray(x)
    if not np.all((x == 1) | (x == -1)):
        raise ValueError("bits_from_bipolar: input holds values other than -1 and +1")
    return (x > 0).astype(np.uint8)


def bipolar_from_bits(b: np.ndarray) -> np.ndarray:
    """Map bits {0,1} to {-1,+1} (int8)."""
    return (2 * np.asarray(b, dtype=np.int8) - 1).astype(np.int8)


def binarize(x: np.ndarray, threshold: np.ndarray | int = 0) -> np.ndarray:
    """Bit 1 (+1) iff ``x >= threshold``; integer inputs only (compare on a common fixed-point grid first)."""
    return (np.asarray(x) >= threshold).astype(np.uint8)


def n_words(n: int) -> int:
    """Number of 64-bit words holding ``n`` bits."""
    return (n + WORD_BITS - 1) // WORD_BITS


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack the last axis of a {0,1} array into uint64 words, LSB first: element c -> word c//64, bit c%64."""
    bits = np.asarray(bits, dtype=np.uint8)
    n = bits.shape[-1]
    nw = n_words(n)
    padded = np.zeros(bits.shape[:-1] + (nw * WORD_BITS,), dtype=np.uint8)
    padded[..., :n] = bits
    # np.packbits with bitorder little packs 8 elements into a byte, LSB first; 8 bytes little-endian -> uint64
    by = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(by).view("<u8").astype(np.uint64, copy=False).reshape(bits.shape[:-1] + (nw,))


def unpack_bits(words: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: the first ``n`` bits of the last axis, as uint8 {0,1}."""
    words = np.ascontiguousarray(np.asarray(words, dtype=np.uint64))
    by = words.view(np.uint8).reshape(words.shape[:-1] + (words.shape[-1] * 8,))
    return np.unpackbits(by, axis=-1, bitorder="little")[..., :n]


def popcount64(x: np.ndarray) -> np.ndarray:
    """Population count of uint64 words (numpy reference; kernels use LLVM ctpop)."""
    x = np.asarray(x, dtype=np.uint64)
    return np.unpackbits(x.view(np.uint8).reshape(x.shape + (8,)), axis=-1).sum(axis=-1).astype(np.int64)


def xnor_dot(a_bits: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """``dot = 2 * popcount(XNOR(a, w)) - K`` over the last axis of two bit arrays (broadcasting)."""
    a = np.asarray(a_bits, dtype=np.int64)
    w = np.asarray(w_bits, dtype=np.int64)
    k = a.shape[-1]
    matches = (a == w).sum(axis=-1)
    return 2 * matches - k


# --------------------------------------------------------------------------------------------------------------
# fixed point


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """Saturation bounds of a ``bits``-bit integer."""
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def shift_round_half_even(q: np.ndarray, shift: int) -> np.ndarray:
    """``round_half_even(q * 2**-shift)`` for int64 ``q`` and ``shift >= 0``; exact integer arithmetic.

    With ``shift < 0`` it multiplies by ``2**-shift`` (exact). This is HLS ``AP_RND_CONV``.
    """
    q = np.asarray(q, dtype=np.int64)
    if shift <= 0:
        return q << np.int64(-shift)
    s = np.int64(shift)
    floor = q >> s  # arithmetic shift: floor division
    rem = q - (floor << s)  # in [0, 2**shift)
    half = np.int64(1) << (s - 1)
    up = (rem > half) | ((rem == half) & ((floor & 1) == 1))
    return floor + up.astype(np.int64)


def requantize(q: np.ndarray, frac_in: int, frac_out: int, bits: int, signed: bool) -> np.ndarray:
    """Requantize ``q * 2**-frac_in`` to ``bits``-bit fixed point with ``frac_out`` fraction bits (RNE, saturate)."""
    r = shift_round_half_even(q, frac_in - frac_out)
    lo, hi = int_range(bits, signed)
    return np.clip(r, lo, hi)


def align(q: np.ndarray, frac_in: int, frac_out: int) -> np.ndarray:
    """Exactly re-express ``q * 2**-frac_in`` with ``frac_out >= frac_in`` fraction bits (a left shift)."""
    if frac_out < frac_in:
        raise ValueError(f"align: cannot express frac {frac_in} exactly with {frac_out} fraction bits")
    return np.asarray(q, dtype=np.int64) << np.int64(frac_out - frac_in)


def frac_of_scale(scale: float) -> int:
    """The ``frac`` of a power-of-two scale ``2**-frac``; raises if the scale is not a power of two."""
    s = float(scale)
    if s <= 0:
        raise ValueError(f"scale {scale} is not positive")
    m, e = np.frexp(s)
    if m != 0.5:
        raise ValueError(f"scale {scale!r} is not a power of two")
    return int(1 - e)


def to_fixed_exact(x: np.ndarray, frac: int) -> np.ndarray:
    """Integers ``q`` with ``x == q * 2**-frac`` exactly; raises if some element is not on that grid."""
    x64 = np.asarray(x, dtype=np.float64)
    q = np.ldexp(x64, frac)
    qi = np.rint(q)
    if not np.array_equal(q, qi):
        raise ValueError(f"values are not on the 2**-{frac} grid")
    return qi.astype(np.int64)


def finest_frac(x: np.ndarray) -> int:
    """The smallest ``frac`` such that every element of the float array ``x`` is an integer times ``2**-frac``."""
    x64 = np.asarray(x, dtype=np.float64).ravel()
    x64 = x64[x64 != 0]
    if x64.size == 0:
        return 0
    m, e = np.frexp(x64)  # x = m * 2**e, 0.5 <= |m| < 1, m has <= 53 bits
    # number of fraction bits of m: smallest t with m * 2**t integer
    mi = np.ldexp(m, 53).astype(np.int64)
    tz = np.zeros(mi.shape, dtype=np.int64)
    v = np.abs(mi)
    for b in (32, 16, 8, 4, 2, 1):
        mask = (v & ((np.int64(1) << b) - 1)) == 0
        tz += np.where(mask, b, 0)
        v = np.where(mask, v >> b, v)
    frac = 53 - tz - e
    return int(frac.max())


#: keys of -inf and +inf (the float32 domain of a key threshold search)
KEY_NEG_INF = -0x7F800000
KEY_POS_INF = 0x7F800000


def float_key(x: np.ndarray) -> np.ndarray:
    """The ordered integer key (int64) of float32 values (see the module docstring)."""
    b = np.ascontiguousarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(b >= 0, b, -(b & 0x7FFFFFFF))


def key_float(k: np.ndarray) -> np.ndarray:
    """The float32 value of an ordered key (the inverse of :func:`float_key`; key 0 is ``+0.0``)."""
    k = np.asarray(k, dtype=np.int64)
    b = np.where(k >= 0, k, (-k) | 0x80000000).astype(np.uint32)
    return b.view(np.float32)
