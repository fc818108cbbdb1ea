"""Output type and shape inference per node type: ``infer(node, input_specs) -> output_specs``.

Exact (not requantized) outputs get a fraction width from the arithmetic and a bit width from a worst-case
bound of the magnitude, so the lowering, the simulator and the HLS types agree on every intermediate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim import nodes as N
from hwsim.registry import Registry
from hwsim.types import Bipolar, Fixed, Float, Index, TensorSpec

#: node type -> ``fn(node, input specs) -> output specs``
INFER = Registry("inference rule")


class InferError(ValueError):
    """A node does not accept its input types or shapes; the message names the node."""


def infer_rule(cls: type) -> Callable:
    """Register the type and shape inference of a node type."""
    return INFER.register(cls)


def infer(node: N.Node, ins: list[TensorSpec]) -> list[TensorSpec]:
    """Output specs of ``node`` given its input specs (raises :class:`InferError` naming the node)."""
    fn = INFER.get(type(node))
    if fn is None:
        raise InferError(f"no inference rule for node type {node.op_type}")
    return fn(node, ins)


def bits_for(lo: int, hi: int) -> tuple[int, bool]:
    """Smallest (bits, signed) two's-complement/unsigned type holding ``[lo, hi]``."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return max(1, hi.bit_length()), False
    return max(hi.bit_length(), (-lo - 1).bit_length()) + 1, True


def fixed_for(lo: int, hi: int, frac: int) -> Fixed:
    b, s = bits_for(lo, hi)
    if b > 62:
        raise InferError(f"exact intermediate needs {b} bits (> 62): range [{lo}, {hi}] at frac {frac}")
    return Fixed(b, frac, s)


def _need_fixed(node: N.Node, spec: TensorSpec, what: str = "input") -> Fixed:
    if not isinstance(spec.dtype, Fixed):
        raise InferError(f"node {node.name!r} ({node.op_type}): {what} must be fixed point, got {spec.dtype}")
    return spec.dtype


def _conv_out(node, h: int, w: int) -> tuple[int, int]:
    kh, kw = node.kernel
    sh, sw = node.stride
    pt, pl, pb, pr = node.pad
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    if oh < 1 or ow < 1:
        raise InferError(f"node {node.name!r}: window {node.kernel} larger than padded input {h}x{w}")
    return oh, ow


def _stage_out(
    node, stage: N.OutputStage, acc_lo: np.ndarray, acc_hi: np.ndarray, acc_frac: int
) -> Fixed | Bipolar:
    if stage.mode == "threshold":
        return Bipolar()
    mul = stage.mul.astype(object)
    bias = stage.bias.astype(object)
    a = [int(x) for x in acc_lo * mul]
    b = [int(x) for x in acc_hi * mul]
    lo = min(min(x, y) for x, y in zip(a, b, strict=True)) + int(bias.min())
    hi = max(max(x, y) for x, y in zip(a, b, strict=True)) + int(bias.max())
    if stage.out is not None:
        return stage.out
    return fixed_for(lo, hi, stage.frac)


def _acc_range_binary(node, k: int, xin: TensorSpec) -> tuple[np.ndarray, np.ndarray, int]:
    if isinstance(xin.dtype, Bipolar):
        return np.full(node.cout, -k, dtype=object), np.full(node.cout, k, dtype=object), 0
    f = _need_fixed(node, xin)
    m = max(abs(f.lo), abs(f.hi))
    return np.full(node.cout, -k * m, dtype=object), np.full(node.cout, k * m, dtype=object), f.frac


@infer_rule(N.InputQuant)
def _(node: N.InputQuant, ins):
    if not isinstance(ins[0].dtype, Float):
        raise InferError(f"node {node.name!r}: InputQuant takes the float graph input")
    return [TensorSpec(ins[0].shape, node.out if node.out is not None else Bipolar())]


@infer_rule(N.XnorConv)
def _(node: N.XnorConv, ins):
    h, w, c = ins[0].shape
    if c != node.cin:
        raise InferError(f"node {node.name!r}: input has {c} channels, weights expect {node.cin}")
    if isinstance(ins[0].dtype, Fixed) and node.pad_value != 0:
        raise InferError(f"node {node.name!r}: a fixed-point input needs pad_value 0")
    oh, ow = _conv_out(node, h, w)
    k = node.kernel[0] * node.kernel[1] * c
    lo, hi, frac = _acc_range_binary(node, k, ins[0])
    return [TensorSpec((oh, ow, node.cout), _stage_out(node, node.stage, lo, hi, frac))]


@infer_rule(N.XnorDense)
def _(node: N.XnorDense, ins):
    if ins[0].shape[-1] != node.cin:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} features, weights expect {node.cin}"
        )
    lo, hi, frac = _acc_range_binary(node, node.cin, ins[0])
    return [TensorSpec(ins[0].shape[:-1] + (node.cout,), _stage_out(node, node.stage, lo, hi, frac))]


def _fixed_acc(node, xin: Fixed, k: int) -> tuple[np.ndarray, np.ndarray]:
    w = node.weights.reshape(node.cout, -1).astype(object)
    pos = np.where(w > 0, w, 0).sum(axis=1)
    neg = np.where(w < 0, w, 0).sum(axis=1)
    lo = pos * xin.lo + neg * xin.hi
    hi = pos * xin.hi + neg * xin.lo
    return lo, hi


@infer_rule(N.FixedConv)
def _(node: N.FixedConv, ins):
    f = _need_fixed(node, ins[0])
    h, w, c = ins[0].shape
    if c != node.cin:
        raise InferError(f"node {node.name!r}: input has {c} channels, weights expect {node.cin}")
    oh, ow = _conv_out(node, h, w)
    lo, hi = _fixed_acc(node, f, 0)
    lo = np.minimum(lo, 0)
    hi = np.maximum(hi, 0)  # zero padding can drop terms
    return [TensorSpec((oh, ow, node.cout), _stage_out(node, node.stage, lo, hi, f.frac + node.w_frac))]


@infer_rule(N.FixedDense)
def _(node: N.FixedDense, ins):
    f = _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.cin:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} features, weights expect {node.cin}"
        )
    lo, hi = _fixed_acc(node, f, 0)
    return [
        TensorSpec(
            ins[0].shape[:-1] + (node.cout,), _stage_out(node, node.stage, lo, hi, f.frac + node.w_frac)
        )
    ]


@infer_rule(N.SlidingWindow)
def _(node: N.SlidingWindow, ins):
    h, w, c = ins[0].shape
    if isinstance(ins[0].dtype, Bipolar) and node.pad_value == 0 and any(node.pad):
        raise InferError(f"node {node.name!r}: a bipolar SlidingWindow pads with -1 or +1, not 0")
    oh, ow = _conv_out(node, h, w)
    return [TensorSpec((oh, ow, node.kernel[0] * node.kernel[1] * c), ins[0].dtype)]


@infer_rule(N.Sign)
def _(node: N.Sign, ins):
    _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.channels:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} channels, thresholds {node.channels}"
        )
    return [TensorSpec(ins[0].shape, Bipolar())]


@infer_rule(N.MultiThreshold)
def _(node: N.MultiThreshold, ins):
    _need_fixed(node, ins[0])
    return [TensorSpec(ins[0].shape, node.out)]


@infer_rule(N.DynamicSign)
def _(node: N.DynamicSign, ins):
    _need_fixed(node, ins[0])
    if len(ins[0].shape) != 3 or ins[0].shape[-1] != node.channels:
        raise InferError(
            f"node {node.name!r}: expects an (H, W, {node.channels}) feature map, got {ins[0].shape}"
        )
    return [TensorSpec(ins[0].shape, Bipolar())]


@infer_rule(N.PReLU)
@infer_rule(N.DynamicPReLU)
def _(node, ins):
    _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.channels:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} channels, parameters {node.channels}"
        )
    return [TensorSpec(ins[0].shape, node.out)]


def _exact_or(out: Fixed | None, lo: int, hi: int, frac: int) -> Fixed:
    return out if out is not None else fixed_for(lo, hi, frac)


@infer_rule(N.Add)
def _(node: N.Add, ins):
    a, b = (_need_fixed(node, s) for s in ins)
    if ins[0].shape != ins[1].shape:
        raise InferError(f"node {node.name!r}: shapes differ {ins[0].shape} vs {ins[1].shape}")
    f = max(a.frac, b.frac)
    lo = (a.lo << (f - a.frac)) + (b.lo << (f - b.frac))
    hi = (a.hi << (f - a.frac)) + (b.hi << (f - b.frac))
    return [TensorSpec(ins[0].shape, _exact_or(node.out, lo, hi, f))]


@infer_rule(N.AvgPool)
def _(node: N.AvgPool, ins):
    f = _need_fixed(node, ins[0])
    h, w, c = ins[0].shape
    node_pad = type(
        "P", (), {"kernel": node.kernel, "stride": node.stride, "pad": (0, 0, 0, 0), "name": node.name}
    )
    oh, ow = _conv_out(node_pad, h, w)
    n = node.kernel[0] * node.kernel[1]
    return [TensorSpec((oh, ow, c), _exact_or(node.out, f.lo * n, f.hi * n, f.frac + node.shift))]


@infer_rule(N.MaxPool)
def _(node: N.MaxPool, ins):
    h, w, c = ins[0].shape
    oh, ow = _conv_out(node, h, w)
    return [TensorSpec((oh, ow, c), ins[0].dtype)]


@infer_rule(N.Concat)
def _(node: N.Concat, ins):
    base = ins[0].shape[:-1]
    if any(s.shape[:-1] != base for s in ins):
        raise InferError(f"node {node.name!r}: inputs differ in leading shape {[s.shape for s in ins]}")
    c = sum(s.shape[-1] for s in ins)
    if all(isinstance(s.dtype, Bipolar) for s in ins):
        return [TensorSpec(base + (c,), Bipolar())]
    fs = [_need_fixed(node, s, "every input") for s in ins]
    f = max(x.frac for x in fs)
    lo = min(x.lo << (f - x.frac) for x in fs)
    hi = max(x.hi << (f - x.frac) for x in fs)
    return [TensorSpec(base + (c,), fixed_for(lo, hi, f))]


@infer_rule(N.Duplicate)
def _(node: N.Duplicate, ins):
    return [ins[0]] * len(node.outputs)


@infer_rule(N.GlobalPool)
def _(node: N.GlobalPool, ins):
    f = _need_fixed(node, ins[0])
    if node.pre is not None:
        f = node.pre
    h, w, c = ins[0].shape
    n = h * w
    return [TensorSpec((c,), _exact_or(node.out, f.lo * n, f.hi * n, f.frac + node.shift))]


@infer_rule(N.LabelSelect)
def _(node: N.LabelSelect, ins):
    if not isinstance(ins[0].dtype, Float):  # the logits of a float tail
        _need_fixed(node, ins[0])
    if node.k > ins[0].shape[-1]:
        raise InferError(f"node {node.name!r}: k={node.k} exceeds {ins[0].shape[-1]} classes")
    return [TensorSpec((node.k,), Index())]


@infer_rule(N.FloatTail)
def _(node: N.FloatTail, ins):
    _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.channels:
        raise InferError(f"node {node.name!r}: input has {ins[0].shape[-1]} channels, consts {node.channels}")
    return [TensorSpec(ins[0].shape, Float())]


@infer_rule(N.Requant)
def _(node: N.Requant, ins):
    _need_fixed(node, ins[0])
    return [TensorSpec(ins[0].shape, node.out)]


@infer_rule(N.Flatten)
def _(node: N.Flatten, ins):
    return [TensorSpec((int(np.prod(ins[0].shape)),), ins[0].dtype)]
