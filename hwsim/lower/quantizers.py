"""Handlers of the quantizers: Quant and BipolarQuant close the patterns (InputQuant, output stages, Sign,
DynamicSign, PReLU, DynamicPReLU, Requant, thresholds by bisection of a golden function)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import onnx

from hwsim import nodes as N
from hwsim.lower.convert import Converter, handles
from hwsim.lower.errors import unsupported
from hwsim.lower.hyper import build_hyper
from hwsim.lower.inputs import quantize_input
from hwsim.lower.layout import Layout
from hwsim.lower.thresholds import (
    GoldenFunction,
    affine_sign_thresholds,
    multithreshold_by_bisection,
    sign_by_bisection,
)
from hwsim.lower.values import (
    Affine,
    Clipped,
    Delta,
    Elem,
    HwT,
    InputV,
    Pend,
    PooledElem,
    Step,
    Val,
    align_ints,
    ceil_div_pow2,
    to_int64,
)
from hwsim.types import Fixed


@handles("Identity", "Dropout")
def _identity(cv: Converter, node, ins):
    v = ins[0]
    if len(node.output) > 1:
        return [cv.rename(v, node.output[0])] + [None] * (len(node.output) - 1)
    return cv.rename(v, node.output[0])


#: reductions over the whole map that absorb the requantization of their input (GlobalPool.pre)
_POOLS = ("ReduceSum", "ReduceMean", "GlobalAveragePool")


def _pooled(cv: Converter, node, ins, handler) -> HwT:
    """The quantizer ``node`` of a :class:`PooledElem`: quantize the chain before the pooling (a copy of ``node``
    reading the chain's output), then max-pool the quantized tensor (exact: a quantizer is non-decreasing)."""
    x: PooledElem = ins[0]
    pre = onnx.NodeProto()
    pre.CopyFrom(node)
    pre.input[0] = x.elem.onnx
    pre.output[0] = f"{node.output[0]}_before_{x.node}"
    q = handler(cv, pre, [x.elem, *ins[1:]])
    cv.b.onnx_map.pop(q.name, None)  # no ONNX tensor holds the quantized values before the pooling
    t = node.output[0]
    (h,) = cv.b.add(N.MaxPool, x.node, (q.name,), (t,), onnx_node=node, sources=[x.node], **x.fields)
    return cv.new_hwt(h, t, q.frac, q.bipolar, x.layout)


@handles("Quant")
def _quant(cv: Converter, node, ins):
    x = ins[0]
    if isinstance(x, PooledElem):
        return _pooled(cv, node, ins, _quant)
    out = cv.quant_params(node, ins)
    t = node.output[0]
    if isinstance(x, Elem) and isinstance(x.anchor, InputV):
        return quantize_input(cv, node, x, out, out.frac)
    if isinstance(x, InputV):
        (h,) = cv.b.add(N.InputQuant, node.name, (x.hw,), (t,), onnx_node=node, sources=[node.name], out=out)
        return cv.new_hwt(h, t, out.frac, False, x.layout)
    if isinstance(x, Affine) and x.out is None:
        if x.relu:
            if out.signed:
                if out.bits < 2:
                    raise unsupported(node, "a signed 1-bit Quant has no valid values")
                out = Fixed(out.bits - 1, out.frac, False)
        return dataclasses.replace(x, onnx=t, out=out, folded=(*x.folded, node.name))
    if isinstance(x, Pend) and x.out is None:
        return dataclasses.replace(x, onnx=t, out=out, node=x.node)
    if isinstance(x, Clipped) and x.act is None:
        return dataclasses.replace(x, onnx=t, act=out)  # hardtanh -> Quant -> Mul(lambda)
    if isinstance(x, Delta) and x.clipped.act is None and x.start == 0 and x.stop == x.layout.channels:
        # hardtanh -> Mul(lambda) -> Quant: requantizing delta at out.frac is requantizing clip(z) at out.frac + lam
        act = Fixed(out.bits, out.frac + x.lam_log2, out.signed)
        return dataclasses.replace(x, onnx=t, clipped=dataclasses.replace(x.clipped, act=act))
    if isinstance(x, Elem):
        return _quant_elem(cv, node, x, out)
    xh = cv.hw(x, node)
    if xh.bipolar:
        raise unsupported(node, "a multi-bit Quant of a binary tensor is not supported")
    spec = cv.b.spec(xh.name)
    if spec.dtype == out and xh.frac == out.frac:
        return cv.rename(xh, t)  # requantization to the same type is the identity
    readers = cv.m.consumers.get(t, [])
    if cv.m.n_readers(t) == 1 and readers and readers[0].op_type in _POOLS:
        # requantize-then-sum (training.layers.GlobalSumShift): the GlobalPool takes it as its ``pre``
        return Pend(t, xh.layout, "Requant", node.name, (xh,), {}, out.frac, out)
    (h,) = cv.b.add(N.Requant, node.name, (xh.name,), (t,), onnx_node=node, sources=[node.name], out=out)
    return cv.new_hwt(h, t, out.frac, False, xh.layout)


@handles("BipolarQuant")
def _bipolar_quant(cv: Converter, node, ins):
    x = ins[0]
    if isinstance(x, PooledElem):
        return _pooled(cv, node, ins, _bipolar_quant)
    frac = cv.bipolar_frac(node, ins)
    t = node.output[0]
    if isinstance(x, Elem) and isinstance(x.anchor, InputV):
        return quantize_input(cv, node, x, None, frac)
    if isinstance(x, InputV):
        (h,) = cv.b.add(N.InputQuant, node.name, (x.hw,), (t,), onnx_node=node, sources=[node.name], out=None)
        return cv.new_hwt(h, t, frac, True, x.layout)
    if isinstance(x, Affine) and not x.complete:
        thr, inv = affine_sign_thresholds(x.mul, x.bias, x.unit.acc_lo, x.unit.acc_hi)
        stage = N.OutputStage("threshold", thr=thr, invert=inv)
        return cv.emit_unit(
            dataclasses.replace(x, onnx=t, folded=(*x.folded, node.name)), stage, t, True, frac
        )
    if isinstance(x, Elem):
        return _sign_elem(cv, node, x, frac)
    xh = cv.hw(x, node)
    if xh.bipolar:
        return HwT(t, xh.layout, xh.name, frac, True)
    c = xh.layout.channels
    (h,) = cv.b.add(
        N.Sign,
        node.name,
        (xh.name,),
        (t,),
        onnx_node=node,
        sources=[node.name],
        thr=np.zeros(c, np.int64),
        invert=np.zeros(c, np.uint8),
    )
    return cv.new_hwt(h, t, frac, True, xh.layout)


def _static_sum(steps: list[Step]) -> tuple[np.ndarray | None, int]:
    """Sum of ``add`` (and the static part of ``dyn``) steps as exact ints."""
    total, f = None, 0
    for s in steps:
        if s.kind not in ("add", "dyn"):
            raise AssertionError(s.kind)
        if total is None:
            total, f = np.asarray(s.q, dtype=object), s.frac
        else:
            g = max(f, s.frac)
            total = align_ints(total, f, g) + align_ints(s.q, s.frac, g)
            f = g
    return total, f


def _sign_elem(cv: Converter, node, e: Elem, frac: int) -> HwT:
    t = node.output[0]
    kinds = [s.kind for s in e.steps]
    anchor = e.anchor
    if (
        isinstance(anchor, HwT)
        and not anchor.bipolar
        and set(kinds) <= {"add", "dyn"}
        and kinds.count("dyn") <= 1
    ):
        c = anchor.layout.channels
        total, f = _static_sum(list(e.steps))
        if total is None:
            total, f = np.zeros(c, dtype=object), 0
        if "dyn" not in kinds:
            # x * 2**-fx + total * 2**-f >= 0  <=>  x >= ceil(-total * 2**(fx - f))
            thr = np.array([ceil_div_pow2(-int(q), f - anchor.frac) for q in total], dtype=object)
            (h,) = cv.b.add(
                N.Sign,
                node.name,
                (anchor.name,),
                (t,),
                onnx_node=node,
                sources=[s.node for s in e.steps] + [node.name],
                thr=to_int64(thr, f"{node.name} thresholds"),
                invert=np.zeros(c, np.uint8),
            )
            return cv.new_hwt(h, t, frac, True, e.layout)
        dyn = next(s for s in e.steps if s.kind == "dyn")
        d = dyn.delta
        if d.stop - d.start != c:
            raise unsupported(node, f"the dynamic threshold has {d.stop - d.start} channels, the tensor {c}")
        # x + total + sign*delta >= 0  <=>  x >= tau + d  with tau = -total, d = -sign*delta
        hyper, ctx = build_hyper([(d, d.sign > 0)], anchor, node, cv)
        (h,) = cv.b.add(
            N.DynamicSign,
            node.name,
            (anchor.name,) if ctx is None else (anchor.name, ctx),
            (t,),
            onnx_node=node,
            sources=[s.node for s in e.steps] + [node.name],
            tau=to_int64(-total, f"{node.name} tau"),
            tau_frac=int(f),
            hyper=hyper,
        )
        if len(e.steps) == 1:  # the ONNX tensor is exactly -+(tau + d)
            cv.dynamic[cv.b.nodes[-1].name] = {"threshold": dyn.ref, "threshold_scale": -dyn.ref_sign}
        return cv.new_hwt(h, t, frac, True, e.layout)
    if e.dynamic:
        raise unsupported(node, f"dynamic threshold with extra operations {cv.chain_desc(e)}")
    return _bisect_sign(cv, node, e, frac)


def _golden(cv: Converter, node, e: Elem) -> tuple[GoldenFunction, Layout]:
    names = {s.node for s in e.steps}
    chain = [n for n in cv.m.nodes if n.name in names]
    src = e.anchor.onnx
    dst = node.input[0]
    lay = e.anchor.layout
    probe = (lay.onnx_shape[0], 1, 1) if len(lay.onnx_shape) == 3 else tuple(lay.onnx_shape)
    if len(lay.onnx_shape) == 3 and tuple(lay.hw_shape) != tuple(lay.hwc):
        raise unsupported(node, "a float function on a flattened feature map is not supported")
    return GoldenFunction(cv.m, cv.consts, chain, src, dst, probe, node), lay


def _value_fn(g: GoldenFunction, lay: Layout, anchor: Val) -> Callable[[np.ndarray], np.ndarray]:
    """``q (B, C_hw) -> golden(value(q)) (B, C_hw)``: integers of the anchor to the golden function's output."""
    if isinstance(anchor, Affine):
        mul = np.array([float(int(v)) for v in anchor.mul])
        bias = np.array([float(int(v)) for v in anchor.bias])
        fr = anchor.frac

        def to_value(q):
            return np.ldexp(q.astype(np.float64) * mul + bias, -fr)
    else:
        fr = anchor.frac

        def to_value(q):
            return np.ldexp(q.astype(np.float64), -fr)

    if len(lay.onnx_shape) == 3:

        def fn(q):
            v = to_value(q).astype(np.float32)[:, :, None, None]
            return g(v)[:, :, 0, 0]
    else:
        idx = lay.onnx_index()  # hw position -> onnx index
        inv = np.argsort(idx)

        def fn(q):
            v = to_value(q).astype(np.float32)[:, inv]  # hw order -> onnx order
            return g(v)[:, idx]

    return fn


def _domain(cv: Converter, anchor: Val) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(anchor, Affine):
        return (
            np.array([int(v) for v in anchor.unit.acc_lo], np.int64),
            np.array([int(v) for v in anchor.unit.acc_hi], np.int64),
        )
    spec = cv.b.spec(anchor.name).dtype
    c = anchor.layout.channels
    return np.full(c, spec.lo, np.int64), np.full(c, spec.hi, np.int64)


def _bisect_sign(cv: Converter, node, e: Elem, frac: int) -> HwT:
    t = node.output[0]
    anchor = e.anchor
    if isinstance(anchor, HwT) and anchor.bipolar:
        raise unsupported(node, "a float function of a binary tensor before a BipolarQuant is not supported")
    g, lay = _golden(cv, node, e)
    lo, hi = _domain(cv, anchor)
    thr, inv = sign_by_bisection(_value_fn(g, lay, anchor), lo, hi, node)
    srcs = [s.node for s in e.steps] + [node.name]
    if isinstance(anchor, Affine):
        stage = N.OutputStage("threshold", thr=thr, invert=inv)
        a = dataclasses.replace(anchor, onnx=t, folded=(*anchor.folded, *srcs))
        return cv.emit_unit(a, stage, t, True, frac)
    (h,) = cv.b.add(
        N.Sign, node.name, (anchor.name,), (t,), onnx_node=node, sources=srcs, thr=thr, invert=inv
    )
    return cv.new_hwt(h, t, frac, True, e.layout)


def _quant_elem(cv: Converter, node, e: Elem, out: Fixed) -> HwT:
    t = node.output[0]
    kinds = [s.kind for s in e.steps]
    anchor = e.anchor
    if isinstance(anchor, HwT) and not anchor.bipolar and kinds.count("prelu") == 1:
        i = kinds.index("prelu")
        pre, post = list(e.steps[:i]), list(e.steps[i + 1 :])
        ok = all(s.kind in ("add", "dyn") for s in pre + post)
        if ok and sum(s.kind == "dyn" for s in pre) <= 1 and sum(s.kind == "dyn" for s in post) <= 1:
            return _prelu(cv, node, e, pre, e.steps[i], post, out)
    if e.dynamic:
        raise unsupported(node, f"dynamic shifts with extra operations {cv.chain_desc(e)}")
    if isinstance(anchor, Affine):
        anchor = cv.hw(anchor, node)
        e = dataclasses.replace(e, anchor=anchor)
    if isinstance(anchor, HwT) and anchor.bipolar:
        raise unsupported(node, "a float function of a binary tensor is not supported")
    g, lay = _golden(cv, node, e)
    lo, hi = _domain(cv, anchor)
    thr = multithreshold_by_bisection(_value_fn(g, lay, anchor), lo, hi, out, node)
    (h,) = cv.b.add(
        N.MultiThreshold,
        node.name,
        (anchor.name,),
        (t,),
        onnx_node=node,
        sources=[s.node for s in e.steps] + [node.name],
        thr=thr,
        base=int(out.lo),
        out=out,
    )
    return cv.new_hwt(h, t, out.frac, False, e.layout)


def _prelu(cv: Converter, node, e: Elem, pre: list[Step], pstep: Step, post: list[Step], out: Fixed) -> HwT:
    t = node.output[0]
    x: HwT = e.anchor
    c = x.layout.channels
    zero = (np.zeros(c, dtype=object), 0)
    g_tot, g_f = _static_sum(pre) if pre else zero
    z_tot, z_f = _static_sum(post) if post else zero
    beta = to_int64(pstep.q, f"{node.name} beta")
    srcs = [s.node for s in e.steps] + [node.name]
    base = pstep.node  # the hardware node is named after the ONNX PRelu
    dg = next((s for s in pre if s.kind == "dyn"), None)
    dz = next((s for s in post if s.kind == "dyn"), None)
    fields = dict(
        onnx_node=node,
        sources=srcs,
        gamma=to_int64(-g_tot, "gamma"),
        gamma_frac=int(g_f),
        zeta=to_int64(z_tot, "zeta"),
        zeta_frac=int(z_f),
        beta=beta,
        beta_frac=int(pstep.frac),
        out=out,
    )
    if dg is None and dz is None:
        (h,) = cv.b.add(N.PReLU, base, (x.name,), (t,), **fields)
        return cv.new_hwt(h, t, out.frac, False, e.layout)
    if dg is None or dz is None:
        raise unsupported(node, "a dynamic PReLU needs both shifts (gamma and zeta) from one hyper function")
    for d in (dg.delta, dz.delta):
        if d.stop - d.start != c:
            raise unsupported(node, f"the dynamic shift has {d.stop - d.start} channels, the tensor {c}")
    # x + G + sg*dg = x - (gamma + d[:C]) with d[:C] = -sg*dg ; Z + sz*dz = zeta + d[C:] with d[C:] = sz*dz
    hyper, ctx = build_hyper([(dg.delta, dg.delta.sign > 0), (dz.delta, dz.delta.sign < 0)], x, node, cv)
    ins = (x.name,) if ctx is None else (x.name, ctx)
    (h,) = cv.b.add(N.DynamicPReLU, base, ins, (t,), hyper=hyper, **fields)
    if pre == [dg] and post == [dz]:  # the ONNX tensors are exactly -+(gamma + d[:C]) and +-(zeta + d[C:])
        cv.dynamic[cv.b.nodes[-1].name] = {
            "gamma": dg.ref,
            "gamma_scale": -dg.ref_sign,
            "zeta": dz.ref,
            "zeta_scale": dz.ref_sign,
        }
    return cv.new_hwt(h, t, out.frac, False, e.layout)
