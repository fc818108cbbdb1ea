"""Float preprocessing of the graph input before its first quantizer (``2x - 1``, a per-channel scale and shift,
a float BatchNorm, ...), absorbed exactly into thresholds on the float input.

Brevitas' BNN-PYNQ models compute ``2x - 1`` in float32 before the input quantizer. The map from a float32 input
``x`` to the quantizer's output level is a monotone step function of ``x``; every float32 has an ordered integer
key (:func:`hwsim.encoding.float_key`), so the map is a monotone step function of an integer too, and thresholds
on the key realize it exactly -- the same bisection of the golden function (onnxruntime, float32) over the integer
domain as for a float BatchNorm between a matrix layer and a binarizer (:mod:`hwsim.lower.thresholds`).

Hardware: ``InputQuant(key=True)`` (the key of each input element) followed by a :class:`~hwsim.nodes.Sign`
(binary quantizer; ``invert`` where the function decreases) or a :class:`~hwsim.nodes.MultiThreshold` (a
multi-bit quantizer; the function must be non-decreasing).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim import nodes as N
from hwsim.encoding import KEY_NEG_INF, KEY_POS_INF, float_key, key_float
from hwsim.lower.convert import Converter
from hwsim.lower.errors import LoweringError, unsupported
from hwsim.lower.thresholds import GoldenFunction, multithreshold_by_bisection, sign_by_bisection
from hwsim.lower.values import Elem, HwT, InputV
from hwsim.nodes.input_quant import KEY_TYPE
from hwsim.squash import quantized
from hwsim.types import Fixed


def _key_tensor(cv: Converter, x: InputV, node) -> str:
    """The hardware tensor of the input's float keys (one InputQuant in key mode per graph input)."""
    cache = cv.__dict__.setdefault("_key_cache", {})
    if x.hw not in cache:
        (h,) = cv.b.add(N.InputQuant, f"{node.name}_key", (x.hw,), (f"{x.hw}_key",), onnx_node=node,
                        sources=[node.name], out=KEY_TYPE, key=True)  # fmt: skip
        cache[x.hw] = h
    return cache[x.hw]


def _golden(cv: Converter, node, e: Elem) -> Callable[[np.ndarray], np.ndarray]:
    """``keys (B, C) -> golden chain output (B, C)``, C the hardware channels of the input."""
    names = {s.node for s in e.steps}
    chain = [n for n in cv.m.nodes if n.name in names]
    lay = e.anchor.layout
    h, w, c = lay.hwc
    if len(lay.onnx_shape) == 3:
        if tuple(lay.hw_shape) != (h, w, c):
            raise unsupported(node, "float preprocessing of a flattened feature map is not supported")
        g = GoldenFunction(cv.m, cv.consts, chain, e.anchor.onnx, node.input[0], (c, 1, 1), node)

        def fn(k: np.ndarray) -> np.ndarray:
            return g(key_float(k)[:, :, None, None])[:, :, 0, 0]

        return fn
    g = GoldenFunction(cv.m, cv.consts, chain, e.anchor.onnx, node.input[0], tuple(lay.onnx_shape), node)

    def fn_flat(k: np.ndarray) -> np.ndarray:
        v = np.broadcast_to(key_float(k)[:, None, None, :], (k.shape[0], h, w, c))
        y = lay.onnx_to_hw(g(lay.hw_to_onnx(v))).reshape(k.shape[0], h * w, c)
        if not np.array_equal(y, np.broadcast_to(y[:, :1], y.shape), equal_nan=True):
            raise LoweringError(
                f"unsupported pattern at node {node.name} ({node.op_type}): the preprocessing of the input "
                f"({' -> '.join(n.op_type for n in chain)}) differs between positions of one channel (expected "
                "scalar or per-channel constants)",
                node.name,
                node.op_type,
            )
        return y[:, 0]

    return fn_flat


def _check_dense(node, want: Callable, got: Callable, thr: np.ndarray) -> None:
    """Beyond the samples of the bisection's own check (spread over all float32 keys): every float32 in a dense
    grid of [-16, 16] and the keys next to every threshold, where a function that is not monotone would show."""
    c = thr.shape[0]
    grid = float_key(np.linspace(-16, 16, 8193, dtype=np.float32))
    near = (thr.reshape(c, -1).T[None] + np.arange(-2, 2)[:, None, None]).reshape(-1, c)
    pts = np.concatenate([np.repeat(grid[:, None], c, axis=1), np.clip(near, KEY_NEG_INF, KEY_POS_INF)])
    bad = np.argwhere(np.asarray(want(pts)) != np.asarray(got(pts)))
    if bad.size:
        raise LoweringError(
            f"unsupported pattern at node {node.name} ({node.op_type}): the float preprocessing of the input is "
            f"not monotone in channel {int(bad[0][1])}; it cannot be realized by thresholds",
            node.name,
            node.op_type,
        )


def quantize_input(cv: Converter, node, e: Elem, out: Fixed | None, frac: int) -> HwT:
    """The quantizer ``node`` (``out=None``: BipolarQuant at scale ``2**-frac``) of the float chain ``e`` on the
    graph input, as thresholds on the input's float keys."""
    x: InputV = e.anchor
    t = node.output[0]
    c = x.layout.hwc[2]
    if x.layout.channels != c:
        raise unsupported(node, "float preprocessing of a flattened input with per-position constants")
    keys = _key_tensor(cv, x, node)
    fn = _golden(cv, node, e)
    lo = np.full(c, KEY_NEG_INF, np.int64)
    hi = np.full(c, KEY_POS_INF, np.int64)
    srcs = [s.node for s in e.steps] + [node.name]
    if out is None:
        thr, inv = sign_by_bisection(fn, lo, hi, node)
        _check_dense(
            node, lambda k: fn(k) >= 0, lambda k: (k >= thr[None, :]) ^ inv.astype(bool)[None, :], thr
        )
        (h,) = cv.b.add(N.Sign, node.name, (keys,), (t,), onnx_node=node, sources=srcs, thr=thr, invert=inv)
        return cv.new_hwt(h, t, frac, True, x.layout)
    thr = multithreshold_by_bisection(fn, lo, hi, out, node)
    _check_dense(node, lambda k: quantized(fn(k), out),
                 lambda k: out.lo + (k[:, :, None] >= thr[None, :, :]).sum(axis=-1), thr)  # fmt: skip
    (h,) = cv.b.add(N.MultiThreshold, node.name, (keys,), (t,), onnx_node=node, sources=srcs, thr=thr,
                    base=int(out.lo), out=out)  # fmt: skip
    return cv.new_hwt(h, t, out.frac, False, x.layout)
