"""Assembly of a DyBNN hyper function (:class:`hwsim.nodes.HyperFunction`) from the converter's symbolic values.

The pattern (Brevitas export of ``training.layers.HyperFunction``)::

    x [-> Quant(pre)] -> ReduceSum(H, W) -> Mul(2**-k) -> Quant(stat) -> Gemm(w1, b1) -> Relu -> Quant(hidden, unsigned)
      -> Gemm(w2, b2) -> Clip(-1, 1) [-> Quant(act)] -> Mul(lambda = 2**lam_log2) [-> Quant]
      [-> Unsqueeze/Reshape] [-> Slice]

with ``Tanh`` in place of ``Clip`` for ``squash="tanh"`` (then a Quant is required): the map from the exact integer
``z`` to the quantized tanh becomes thresholds, found by bisection of PyTorch's float32 tanh (:mod:`hwsim.squash`).

arrives here as ``Delta(Clipped(Affine z(FixedDense, input=Affine hidden(FixedDense, input=Pend GlobalPool))))``.

The hardware-aware variant (``hyper_context: stem``, ``training.layers.HyperContext``) pools another tensor (the
stem's output) once and feeds the statistic to every hyper function: the statistic is then a materialized
GlobalPool (or a Pend on another tensor, materialized here), and the hyper function is a *context* one
(``HyperFunction.context``) that reads it as its unit's second input. The pass
:class:`hwsim.lower.passes.GateContextFrames` turns that GlobalPool into a :class:`~hwsim.nodes.HyperContext`.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import onnx

from hwsim.lower.errors import LoweringError
from hwsim.lower.values import Affine, Delta, HwT, Pend, to_int64
from hwsim.nodes import HyperFunction
from hwsim.squash import (
    SquashError,
    disagreements,
    squash_thresholds,
    tanh_levels_onnxruntime,
    tanh_levels_torch,
    z_bounds,
)
from hwsim.types import Fixed


def _err(where: onnx.NodeProto, what: str) -> LoweringError:
    return LoweringError(
        f"unsupported pattern at node {where.name} ({where.op_type}): {what}", where.name, where.op_type
    )


def dense_params(a: Affine, in_frac: int) -> tuple[np.ndarray, int, np.ndarray, int]:
    """``(w, w_frac, b, b_frac)`` with ``x @ w.T + b == acc * mul + bias`` (all at ``a.frac``) for the dense unit
    behind ``a``; per-channel weight factors are folded into ``w`` unless they are one common power of two."""
    w = np.asarray(a.unit.fields["weights"], dtype=object)
    mul = [int(m) for m in a.mul]
    if mul and all(m == mul[0] for m in mul) and mul[0] > 0 and mul[0] & (mul[0] - 1) == 0:
        j = mul[0].bit_length() - 1
        return to_int64(w, "hyper weights"), a.frac - j - in_frac, to_int64(a.bias, "hyper bias"), a.frac
    wm = w * np.array(mul, dtype=object)[:, None]
    return to_int64(wm, "hyper weights"), a.frac - in_frac, to_int64(a.bias, "hyper bias"), a.frac


def build_hyper(
    parts: list[tuple[Delta, bool]], x: HwT, where: onnx.NodeProto, cv=None
) -> tuple[HyperFunction, str | None]:
    """The hyper function whose outputs are the concatenation of ``parts`` (each a slice of one hyper function's
    output, negated when its flag is set: ``-clip(z) = clip(-z)``), computed on hardware tensor ``x``; and the
    hardware tensor of its context vector (None unless it reads one: see the module docstring). ``cv``: the
    converter, which materializes a context statistic."""
    clipped = parts[0][0].clipped
    lam = parts[0][0].lam_log2
    for d, _ in parts:
        if d.clipped is not clipped or d.lam_log2 != lam:
            raise _err(where, "the dynamic parts come from different hyper functions")
    z = clipped.z
    if z.unit.op != "FixedDense" or z.out is not None or z.relu:
        raise _err(where, "expected Gemm -> Clip(-1, 1) at the end of the hyper function")
    hidden = z.unit.input
    if not isinstance(hidden, Affine) or hidden.unit.op != "FixedDense" or hidden.out is None:
        raise _err(where, "expected Gemm -> Relu -> Quant (the hidden layer) in the hyper function")
    hout = hidden.out
    if hout.signed:
        if not hidden.relu or hout.bits < 2:
            raise _err(where, "the hidden layer of the hyper function must be ReLU + unsigned Quant")
        hout = Fixed(
            hout.bits - 1, hout.frac, False
        )  # relu output in a signed b-bit type == unsigned b-1 bits
    stat = hidden.unit.input
    ctx = None
    if isinstance(stat, Pend) and stat.op == "GlobalPool" and stat.out is not None:
        src = stat.inputs[0]
        if not isinstance(src, HwT) or src.name != x.name:
            if cv is None:
                raise _err(where, f"the hyper function reads {getattr(src, 'onnx', '?')}, not {x.onnx}")
            stat = cv.hw(stat, where)  # a context: pooled once from another tensor (the stem's output)
    if isinstance(stat, HwT):
        ctx = stat
        gp = next((n for n in cv.b.nodes if stat.name in n.outputs), None) if cv is not None else None
        if gp is None or gp.op_type != "GlobalPool" or gp.out is None:
            raise _err(
                where,
                f"the hyper function's statistic {stat.onnx} must be ReduceSum -> Mul(2**-k) -> Quant "
                "(a context pooled from one tensor)",
            )
        stat_t = gp.out
    elif not isinstance(stat, Pend) or stat.op != "GlobalPool" or stat.out is None:
        raise _err(
            where, "expected ReduceSum -> Mul(2**-k) -> Quant (the channel statistic) in the hyper function"
        )
    else:
        stat_t = stat.out
    if stat_t.signed is False and stat_t.bits < 1:
        raise _err(where, "bad statistic type")
    w1, w1_frac, b1, b1_frac = dense_params(hidden, stat_t.frac)
    w2_all, w2_frac, b2_all, b2_frac = dense_params(z, hidden.out.frac)
    rows, signs = [], []
    for d, neg in parts:
        rows.extend(range(d.start, d.stop))
        signs.extend([-1 if neg else 1] * (d.stop - d.start))
    s = np.array(signs, dtype=np.int64)
    if clipped.act is not None and np.any(s < 0):
        # -requant(f(z)) != requant(f(-z)) where the quantizer saturates asymmetrically (-1 -> -128, 1 -> 127)
        raise _err(where, "a negated hyper-function output after its quantizer is not supported")
    w2 = w2_all[rows] * s[:, None]
    b2 = b2_all[rows] * s
    hf = HyperFunction(
        pool_shift=0 if ctx is not None else int(stat.fields["shift"]),
        pre=None if ctx is not None else stat.fields.get("pre"),
        stat=stat_t,
        context=ctx is not None,
        w1=w1,
        w1_frac=int(w1_frac),
        b1=b1,
        b1_frac=int(b1_frac),
        hidden=hout,
        w2=w2,
        w2_frac=int(w2_frac),
        b2=b2,
        b2_frac=int(b2_frac),
        lam_log2=int(lam),
        act=clipped.act,
    )
    ctx_name = ctx.name if ctx is not None else None
    if clipped.squash == "hardtanh":
        return hf, ctx_name
    if clipped.act is None:
        raise _err(where, f"the hyper function's {clipped.squash} ({clipped.node}) must feed a Quant")
    lo, hi = z_bounds(hf)
    try:
        thr = squash_thresholds(tanh_levels_torch(hf.z_frac, hf.act), lo, hi, hf.act)
    except SquashError as e:
        raise _err(where, f"tanh at {clipped.node}: {e}") from None
    off = disagreements(thr, tanh_levels_onnxruntime(hf.z_frac, hf.act), lo, hi, hf.act)
    if off:
        warnings.warn(
            f"node {clipped.node} (Tanh): onnxruntime's float32 tanh quantizes differently from PyTorch's at "
            f"{len(off)} integer input(s) (first z = {off[0]} * 2^-{hf.z_frac}); the hardware follows PyTorch, "
            "so the QONNX level can differ from it on inputs that reach them",
            stacklevel=2,
        )
    return dataclasses.replace(hf, squash_thr=thr), ctx_name
