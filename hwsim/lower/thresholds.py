"""Thresholds of binarization and requantization sites.

Exact path (quantized parameters, the dybnn models): ``acc * mul + bias >= 0`` on integers, solved with Python
integer arithmetic (:func:`affine_sign_thresholds`).

Golden-function path (float parameters, e.g. a float ``BatchNormalization`` in a foreign Brevitas model): the
elementwise ONNX chain between an exact integer tensor and the quantizer is cut out into a tiny ONNX model and run
in onnxruntime, the same float32 kernels that ``execute_onnx`` uses, and the integer where each output level
starts is found by bisection over the integer input domain (:class:`GoldenFunction`, :func:`sign_by_bisection`,
:func:`multithreshold_by_bisection`). The result is exact *with respect to onnxruntime*: PyTorch may evaluate
the same float function with a different rounding (e.g. fused BatchNorm), and in rare elements differ by one ulp,
which can move a sign or a quantization level (measured figures in ``docs/sources.md``). Monotonicity
is assumed by the bisection and then checked: exhaustively when the domain is small, else on samples.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from hwsim.lower.errors import LoweringError
from hwsim.lower.frontend import Const, OnnxModel
from hwsim.ranges import clamp_thresholds
from hwsim.squash import first_true, quantized
from hwsim.types import Fixed

#: exhaustive monotonicity check up to this many (value, channel) evaluations
EXHAUSTIVE_LIMIT = 1 << 22
#: random samples per channel otherwise
CHECK_SAMPLES = 2048


def affine_sign_thresholds(
    mul: np.ndarray, bias: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``bit = (acc * mul + bias >= 0)`` as ``(acc >= thr) XOR invert`` for integer ``acc`` in ``[lo, hi]``.

    ``mul > 0``: ``thr = ceil(-bias / mul)``; ``mul < 0``: ``thr = floor(bias / -mul) + 1`` and ``invert``;
    ``mul == 0``: a constant output, ``thr = lo`` with ``invert = (bias < 0)``. Thresholds are clamped to
    ``[lo, hi + 1]`` (:func:`hwsim.ranges.clamp_thresholds`, the rule the emitters apply too).
    """
    thr, inv = [], []
    for m, b, a in zip(mul, bias, lo, strict=True):
        m, b, a = int(m), int(b), int(a)
        if m > 0:
            t, i = -(b // m), 0
        elif m < 0:
            t, i = b // (-m) + 1, 1
        else:
            t, i = a, int(b < 0)
        thr.append(t)
        inv.append(i)
    return clamp_thresholds(np.array(thr, dtype=object), lo, hi), np.array(inv, dtype=np.uint8)


class GoldenFunction:
    """An elementwise chain of ONNX nodes from tensor ``src`` to tensor ``dst``, runnable on per-channel probes.

    Calling it with ``x`` of shape ``(B, *probe_shape)`` (float32) returns the chain's output, computed by
    onnxruntime. For a feature map ``(C, H, W)`` the probe is ``(C, 1, 1)`` (the chain must be per-channel: every
    constant is reduced to one value per channel, and a constant that varies over H, W is an error).
    """

    def __init__(
        self,
        model: OnnxModel,
        consts: dict[str, Const],
        nodes: list[onnx.NodeProto],
        src: str,
        dst: str,
        probe_shape: tuple[int, ...],
        where: onnx.NodeProto,
    ) -> None:
        import onnxruntime as ort

        self.probe_shape = tuple(probe_shape)
        inits = []
        seen = set()
        for n in nodes:
            for t in n.input:
                if t and t in consts and t not in seen:
                    seen.add(t)
                    inits.append(numpy_helper.from_array(self._reduce(consts[t].value, where), t))
        x = helper.make_tensor_value_info(src, onnx.TensorProto.FLOAT, ["B", *self.probe_shape])
        y = helper.make_tensor_value_info(dst, onnx.TensorProto.FLOAT, None)
        g = helper.make_graph(list(nodes), "golden", [x], [y], initializer=inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", model.opset)])
        m.ir_version = min(m.ir_version, 9)
        try:
            self.sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise LoweringError(
                f"unsupported pattern at node {where.name} ({where.op_type}): cannot evaluate the float function "
                f"{' -> '.join(n.op_type for n in nodes)} per channel ({e})",
                where.name,
                where.op_type,
            ) from None
        self.src = src
        self.where = where

    def _reduce(self, v: np.ndarray, where: onnx.NodeProto) -> np.ndarray:
        v = np.asarray(v)
        if len(self.probe_shape) == 3 and v.ndim >= 2 and (v.shape[-1] > 1 or v.shape[-2] > 1):
            if not (np.all(v == v[..., :1, :1])):
                raise LoweringError(
                    f"unsupported pattern at node {where.name} ({where.op_type}): a constant of the float function "
                    "varies over the spatial axes (expected one value per channel)",
                    where.name,
                    where.op_type,
                )
            v = np.ascontiguousarray(v[..., :1, :1])
        return v

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.src: np.ascontiguousarray(x, dtype=np.float32)})[0]


def _check_points(lo: np.ndarray, hi: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer points per channel to check ``(P, C)``: every point when small, else samples and the ends."""
    span = int((hi - lo).max()) + 1
    if span * lo.size <= EXHAUSTIVE_LIMIT:
        pts = lo[None, :] + np.arange(span)[:, None]
        return np.minimum(pts, hi[None, :])
    r = rng.random((CHECK_SAMPLES, lo.size))
    pts = lo[None, :] + np.floor(r * (hi - lo + 1)[None, :]).astype(np.int64)
    return np.concatenate([lo[None, :], hi[None, :], pts], axis=0)


def sign_by_bisection(
    value_of: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, where: onnx.NodeProto
) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel ``(thr, invert)`` with ``golden(q) >= 0  <=>  (q >= thr) XOR invert`` for integer ``q`` in
    ``[lo, hi]``; ``value_of(q)`` maps an integer array ``(B, C)`` to the golden function's values ``(B, C)``."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)

    def bit(q: np.ndarray) -> np.ndarray:
        return value_of(q) >= 0

    b_lo = bit(lo[None, :])[0]
    b_hi = bit(hi[None, :])[0]
    increasing = ~b_lo & b_hi
    decreasing = b_lo & ~b_hi
    up = first_true(lambda q: bit(q[None, :])[0], lo, hi)  # first bit 1
    down = first_true(lambda q: ~bit(q[None, :])[0], lo, hi)  # first bit 0
    thr = np.where(increasing, up, np.where(decreasing, down, lo))
    inv = np.where(decreasing, 1, np.where(increasing, 0, (~b_lo).astype(np.int64))).astype(np.uint8)
    pts = _check_points(lo, hi, np.random.default_rng(0))
    got = (pts >= thr[None, :]) ^ inv.astype(bool)[None, :]
    want = bit(pts)
    if not np.array_equal(got, want):
        c = int(np.argwhere(got != want)[0][1])
        raise LoweringError(
            f"unsupported pattern at node {where.name} ({where.op_type}): the float function before this quantizer "
            f"is not monotone in channel {c}; it cannot be realized by one threshold",
            where.name,
            where.op_type,
        )
    return thr.astype(np.int64), inv


def multithreshold_by_bisection(
    value_of: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    out: Fixed,
    where: onnx.NodeProto,
) -> np.ndarray:
    """Thresholds ``(C, T)`` with ``quant(golden(q)) == out.lo + #{t : q >= thr[c, t]}`` for ``q`` in ``[lo, hi]``.

    ``quant`` rounds half to even at ``out.frac`` and saturates to ``out`` (QONNX ``Quant``); the golden function
    must be non-decreasing in every channel.
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    c = lo.size
    levels = out.hi - out.lo
    if levels > 255:
        raise LoweringError(
            f"unsupported pattern at node {where.name} ({where.op_type}): a float function feeding a {out.bits}-bit "
            "quantizer needs more than 255 thresholds per channel (at most 8 bits are supported)",
            where.name,
            where.op_type,
        )

    def level(q: np.ndarray) -> np.ndarray:
        return quantized(value_of(q), out)

    if np.any(level(lo[None, :])[0] > level(hi[None, :])[0]):
        ch = int(np.argmax(level(lo[None, :])[0] > level(hi[None, :])[0]))
        raise LoweringError(
            f"unsupported pattern at node {where.name} ({where.op_type}): the float function before this quantizer "
            f"decreases in channel {ch} (MultiThreshold realizes non-decreasing maps only)",
            where.name,
            where.op_type,
        )
    ks = np.arange(out.lo + 1, out.hi + 1, dtype=np.int64)  # level k starts at thr[:, k - lo - 1]
    lo_t = np.repeat(lo[None, :], levels, axis=0)
    hi_t = np.repeat(hi[None, :], levels, axis=0)

    def pred(q: np.ndarray) -> np.ndarray:
        return level(q) >= ks[:, None]

    thr = first_true(pred, lo_t, hi_t).T  # (C, T)
    pts = _check_points(lo, hi, np.random.default_rng(0))
    got = out.lo + (pts[:, :, None] >= thr[None, :, :]).sum(axis=-1)
    if not np.array_equal(got, level(pts)):
        ch = int(np.argwhere(got != level(pts))[0][1])
        raise LoweringError(
            f"unsupported pattern at node {where.name} ({where.op_type}): the float function before this quantizer "
            f"is not monotone in channel {ch}",
            where.name,
            where.op_type,
        )
    assert thr.shape == (c, levels)
    return thr.astype(np.int64)
