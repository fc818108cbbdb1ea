"""The float tail after the last matrix layer: a per-channel float32 chain (scale, bias, BNN-PYNQ's TensorNorm)
from the integer logits to the graph output, kept as a :class:`~hwsim.nodes.FloatTail` that hwsim evaluates as
onnxruntime does (float32, the ONNX op order); the accelerator ends at the integers before it."""

from __future__ import annotations

import numpy as np

from hwsim import nodes as N
from hwsim.lower.convert import Converter
from hwsim.lower.errors import LoweringError, unsupported
from hwsim.lower.values import Affine, Elem, HwT
from hwsim.types import Fixed

#: float32 holds every integer of magnitude up to 2**24 exactly
FLOAT32_EXACT = 1 << 24

_OPS = {"Add": ("add", "add"), "Sub": ("sub", "rsub"), "Mul": ("mul", "mul"), "Div": ("div", "rdiv")}


def float_tail(cv: Converter, e: Elem) -> HwT:
    """Lower the chain ``e`` (on a fixed-point tensor) that reaches a graph output to a FloatTail node."""
    by_name = {n.name: n for n in cv.m.nodes}
    nodes = [by_name[s.node] for s in e.steps]
    first = nodes[0] if nodes else None
    if e.dynamic:
        raise unsupported(first, "a dynamic threshold cannot reach a graph output")
    anchor = e.anchor
    if isinstance(anchor, Affine):
        x = cv.hw(anchor, first)
    elif isinstance(anchor, HwT):
        x = anchor
    else:
        raise unsupported(first, f"a float tail on {type(anchor).__name__} {anchor.onnx} is not supported")
    spec = cv.b.spec(x.name).dtype
    if x.bipolar or not isinstance(spec, Fixed):
        raise unsupported(
            first, "a float tail on a binary tensor is not supported (expected the integer logits)"
        )
    if max(abs(spec.lo), abs(spec.hi)) > FLOAT32_EXACT or not -100 <= spec.frac <= 100:
        raise unsupported(
            first,
            f"the float tail's input {x.onnx} ({spec}) is not exact in float32 (more than 24 significant bits); "
            "the value onnxruntime computes for it depends on its summation order",
        )
    ops: list[str] = []
    consts: list[np.ndarray] = []
    for n in nodes:
        if n.op_type not in _OPS:
            raise unsupported(
                n,
                f"{n.op_type} reaches a graph output: a float function must feed a quantizer (Quant or "
                "BipolarQuant), or be a float tail of Add, Sub, Mul, Div by scalar or per-channel constants",
            )
        cidx = [i for i, t in enumerate(n.input[:2]) if t in cv.consts]
        if len(cidx) != 1:
            raise unsupported(n, "expected one constant operand in the float tail")
        c = np.asarray(cv.consts[n.input[cidx[0]]].value)
        if c.dtype != np.float32:
            raise unsupported(n, f"expected a float32 constant in the float tail, got {c.dtype}")
        vec = e.layout.channel_vector(c)
        if vec is None:
            raise unsupported(n, "the float tail's constants must be scalars or per channel")
        ops.append(_OPS[n.op_type][0 if cidx[0] == 1 else 1])  # (x OP c, c OP x)
        consts.append(np.ascontiguousarray(vec, dtype=np.float32).view(np.uint32).astype(np.int64))
    t = e.onnx
    try:
        (h,) = cv.b.add(
            N.FloatTail,
            nodes[-1].name if nodes else t,
            (x.name,),
            (t,),
            onnx_node=nodes[-1] if nodes else None,
            sources=[n.name for n in nodes],
            ops=tuple(ops),
            consts=np.stack(consts) if consts else np.zeros((0, x.layout.channels), np.int64),
        )
    except LoweringError:
        raise
    return cv.new_hwt(h, t, 0, False, e.layout)
