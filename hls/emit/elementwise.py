"""Emitters of the streaming nodes: one PE-wide word per cycle (InputQuant, Sign, MultiThreshold, Requant, Add,
PReLU, Duplicate, Flatten, Concat, GlobalPool, LabelSelect)."""

from __future__ import annotations

import numpy as np

from hls.emit import (
    EmitError,
    Iv,
    NodeCode,
    NodeEnv,
    Num,
    ParamArray,
    elems_of,
    emitter,
    frac_of,
    num_of,
    per_pe,
    port,
    shift_amount,
    storage_num,
)
from hwsim import nodes as N
from hwsim.ranges import clamp_thresholds
from hwsim.types import Bipolar, Fixed


def _stream_basics(env: NodeEnv) -> dict:
    pe = env.fold.pe
    c = env.in_spec.shape[-1]
    elems = elems_of(env.in_spec)
    return {"pe": pe, "c": c, "cf": c // pe, "elems": elems, "words": elems // pe}


def requant_ctx(out: Fixed | None, frac_in: int) -> dict:
    """Context of an optional final requantization (``requant``: shift, bits, signed) of an exact value."""
    if out is None:
        return {"requant": False}
    return {"requant": True, "shift": frac_in - out.frac, "out_bits": out.bits, "out_signed": out.signed}


@emitter(N.InputQuant)
def _input_quant(env: NodeEnv) -> NodeCode:
    node: N.InputQuant = env.node
    ctx = _stream_basics(env)
    out = num_of(env.out_spec)
    ctx.update(out=out, binary=node.out is None, frac=0 if node.out is None else node.out.frac, key=node.key)
    what = "x >= 0 as a bit" if node.out is None else f"round-half-even to {node.out}, saturating"
    if node.key:
        what = "its ordered int32 key (thresholds follow)"
    return NodeCode(
        "input_quant.hpp.j2", ctx, [], ("stream",),
        (port(env, node.inputs[0], env.fold.pe),), (port(env, node.outputs[0], env.fold.pe),),
        f"float32 input -> {what}",
    )  # fmt: skip


@emitter(N.Sign)
def _sign(env: NodeEnv) -> NodeCode:
    node: N.Sign = env.node
    ctx = _stream_basics(env)
    x = num_of(env.in_spec)
    t = env.ranges.thr
    thr = clamp_thresholds(node.thr, t.lo, t.hi)
    params = [
        ParamArray(
            "thr",
            storage_num(thr),
            per_pe(thr, ctx["pe"]),
            "threshold of channel nf*PE + p, on the input grid",
        ),
        ParamArray(
            "invert", Num(1, False), per_pe(node.invert.astype(np.int64), ctx["pe"]), "invert the bit"
        ),
    ]
    ctx.update(x=x, thr_num=Iv.of(thr).num)
    return NodeCode(
        "sign.hpp.j2", ctx, params, ("stream",), (port(env, node.inputs[0], ctx["pe"]),),
        (port(env, node.outputs[0], ctx["pe"]),), f"bit = (x >= thr[c]) XOR invert[c], {ctx['c']} channels",
    )  # fmt: skip


@emitter(N.MultiThreshold)
def _multi_threshold(env: NodeEnv) -> NodeCode:
    node: N.MultiThreshold = env.node
    ctx = _stream_basics(env)
    x = num_of(env.in_spec)
    t = env.ranges.thr
    thr = clamp_thresholds(node.thr, t.lo, t.hi)
    steps = thr.shape[1]
    params = [
        ParamArray(
            "thr", storage_num(thr), per_pe(thr, ctx["pe"]), "ascending thresholds of channel nf*PE + p"
        )
    ]
    out = num_of(env.out_spec)
    count = Iv(int(node.base), int(node.base) + steps)
    ctx.update(x=x, out=out, steps=steps, base=int(node.base), sum_num=count.num, thr_num=Iv.of(thr).num)
    return NodeCode(
        "multi_threshold.hpp.j2", ctx, params if steps else [], ("stream",), (port(env, node.inputs[0], ctx["pe"]),),
        (port(env, node.outputs[0], ctx["pe"]),), f"y = {node.base} + #(x >= thr[c][t]), {steps} thresholds per channel",
    )  # fmt: skip


@emitter(N.Requant)
def _requant(env: NodeEnv) -> NodeCode:
    node: N.Requant = env.node
    ctx = _stream_basics(env)
    x = num_of(env.in_spec)
    fx = frac_of(env, env.in_spec)
    ctx.update(x=x, out=num_of(env.out_spec), **requant_ctx(node.out, fx))
    return NodeCode(
        "requant.hpp.j2", ctx, [], ("stream",), (port(env, node.inputs[0], ctx["pe"]),),
        (port(env, node.outputs[0], ctx["pe"]),), f"requantize 2^-{fx} -> {node.out} (round half to even, saturate)",
    )  # fmt: skip


@emitter(N.Add)
def _add(env: NodeEnv) -> NodeCode:
    node: N.Add = env.node
    ctx = _stream_basics(env)
    sa, sb = env.spec(node.inputs[0]), env.spec(node.inputs[1])
    fa, fb = frac_of(env, sa), frac_of(env, sb)
    f = max(fa, fb)
    a, b = num_of(sa), num_of(sb)
    total = Iv.of(env.ranges.step("aligned sum"))
    ctx.update(a=a, b=b, shift_a=f - fa, shift_b=f - fb, sum_num=total.num, out=num_of(env.out_spec),
               **requant_ctx(node.out, f))  # fmt: skip
    pe = ctx["pe"]
    return NodeCode(
        "add.hpp.j2", ctx, [], ("stream",), (port(env, node.inputs[0], pe), port(env, node.inputs[1], pe)),
        (port(env, node.outputs[0], pe),),
        f"y = a + b on the grid 2^-{f}" + (f", requantized to {node.out}" if node.out else " (exact)"),
    )  # fmt: skip


def prelu_ctx(env: NodeEnv, fx: int, fg: int, fz: int, fb: int) -> dict:
    """Grids and widths of ``PReLU_beta(x - g) + z`` (exact), as in hwsim.reference._prelu_exact; the widths
    are the node's intervals ``x - gamma``, ``prelu``, ``prelu + zeta`` (:mod:`hwsim.ranges`).

    ``g`` is given on the grid ``2^-fg`` and ``z`` on ``2^-fz``; the template receives them already aligned to
    the grids of the subtraction (``fd``) and of the sum (``fo``), so the datapath has no constant shifters.
    """
    fd = max(fx, fg)
    fp = fd + shift_amount(env, fb, "beta_frac < 0")
    fo = max(fp, fz)
    r = env.ranges
    return {
        "fd": fd, "fp": fp, "fo": fo, "shift_x": fd - fx, "shift_pos": fp - fd, "shift_p": fo - fp,
        "d_num": Iv.of(r.step("x - gamma")).num, "p_num": Iv.of(r.step("prelu")).num,
        "y_num": Iv.of(r.step("prelu + zeta")).num, "g_shift": fd - fg, "z_shift": fo - fz,
    }  # fmt: skip


@emitter(N.PReLU)
def _prelu(env: NodeEnv) -> NodeCode:
    node: N.PReLU = env.node
    ctx = _stream_basics(env)
    x = num_of(env.in_spec)
    fx = frac_of(env, env.in_spec)
    pc = prelu_ctx(env, fx, node.gamma_frac, node.zeta_frac, node.beta_frac)
    pe = ctx["pe"]
    gamma = node.gamma.astype(np.int64) << pc["g_shift"]
    zeta = node.zeta.astype(np.int64) << pc["z_shift"]
    params = [
        ParamArray("gamma", storage_num(gamma), per_pe(gamma, pe), f"shift before the PReLU, on the grid 2^-{pc['fd']}"),
        ParamArray("zeta", storage_num(zeta), per_pe(zeta, pe), f"shift after the PReLU, on the grid 2^-{pc['fo']}"),
        ParamArray("beta", storage_num(node.beta), per_pe(node.beta.astype(np.int64), pe),
                   f"negative slope at 2^-{node.beta_frac}"),
    ]  # fmt: skip
    ctx.update(x=x, out=num_of(env.out_spec), beta_num=storage_num(node.beta), **pc,
               **requant_ctx(node.out, pc["fo"]))  # fmt: skip
    return NodeCode(
        "prelu.hpp.j2",
        ctx,
        params,
        ("stream",),
        (port(env, node.inputs[0], pe),),
        (port(env, node.outputs[0], pe),),
        f"y = requant(PReLU_beta(x - gamma[c]) + zeta[c] -> {node.out}), {ctx['c']} channels",
    )


@emitter(N.Duplicate)
def _duplicate(env: NodeEnv) -> NodeCode:
    node: N.Duplicate = env.node
    ctx = _stream_basics(env)
    ctx.update(n_out=len(node.outputs), bits=num_of(env.in_spec).bits)
    pe = ctx["pe"]
    return NodeCode(
        "duplicate.hpp.j2", ctx, [], ("stream",), (port(env, node.inputs[0], pe),),
        tuple(port(env, t, pe) for t in node.outputs), f"stream fork to {len(node.outputs)} consumers",
    )  # fmt: skip


@emitter(N.Flatten)
def _flatten(env: NodeEnv) -> NodeCode:
    node: N.Flatten = env.node
    ctx = _stream_basics(env)
    ctx.update(bits=num_of(env.in_spec).bits)
    pe = ctx["pe"]
    return NodeCode(
        "flatten.hpp.j2", ctx, [], ("stream",), (port(env, node.inputs[0], pe),), (port(env, node.outputs[0], pe),),
        "(H, W, C) -> (H*W*C,) channels last: the stream order does not change",
    )  # fmt: skip


@emitter(N.Concat)
def _concat(env: NodeEnv) -> NodeCode:
    node: N.Concat = env.node
    pe = env.fold.pe
    out_spec = env.out_spec
    out = num_of(out_spec)
    binary = isinstance(out_spec.dtype, Bipolar)
    ins = []
    for t in node.inputs:
        s = env.spec(t)
        shift = 0 if binary else out_spec.dtype.frac - frac_of(env, s)
        ins.append({"num": num_of(s), "cf": s.shape[-1] // pe, "shift": shift})
    pixels = elems_of(out_spec) // out_spec.shape[-1]
    ctx = {"pe": pe, "pixels": pixels, "inputs": ins, "out": out, "binary": binary,
           "cf_total": out_spec.shape[-1] // pe, "words": elems_of(out_spec) // pe}  # fmt: skip
    return NodeCode(
        "concat.hpp.j2", ctx, [], ("stream",), tuple(port(env, t, pe) for t in node.inputs),
        (port(env, node.outputs[0], pe),),
        f"channel concatenation of {len(node.inputs)} streams ({' + '.join(str(env.spec(t).shape[-1]) for t in node.inputs)})",
    )  # fmt: skip


@emitter(N.GlobalPool)
def _global_pool(env: NodeEnv) -> NodeCode:
    node: N.GlobalPool = env.node
    ctx = _stream_basics(env)
    h, w, c = env.in_spec.shape
    x = num_of(env.in_spec)
    fx = frac_of(env, env.in_spec)
    pre = node.pre
    total = Iv.of(env.ranges.step("channel sum"))
    fs = fx if pre is None else pre.frac
    ctx.update(pixels=h * w, x=x, sum_num=total.num, out=num_of(env.out_spec), pre=pre is not None,
               pre_bits=pre.bits if pre else 0, pre_signed=pre.signed if pre else True,
               pre_shift=fx - pre.frac if pre else 0, **requant_ctx(node.out, fs + node.shift))  # fmt: skip
    pe = ctx["pe"]
    return NodeCode(
        "global_pool.hpp.j2", ctx, [], ("pool",), (port(env, node.inputs[0], pe),), (port(env, node.outputs[0], pe),),
        (f"requantized to {pre}, then " if pre else "")
        + f"per-channel sum over {h}x{w} pixels times 2^-{node.shift}" + (f", requantized to {node.out}" if node.out else ""),
    )  # fmt: skip


@emitter(N.LabelSelect)
def _label_select(env: NodeEnv) -> NodeCode:
    node: N.LabelSelect = env.node
    pe = env.fold.pe
    c = env.in_spec.shape[-1]
    if not isinstance(env.in_spec.dtype, Fixed):
        raise EmitError(f"node {node.name!r}: LabelSelect needs fixed-point scores")
    out = num_of(env.out_spec)
    ctx = {"pe": pe, "c": c, "words": c // pe, "k": node.k, "x": num_of(env.in_spec), "out": out,
           "idx_bits": max(1, (c - 1).bit_length())}  # fmt: skip
    return NodeCode(
        "label_select.hpp.j2", ctx, [], ("select", "emit"), (port(env, node.inputs[0], pe),),
        (port(env, node.outputs[0], 1),), f"indices of the {node.k} largest of {c} scores (ties: lower index first)",
    )  # fmt: skip
