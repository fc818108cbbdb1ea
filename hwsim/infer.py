"""Output type and shape inference per node type: ``infer(node, input_specs) -> output_specs``.

Exact (not requantized) outputs get a fraction width from the arithmetic and a bit width from a worst-case
bound of the magnitude, so the lowering, the simulator and the HLS types agree on every intermediate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim import nodes as N
from hwsim.ranges import RangeError, bits_for, node_ranges
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


def fixed_for(lo: int, hi: int, frac: int) -> Fixed:
    b, s = bits_for(lo, hi)
    if b > 62:
        raise InferError(f"exact intermediate needs {b} bits (> 62): range [{lo}, {hi}] at frac {frac}")
    return Fixed(b, frac, s)


def _need_fixed(node: N.Node, spec: TensorSpec, what: str = "input") -> Fixed:
    if not isinstance(spec.dtype, Fixed):
        raise InferError(f"node {node.name!r} ({node.op_type}): {what} must be fixed point, got {spec.dtype}")
    return spec.dtype


def _conv_out(node: N.WindowNode, shape: tuple[int, ...]) -> tuple[int, int]:
    """Output height and width from the node's :class:`~hwsim.nodes.Window` (the one geometry value)."""
    try:
        win = node.window(shape)
    except N.NodeValidationError as e:
        raise InferError(str(e)) from None
    return win.oh, win.ow


def _exact(node: N.Node, ins: list[TensorSpec], frac: int) -> Fixed:
    """The smallest type of the node's exact output interval (:func:`hwsim.ranges.node_ranges`) at ``frac``."""
    try:
        out = node_ranges(node, ins).out
    except RangeError as e:
        raise InferError(str(e)) from None
    return fixed_for(out.lo, out.hi, frac)


def _stage_out(node: N.MatrixNode, ins: list[TensorSpec]) -> Fixed | Bipolar:
    stage = node.stage
    if stage.mode == "threshold":
        return Bipolar()
    if stage.out is not None:
        return stage.out
    return _exact(node, ins, stage.frac)


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
    oh, ow = _conv_out(node, ins[0].shape)
    return [TensorSpec((oh, ow, node.cout), _stage_out(node, ins))]


@infer_rule(N.XnorDense)
def _(node: N.XnorDense, ins):
    if ins[0].shape[-1] != node.cin:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} features, weights expect {node.cin}"
        )
    return [TensorSpec(ins[0].shape[:-1] + (node.cout,), _stage_out(node, ins))]


@infer_rule(N.FixedConv)
def _(node: N.FixedConv, ins):
    _need_fixed(node, ins[0])
    h, w, c = ins[0].shape
    if c != node.cin:
        raise InferError(f"node {node.name!r}: input has {c} channels, weights expect {node.cin}")
    oh, ow = _conv_out(node, ins[0].shape)
    return [TensorSpec((oh, ow, node.cout), _stage_out(node, ins))]


@infer_rule(N.FixedDense)
def _(node: N.FixedDense, ins):
    _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.cin:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} features, weights expect {node.cin}"
        )
    return [TensorSpec(ins[0].shape[:-1] + (node.cout,), _stage_out(node, ins))]


@infer_rule(N.SlidingWindow)
def _(node: N.SlidingWindow, ins):
    h, w, c = ins[0].shape
    if isinstance(ins[0].dtype, Bipolar) and node.pad_value == 0 and any(node.pad):
        raise InferError(f"node {node.name!r}: a bipolar SlidingWindow pads with -1 or +1, not 0")
    oh, ow = _conv_out(node, ins[0].shape)
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


def _forwards(node: N.Node, ins: list[TensorSpec]) -> list[TensorSpec]:
    """A dynamic unit's outputs after the first (only in a design's stream graph, ``hls.timing.stream_graph``):
    its input frame as buffered, which the residual shortcut reads from the unit's frame buffer."""
    return [ins[0]] * (len(node.outputs) - 1)


def _context_input(node: N.Node, ins: list[TensorSpec]) -> None:
    """The context vector of a dynamic unit with a context hyper function: ``(C0,)`` of the statistic's type."""
    if not node.hyper.context:
        return
    want = TensorSpec((int(node.hyper.w1.shape[1]),), node.hyper.stat)
    if ins[1] != want:
        raise InferError(f"node {node.name!r}: context input must be {want}, got {ins[1]}")


@infer_rule(N.DynamicSign)
def _(node: N.DynamicSign, ins):
    _need_fixed(node, ins[0])
    _context_input(node, ins)
    if len(ins[0].shape) != 3 or ins[0].shape[-1] != node.channels:
        raise InferError(
            f"node {node.name!r}: expects an (H, W, {node.channels}) feature map, got {ins[0].shape}"
        )
    return [TensorSpec(ins[0].shape, Bipolar()), *_forwards(node, ins)]


@infer_rule(N.PReLU)
@infer_rule(N.DynamicPReLU)
def _(node, ins):
    _need_fixed(node, ins[0])
    if ins[0].shape[-1] != node.channels:
        raise InferError(
            f"node {node.name!r}: input has {ins[0].shape[-1]} channels, parameters {node.channels}"
        )
    extra = []
    if isinstance(node, N.DynamicPReLU):
        _context_input(node, ins)
        extra = _forwards(node, ins)
    return [TensorSpec(ins[0].shape, node.out), *extra]


def _exact_or(node: N.Node, ins: list[TensorSpec], out: Fixed | None, frac: int) -> Fixed:
    return out if out is not None else _exact(node, ins, frac)


@infer_rule(N.Add)
def _(node: N.Add, ins):
    a, b = (_need_fixed(node, s) for s in ins)
    if ins[0].shape != ins[1].shape:
        raise InferError(f"node {node.name!r}: shapes differ {ins[0].shape} vs {ins[1].shape}")
    return [TensorSpec(ins[0].shape, _exact_or(node, ins, node.out, max(a.frac, b.frac)))]


@infer_rule(N.AvgPool)
def _(node: N.AvgPool, ins):
    f = _need_fixed(node, ins[0])
    h, w, c = ins[0].shape
    oh, ow = _conv_out(node, ins[0].shape)
    return [TensorSpec((oh, ow, c), _exact_or(node, ins, node.out, f.frac + node.shift))]


@infer_rule(N.MaxPool)
def _(node: N.MaxPool, ins):
    h, w, c = ins[0].shape
    oh, ow = _conv_out(node, ins[0].shape)
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
    return [TensorSpec(base + (c,), _exact(node, ins, max(x.frac for x in fs)))]


@infer_rule(N.Duplicate)
def _(node: N.Duplicate, ins):
    return [ins[0]] * len(node.outputs)


@infer_rule(N.GlobalPool)
def _(node: N.GlobalPool, ins):
    f = _need_fixed(node, ins[0]) if node.pre is None else node.pre
    return [TensorSpec((ins[0].shape[-1],), _exact_or(node, ins, node.out, f.frac + node.shift))]


@infer_rule(N.HyperContext)
def _(node: N.HyperContext, ins):
    _need_fixed(node, ins[0])
    if len(ins[0].shape) != 3:
        raise InferError(f"node {node.name!r}: expects an (H, W, C) feature map, got {ins[0].shape}")
    return [ins[0], TensorSpec((ins[0].shape[-1],), node.stat)]


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
