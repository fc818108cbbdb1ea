"""Handlers of elementwise, pooling and shape operations (they mostly extend symbolic values)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from hwsim import nodes as N
from hwsim.lower.convert import FLOAT_ELEMENTWISE, Converter, handles, int_list
from hwsim.lower.errors import unsupported
from hwsim.lower.frontend import Const, attr
from hwsim.lower.layout import Layout
from hwsim.lower.values import (
    Affine,
    Clipped,
    Delta,
    DynConst,
    Elem,
    InputV,
    PadV,
    Pend,
    PooledElem,
    Step,
    Val,
    align_ints,
    exact_ints,
    is_pow2,
    normalize,
)


def _split_const(ins: list) -> tuple[Any, Const | None, bool]:
    """``(activation, constant, const_first)`` of a binary op."""
    a, b = ins[0], ins[1]
    if isinstance(b, Const) and not isinstance(a, Const):
        return a, b, False
    if isinstance(a, Const) and not isinstance(b, Const):
        return b, a, True
    return a, None, False


def _float_step(cv: Converter, node, x: Any) -> Elem:
    """Append a float (golden-function) step to the chain of ``x``."""
    t = node.output[0]
    if isinstance(x, Elem):
        return Elem(t, x.layout, x.anchor, (*x.steps, Step("float", node.name)))
    if isinstance(x, Affine) and not x.complete:
        return Elem(t, x.layout, x, (Step("float", node.name),))
    if isinstance(x, InputV):  # preprocessing of the float input: thresholds on its float key (lower.inputs)
        return Elem(t, x.layout, x, (Step("float", node.name),))
    xh = cv.hw(x, node)
    return Elem(t, xh.layout, xh, (Step("float", node.name),))


def _exact_step(cv: Converter, node, x: Any, kind: str, q: np.ndarray, f: int) -> Elem:
    t = node.output[0]
    if isinstance(x, InputV) or (isinstance(x, Elem) and isinstance(x.anchor, InputV)):
        return _float_step(cv, node, x)  # the float input has no integer grid: every step is a float step
    if isinstance(x, Elem):
        return Elem(t, x.layout, x.anchor, (*x.steps, Step(kind, node.name, q, f)))
    xh = cv.hw(x, node)
    return Elem(t, xh.layout, xh, (Step(kind, node.name, q, f),))


@handles("Mul")
def _mul(cv: Converter, node, ins):
    x, c, _ = _split_const(ins)
    t = node.output[0]
    if c is None:
        raise unsupported(node, "a product of two activations is not supported")
    cval = np.asarray(c.value, dtype=np.float64)
    if cval.size == 1 and float(cval.ravel()[0]) == 1.0:
        return cv.rename(x, t)
    scalar_pow2 = cval.size == 1 and is_pow2(abs(float(cval.ravel()[0]))) and float(cval.ravel()[0]) > 0
    if isinstance(x, Clipped) and scalar_pow2:
        k = int(round(math.log2(float(cval.ravel()[0]))))
        return Delta(t, x.layout, x, k, 0, x.layout.channels, 1, node.name)
    if isinstance(x, Pend) and x.op == "GlobalPool" and x.out is None and scalar_pow2:
        s = float(cval.ravel()[0])
        k = -int(round(math.log2(s)))
        if k >= 0:
            f = dict(x.fields)
            f["shift"] = int(f["shift"]) + k
            return dataclasses.replace(x, onnx=t, fields=f, frac=x.frac + k)
    vec = x.layout.channel_vector(cval) if isinstance(x, Val) else None
    eligible = vec is not None and cv.exact_eligible(c)
    if isinstance(x, Affine) and not x.complete:
        if eligible:
            q, f = exact_ints(vec)
            mul, bias, frac = normalize(x.mul * q, x.bias * q, x.frac + f, floor=x.acc_frac)
            return dataclasses.replace(
                x, onnx=t, mul=mul, bias=bias, frac=frac, folded=(*x.folded, node.name)
            )
        return _float_step(cv, node, x)
    if isinstance(x, (Delta, Clipped, DynConst)):
        raise unsupported(node, f"unexpected Mul on {type(x).__name__} {x.onnx}")
    if eligible:
        q, f = exact_ints(vec)
        return _exact_step(cv, node, x, "mul", q, f)
    return _float_step(cv, node, x)


def _add_const(cv: Converter, node, x: Any, c: Const, negate: bool, const_first: bool) -> Val:
    t = node.output[0]
    cval = np.asarray(c.value, dtype=np.float64)
    if isinstance(x, Delta):
        if negate and not const_first:
            x = x.negated()  # delta - c
            cval = -cval
        elif negate:
            x = x.negated()  # c - delta
        vec = x.layout.channel_vector(cval)
        if vec is None or not cv.exact_eligible(c):
            raise unsupported(
                node, "the static part of a dynamic threshold must be a quantized per-channel vector"
            )
        q, f = exact_ints(vec)
        return DynConst(t, x.layout, q, f, x, node.name)
    if negate and const_first or isinstance(x, InputV):
        return _float_step(cv, node, x)  # c - x, or preprocessing of the float input: golden function only
    vec = x.layout.channel_vector(cval) if isinstance(x, Val) else None
    eligible = vec is not None and cv.exact_eligible(c)
    if negate and eligible:
        vec = -vec
    if isinstance(x, Affine) and not x.complete:
        if eligible:
            q, f = exact_ints(vec)
            g = max(x.frac, f)
            mul, bias, frac = normalize(
                align_ints(x.mul, x.frac, g),
                align_ints(x.bias, x.frac, g) + align_ints(q, f, g),
                g,
                x.acc_frac,
            )
            return dataclasses.replace(
                x, onnx=t, mul=mul, bias=bias, frac=frac, folded=(*x.folded, node.name)
            )
        return _float_step(cv, node, x)
    if isinstance(x, (Clipped, DynConst)):
        raise unsupported(node, f"unexpected {node.op_type} on {type(x).__name__} {x.onnx}")
    if eligible:
        q, f = exact_ints(vec)
        return _exact_step(cv, node, x, "add", q, f)
    return _float_step(cv, node, x)


def _add_dyn(cv: Converter, node, x: Any, d: DynConst, negate: bool) -> Elem:
    t = node.output[0]
    q, delta = (-d.q, d.delta.negated()) if negate else (d.q, d.delta)
    if isinstance(x, Elem):
        base, steps = x.anchor, x.steps
    else:
        base, steps = cv.hw(x, node), ()
    return Elem(
        t, x.layout, base, (*steps, Step("dyn", node.name, q, d.frac, delta, d.onnx, -1 if negate else 1))
    )


@handles("Add", "Sub")
def _add(cv: Converter, node, ins):
    negate = node.op_type == "Sub"
    x, c, first = _split_const(ins)
    if c is not None:
        return _add_const(cv, node, x, c, negate, first)
    a, b = ins[0], ins[1]
    if isinstance(b, DynConst) and not isinstance(a, DynConst):
        return _add_dyn(cv, node, a, b, negate)
    if isinstance(a, DynConst) and not negate:
        return _add_dyn(cv, node, b, a, False)
    if negate:
        raise unsupported(node, "a difference of two activations is not supported")
    ah, bh = cv.hw(a, node), cv.hw(b, node)
    if ah.bipolar or bh.bipolar:
        raise unsupported(node, "an Add of binary tensors is not supported")
    if ah.layout.hw_shape != bh.layout.hw_shape or ah.layout.onnx_shape != bh.layout.onnx_shape:
        raise unsupported(
            node, f"operand layouts differ ({ah.layout} vs {bh.layout}); broadcasting is not supported"
        )
    return Pend(node.output[0], ah.layout, "Add", node.name, (ah, bh), {}, max(ah.frac, bh.frac))


@handles("PRelu")
def _prelu_op(cv: Converter, node, ins):
    x, slope = ins[0], ins[1]
    if not isinstance(slope, Const):
        raise unsupported(node, "the PReLU slope must be a constant")
    if isinstance(x, Affine) and not x.complete:
        x = cv.hw(x, node)
    vec = x.layout.channel_vector(np.asarray(slope.value, dtype=np.float64))
    if vec is None:
        raise unsupported(node, "the PReLU slope must be per channel")
    if cv.exact_eligible(slope):
        q, f = exact_ints(vec)
        return _exact_step(cv, node, x, "prelu", q, f)
    return _float_step(cv, node, x)


@handles("Relu")
def _relu(cv: Converter, node, ins):
    x = ins[0]
    if isinstance(x, Affine) and not x.complete:
        return dataclasses.replace(x, onnx=node.output[0], relu=True, folded=(*x.folded, node.name))
    return _float_step(cv, node, x)


@handles("Clip")
def _clip(cv: Converter, node, ins):
    x = ins[0]
    lo = ins[1] if len(ins) > 1 else None
    hi = ins[2] if len(ins) > 2 else None
    lo_v = float(np.asarray(lo.value).ravel()[0]) if isinstance(lo, Const) else attr(node, "min", None)
    hi_v = float(np.asarray(hi.value).ravel()[0]) if isinstance(hi, Const) else attr(node, "max", None)
    if (
        isinstance(x, Affine)
        and not x.complete
        and x.unit.op == "FixedDense"
        and lo_v == -1.0
        and hi_v == 1.0
    ):
        return Clipped(node.output[0], x.layout, x, node.name)
    return _float_step(cv, node, x)


@handles(*(op for op in FLOAT_ELEMENTWISE if op != "Tanh"))  # Tanh: _tanh, which falls back to this
def _float_op(cv: Converter, node, ins):
    acts = [v for v in ins if v is not None and not isinstance(v, Const)]
    if len(acts) != 1:
        raise unsupported(
            node, "only elementwise operations of one activation with constant parameters are supported"
        )
    if node.op_type != "Div" and acts[0] is not ins[0]:
        raise unsupported(node, "expected an activation as the first input")
    return _float_step(cv, node, acts[0])  # Div(c, x) too: the golden function keeps the operand order


@handles("Tanh")
def _tanh(cv: Converter, node, ins):
    """tanh of an open FixedDense output is the hyper function's squash (thresholds once a Quant follows);
    elsewhere an ordinary float step."""
    x = ins[0]
    if isinstance(x, Affine) and not x.complete and x.unit.op == "FixedDense":
        return Clipped(node.output[0], x.layout, x, node.name, squash="tanh")
    return _float_op(cv, node, ins)


# ----------------------------------------------------------------------------------------------- pooling etc.


def _spatial_axes(node, ins, rank: int) -> list[int]:
    axes = attr(node, "axes", None)
    if axes is None and len(ins) > 1 and isinstance(ins[1], Const):
        axes = int_list(ins[1].value)
    if axes is None:
        return list(range(rank))
    return sorted(a + rank if a < 0 else a for a in axes)


@handles("ReduceSum", "ReduceMean", "GlobalAveragePool")
def _global_pool(cv: Converter, node, ins):
    v, pre = ins[0], None
    if isinstance(v, Pend) and v.op == "Requant":  # Quant -> ReduceSum: requantize, then sum (one node)
        v, pre = v.inputs[0], v.out
    x = cv.hw(v, node)
    lay = x.layout
    if len(lay.onnx_shape) != 3 or x.bipolar:
        raise unsupported(node, "expected a fixed-point feature map (N, C, H, W)")
    c, h, w = lay.onnx_shape
    if node.op_type != "GlobalAveragePool" and _spatial_axes(node, ins, 4) != [2, 3]:
        raise unsupported(node, "only reductions over the spatial axes (2, 3) are supported")
    shift = 0
    if node.op_type in ("ReduceMean", "GlobalAveragePool"):
        n = h * w
        if n & (n - 1):
            raise unsupported(
                node, f"a mean over {h}x{w}={n} positions is not a shift (use sum-then-shift, GlobalSumShift)"
            )
        shift = n.bit_length() - 1
    keep = node.op_type == "GlobalAveragePool" or attr(node, "keepdims", 1)
    onnx_shape = (c, 1, 1) if keep else (c,)
    layout = Layout((1, 1, c), onnx_shape, (c,))
    f = x.frac if pre is None else pre.frac
    fields = {"shift": shift, "pre": pre}
    return Pend(node.output[0], layout, "GlobalPool", node.name, (x,), fields, f + shift)


@handles("AveragePool")
def _avg_pool(cv: Converter, node, ins):
    x = cv.hw(ins[0], node)
    if x.bipolar:
        raise unsupported(node, "average pooling of a binary tensor is not supported")
    k = tuple(int(v) for v in attr(node, "kernel_shape"))
    s = tuple(int(v) for v in attr(node, "strides", list(k)))
    if any(attr(node, "pads", [0, 0, 0, 0])) or attr(node, "ceil_mode", 0):
        raise unsupported(node, "padded or ceil-mode average pooling is not supported")
    n = k[0] * k[1]
    if n & (n - 1):
        raise unsupported(node, f"average pooling window {k} is not a power of two")
    layout = cv.out_layout(node.output[0], node)
    return Pend(
        node.output[0],
        layout,
        "AvgPool",
        node.name,
        (x,),
        {"kernel": k, "stride": s},
        x.frac + n.bit_length() - 1,
    )


@handles("MaxPool")
def _max_pool(cv: Converter, node, ins):
    k = tuple(int(v) for v in attr(node, "kernel_shape"))
    s = tuple(int(v) for v in attr(node, "strides", [1, 1]))
    p = [int(v) for v in attr(node, "pads", [0, 0, 0, 0])]
    if attr(node, "ceil_mode", 0) or any(d != 1 for d in attr(node, "dilations", [1, 1])):
        raise unsupported(node, "ceil-mode or dilated max pooling is not supported")
    if len(node.output) > 1 and node.output[1]:
        raise unsupported(node, "MaxPool indices output is not supported")
    t = node.output[0]
    if isinstance(ins[0], Elem) and not ins[0].dynamic and not isinstance(ins[0].anchor, InputV):
        # a float chain (BatchNorm) pooled before its quantizer: quantize first, then pool (values.PooledElem)
        fields = {"kernel": k, "stride": s, "pad": (p[0], p[1], p[2], p[3])}
        return PooledElem(t, cv.out_layout(t, node), ins[0], node.name, fields)
    x = cv.hw(ins[0], node)
    (h,) = cv.b.add(
        N.MaxPool,
        node.name,
        (x.name,),
        (t,),
        onnx_node=node,
        sources=[node.name],
        kernel=k,
        stride=s,
        pad=(p[0], p[1], p[2], p[3]),
    )
    return cv.new_hwt(h, t, x.frac, x.bipolar, cv.out_layout(t, node))


@handles("Concat")
def _concat(cv: Converter, node, ins):
    xs = [cv.hw(v, node) for v in ins]
    axis = attr(node, "axis", 1)
    rank = len(xs[0].layout.onnx_shape) + 1
    if (axis + rank if axis < 0 else axis) != 1:
        raise unsupported(node, "only concatenation along the channel axis (1) is supported")
    for x in xs:
        if len(x.layout.hw_shape) != len(x.layout.onnx_shape) or (
            len(x.layout.onnx_shape) == 1 and x.layout.hwc[:2] != (1, 1)
        ):
            raise unsupported(node, "concatenation of flattened feature maps is not supported")
    bip = {x.bipolar for x in xs}
    if len(bip) > 1:
        raise unsupported(node, "cannot concatenate binary and fixed-point tensors")
    if bip == {True} and len({x.frac for x in xs}) > 1:
        raise unsupported(node, "binary tensors with different scales cannot be concatenated")
    t = node.output[0]
    (h,) = cv.b.add(N.Concat, node.name, tuple(x.name for x in xs), (t,), onnx_node=node, sources=[node.name])
    frac = xs[0].frac if bip == {True} else max(x.frac for x in xs)
    return cv.new_hwt(h, t, frac, bip == {True}, cv.out_layout(t, node))


@handles("Flatten", "Reshape", "Unsqueeze", "Squeeze")
def _reshape(cv: Converter, node, ins):
    x = ins[0]
    t = node.output[0]
    s = cv.m.shape(t)
    xs = cv.m.shape(node.input[0])
    if s is None or xs is None:
        raise unsupported(node, "shapes must be known (run InferShapes)")
    if s[0] != xs[0]:
        raise unsupported(node, f"the batch axis must be kept ({xs} -> {s})")
    if isinstance(x, (Affine, Pend)) and not (isinstance(x, Pend) and x.op == "GlobalPool"):
        x = cv.hw(x, node)
    return cv.rename(x, t, x.layout.reshaped(s[1:]))


@handles("Slice")
def _slice(cv: Converter, node, ins):
    x = ins[0]
    if not isinstance(x, Delta):
        raise unsupported(node, "Slice is supported only on the output of a hyper function (DyPReLU)")
    starts, ends = int_list(ins[1].value), int_list(ins[2].value)
    rank = len(x.layout.onnx_shape) + 1
    axes = int_list(ins[3].value) if len(ins) > 3 and ins[3] is not None else list(range(len(starts)))
    steps = int_list(ins[4].value) if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    start, stop = x.start, x.stop
    for a, st, en, sp in zip(axes, starts, ends, steps, strict=True):
        a = a + rank if a < 0 else a
        if a != 1 or sp != 1:
            raise unsupported(node, "only unit-step slices along the channel axis are supported")
        n = stop - start
        st = max(0, min(n, st + n if st < 0 else st))
        en = max(0, min(n, en + n if en < 0 else en))
        start, stop = start + st, start + max(st, en)
    layout = cv.out_layout(t := node.output[0], node)
    return Delta(t, layout, x.clipped, x.lam_log2, start, stop, x.sign, node.name)


@handles("Pad")
def _pad(cv: Converter, node, ins):
    x = ins[0]
    mode = attr(node, "mode", "constant")
    if mode != "constant":
        raise unsupported(node, f"pad mode {mode!r} is not supported")
    pads = attr(node, "pads", None)
    if pads is None:
        if len(ins) < 2 or not isinstance(ins[1], Const):
            raise unsupported(node, "the pads must be constant")
        pads = int_list(ins[1].value)
    value = attr(node, "value", 0.0)
    if len(ins) > 2 and isinstance(ins[2], Const):
        value = float(np.asarray(ins[2].value).ravel()[0])
    if len(ins) > 3 and ins[3] is not None:
        raise unsupported(node, "Pad with explicit axes is not supported")
    if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or any(p < 0 for p in pads):
        raise unsupported(node, f"only spatial, non-negative padding of an NCHW map is supported, got {pads}")
    xh = cv.hw(x, node)
    return PadV(
        node.output[0],
        cv.out_layout(node.output[0], node),
        xh,
        (pads[2], pads[3], pads[6], pads[7]),
        float(value),
        node.name,
    )


@handles("Transpose")
def _transpose(cv: Converter, node, ins):
    perm = attr(node, "perm")
    if perm is not None and list(perm) == list(range(len(perm))):
        return cv.rename(ins[0], node.output[0])
    raise unsupported(node, f"transposition {perm} of an activation is not supported")


# ------------------------------------------------------------------------------------------------ label selection


def _label_select(cv: Converter, node, x: Any, k: int, axis: int) -> Any:
    if not isinstance(x, Val) or isinstance(x, InputV):
        raise unsupported(node, "expected the logits of the network")
    rank = len(x.layout.onnx_shape) + 1
    if rank != 2 or (axis + rank if axis < 0 else axis) != 1:
        raise unsupported(
            node, f"label selection over axis {axis} of a rank-{rank} tensor (expected the class axis 1)"
        )
    logits = cv.output(x)
    if len(logits.layout.hw_shape) != 1 or not 1 <= k <= logits.layout.channels:
        raise unsupported(node, f"cannot select {k} of the {logits.layout.hw_shape} logits")
    t = node.output[-1] if node.op_type == "TopK" else node.output[0]
    (h,) = cv.b.add(N.LabelSelect, node.name, (logits.name,), (t,), onnx_node=node, sources=[node.name], k=k)
    cv.label_of[t] = logits.name
    lay = cv.out_layout(t, node) if len(cv.m.shape(t) or ()) == 2 else Layout((1, 1, k), (k,), (k,))
    return cv.new_hwt(h, t, 0, False, lay)


@handles("ArgMax")
def _argmax(cv: Converter, node, ins):
    """ArgMax over the classes -> LabelSelect (k = 1; ties to the lower index, as onnxruntime)."""
    if attr(node, "select_last_index", 0):
        raise unsupported(node, "select_last_index=1 (ties to the last index) is not supported")
    out = _label_select(cv, node, ins[0], 1, int(attr(node, "axis", 0)))
    if not attr(node, "keepdims", 1):
        cv.b.onnx_map.pop(out.name, None)  # an (N,) tensor: compared through the label output only
    return out


@handles("TopK")
def _topk(cv: Converter, node, ins):
    """TopK (largest, sorted) over the classes -> LabelSelect (its indices output; the values output unused)."""
    if not attr(node, "largest", 1) or not attr(node, "sorted", 1):
        raise unsupported(node, "only TopK with largest=1 and sorted=1 is supported")
    if not isinstance(ins[1], Const):
        raise unsupported(node, "K must be a constant")
    if cv.m.n_readers(node.output[0]):
        raise unsupported(node, "the values output of TopK is not supported (use its indices)")
    k = int(np.asarray(ins[1].value).ravel()[0])
    return [None, _label_select(cv, node, ins[0], k, int(attr(node, "axis", -1)))]
