"""Emitters of DyBNN's dynamic units: DynamicSign and DynamicPReLU (frame buffer, channel statistics, the
fixed-point hyper-function MLP ``hls/templates/_hyper.hpp.j2``, then the per-channel operation on the buffered
frame)."""

from __future__ import annotations

import numpy as np

from hls import levels as L
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
from hls.emit.elementwise import prelu_ctx, requant_ctx
from hwsim import nodes as N
from hwsim.ranges import clamp_thresholds


def hyper_ctx(env: NodeEnv, hf: N.HyperFunction, fx: int) -> tuple[dict, list[ParamArray]]:
    """Grids, widths and parameter layout of the hyper function (see :class:`hwsim.nodes.HyperFunction`)."""
    pe = env.fold.pe
    c = hf.w1.shape[1]
    if c % pe or hf.n_out % pe:
        raise EmitError(
            f"node {env.node.name!r}: PE={pe} must divide {c} channels and {hf.n_out} hyper outputs"
        )
    cf, nof, hd = c // pe, hf.n_out // pe, hf.n_hidden
    pre = hf.pre  # requantization of every element before the channel sum
    hr = env.ranges.hyper
    stat = Num(hf.stat.bits, hf.stat.signed)
    stat_shift = hf.sum_frac(fx) + hf.pool_shift - hf.stat.frac
    w1 = hf.w1.astype(np.int64)
    f1 = hf.h1_frac
    a1 = shift_amount(env, f1 - hf.stat.frac - hf.w1_frac, "hyper layer 1 product alignment")
    b1 = hf.b1.astype(np.int64) << shift_amount(env, f1 - hf.b1_frac, "hyper b1 alignment")
    hidden = Num(hf.hidden.bits, hf.hidden.signed)
    w2 = hf.w2.astype(np.int64)
    fz = hf.z_frac
    a2 = shift_amount(env, fz - hf.hidden.frac - hf.w2_frac, "hyper layer 2 product alignment")
    b2 = hf.b2.astype(np.int64) << shift_amount(env, fz - hf.b2_frac, "hyper b2 alignment")
    total, l1, h1, l2, z, delta = (Iv.of(v) for v in (hr.sum, hr.l1, hr.h1, hr.l2, hr.z, hr.delta))
    one = 1 << fz
    act = hf.act  # optional requantization of the clipped output
    squash, sq_table = squash_ctx(hf, z)
    w1_t = np.ascontiguousarray(per_pe(w1.T, pe).transpose(0, 2, 1))  # [PE][CF][HD] -> [PE][HD][CF]
    w2_t = per_pe(w2, pe)  # [PE][NOF][HD]
    params = [
        ParamArray(
            "w1", storage_num(w1), w1_t, f"layer 1: w1[p][j][cf] = W1(j, cf*PE + p) at 2^-{hf.w1_frac}"
        ),
        ParamArray("b1", storage_num(b1), b1, f"layer 1 bias on the grid 2^-{f1}"),
        ParamArray(
            "w2", storage_num(w2), w2_t, f"layer 2: w2[p][of][j] = W2(of*PE + p, j) at 2^-{hf.w2_frac}"
        ),
        ParamArray(
            "b2", storage_num(b2), per_pe(b2, pe), f"layer 2 bias of output of*PE + p on the grid 2^-{fz}"
        ),
    ]
    if sq_table is not None:
        params.append(
            ParamArray(
                "sq_thr", squash["sq_num"], sq_table,
                f"squash thresholds on the grid 2^-{fz}, ascending: level = {act.lo} + #(sq_thr[k] <= z)",
            )
        )  # fmt: skip
    ctx = {
        "pe": pe, "cf": cf, "nof": nof, "hd": hd, "n_out": hf.n_out, "sum_num": total.num, "stat": stat,
        "stat_shift": stat_shift, "pool_shift": hf.pool_shift, "fx": fx, "stat_frac": hf.stat.frac,
        "pre": pre is not None, "pre_bits": pre.bits if pre else 0, "pre_signed": pre.signed if pre else True,
        "pre_shift": fx - pre.frac if pre else 0, "sum_frac": hf.sum_frac(fx),
        "l1_num": l1.num, "h1_num": h1.num, "a1": a1, "f1": f1, "hidden": hidden,
        "hidden_shift": f1 - hf.hidden.frac, "hidden_frac": hf.hidden.frac, "l2_num": l2.num, "z_num": z.num,
        "z": z, "a2": a2, "fz": fz, "delta_num": delta.num, "delta": delta, "one": one, "lam_log2": hf.lam_log2,
        "delta_frac": hf.delta_frac, "w1_num": storage_num(w1), "b1_num": storage_num(b1),
        "w2_num": storage_num(w2), "b2_num": storage_num(b2), "act": act is not None,
        "act_bits": act.bits if act else 0, "act_signed": act.signed if act else True,
        "act_shift": fz - act.frac if act else 0, "act_frac": act.frac if act else fz, **squash,
    }  # fmt: skip
    return ctx, params


def squash_ctx(hf: N.HyperFunction, z: Iv) -> tuple[dict, np.ndarray | None]:
    """Context and table of a tanh squash (``hf.squash_thr``), laid out for an unrolled binary search; the
    table is None without a squash.

    The search takes ``steps = ceil(log2(n + 1))`` dependent compares for ``n`` thresholds: after the steps for
    bits ``steps-1 .. b`` the count ``#(thr <= z)`` lies in ``[m, m + 2^b - 1]`` with ``m``'s lower ``b`` bits
    zero, and ``thr[m + 2^(b-1) - 1] <= z`` decides bit ``b-1`` (the table is sorted). The table is padded to
    ``2^steps - 1`` entries with a threshold no ``z`` reaches; thresholds are clamped into ``[z.lo, z.hi + 1]``
    (``z`` is the exact range of the layer-2 output), which changes no count (:func:`hls.emit.clamp_thresholds`),
    so the table's type is at most one bit wider than ``z``'s.
    """
    thr = getattr(hf, "squash_thr", None)
    if thr is None:
        return {"squash": False, "sq_steps": 0, "sq_n": 0, "sq_lo": 0}, None
    n = int(thr.shape[0])
    steps = max(1, n.bit_length())  # 2^steps - 1 >= n
    table = np.full((1 << steps) - 1, z.hi + 1, dtype=np.int64)
    table[:n] = clamp_thresholds(thr, z.lo, z.hi)
    ctx = {
        "squash": True,
        "sq_steps": steps,
        "sq_n": n,
        "sq_lo": int(hf.act.lo),
        "sq_num": storage_num(table),
    }
    return ctx, table


def _frame(env: NodeEnv) -> dict:
    spec = env.in_spec
    if len(spec.shape) != 3:
        raise EmitError(f"node {env.node.name!r}: expects an (H, W, C) feature map, got {spec.shape}")
    h, w, c = spec.shape
    pe = env.fold.pe
    x = num_of(spec)
    return {"h": h, "w": w, "c": c, "pe": pe, "cf": c // pe, "pixels": h * w, "words": elems_of(spec) // pe, "x": x,
            "fx": frac_of(env, spec), "buffers": env.fold.buffers,
            "context": bool(getattr(getattr(env.node, "hyper", None), "context", False)),
            "levels": env.fold.storage == "levels",
            "forward": [f"fwd{k}" for k in range(1, len(env.node.outputs))]}  # fmt: skip


def _loops_ports(env: NodeEnv, fr: dict) -> tuple[tuple[str, ...], tuple]:
    """The loop labels and input ports of a dynamic unit: frame in / hyper / frame out around its frame buffer, or
    with a context hyper function, context in / hyper / frame out and the context vector as a second input."""
    node, pe = env.node, fr["pe"]
    if fr["context"]:
        return ("context_in", "hyper1", "hyper2", "frame_out"), tuple(port(env, t, pe) for t in node.inputs)
    return ("frame_in", "hyper1", "hyper2", "frame_out"), (port(env, node.inputs[0], pe),)


@emitter(N.DynamicSign)
def _dynamic_sign(env: NodeEnv) -> NodeCode:
    node: N.DynamicSign = env.node
    fr = _frame(env)
    hyper, params = hyper_ctx(env, node.hyper, fr["fx"])
    dfrac = node.hyper.delta_frac
    f = max(fr["fx"], node.tau_frac, dfrac)
    tau = node.tau.astype(np.int64) << (f - node.tau_frac)
    params.append(
        ParamArray("tau", storage_num(tau), per_pe(tau, fr["pe"]), f"static threshold on the grid 2^-{f}")
    )
    ctx = {**fr, "hyper": hyper, "f": f, "shift_x": f - fr["fx"], "shift_delta": f - dfrac, "cmp_num": Iv.of(env.ranges.thr).num,
           "tau_num": storage_num(tau)}  # fmt: skip
    if fr["levels"]:  # buffer_storage: levels (hls.levels): level = clamp(((X - T) >> s) - lo + 1, 0, N)
        lo, hi = L.delta_range(node.hyper)
        diff = Iv.of(L.diff_range(node, env.in_spec.dtype, fr["fx"])).num
        _, _, s = L.grid(node, fr["fx"])
        # an arithmetic shift by bits - 1 already leaves only the sign (-1 or 0), as any longer shift does
        ctx.update(lb=L.level_bits(node), lv_lo=lo, lv_hi=hi, lv_n=hi - lo + 1, diff_num=diff,
                   lv_shift=min(s, diff.bits - 1))  # fmt: skip
    pe = fr["pe"]
    loops, ins = _loops_ports(env, fr)
    return NodeCode(
        "dynamic_sign.hpp.j2", ctx, params, loops, ins, tuple(port(env, t, pe) for t in node.outputs),
        f"bit = x >= tau[c] + delta(x)[c] on a {fr['h']}x{fr['w']}x{fr['c']} frame, hyper function "
        f"{fr['c']} -> {node.hyper.n_hidden} -> {node.hyper.n_out}, PE = {pe}",
    )  # fmt: skip


@emitter(N.DynamicPReLU)
def _dynamic_prelu(env: NodeEnv) -> NodeCode:
    node: N.DynamicPReLU = env.node
    fr = _frame(env)
    hyper, params = hyper_ctx(env, node.hyper, fr["fx"])
    dfrac = node.hyper.delta_frac
    pc = prelu_ctx(env, fr["fx"], max(node.gamma_frac, dfrac), max(node.zeta_frac, dfrac), node.beta_frac)
    fd, fo = pc["fd"], pc["fo"]
    pe = fr["pe"]
    gamma = node.gamma.astype(np.int64) << (fd - node.gamma_frac)
    zeta = node.zeta.astype(np.int64) << (fo - node.zeta_frac)
    params += [
        ParamArray("gamma", storage_num(gamma), per_pe(gamma, pe), f"static shift before the PReLU on the grid 2^-{fd}"),
        ParamArray("zeta", storage_num(zeta), per_pe(zeta, pe), f"static shift after the PReLU on the grid 2^-{fo}"),
        ParamArray("beta", storage_num(node.beta), per_pe(node.beta.astype(np.int64), pe),
                   f"negative slope at 2^-{node.beta_frac}"),
    ]  # fmt: skip
    ctx = {**fr, "hyper": hyper, **pc, "out": num_of(env.out_spec), "gamma_num": storage_num(gamma),
           "zeta_num": storage_num(zeta), "beta_num": storage_num(node.beta), "g_delta_shift": fd - dfrac,
           "z_delta_shift": fo - dfrac, **requant_ctx(node.out, fo)}  # fmt: skip
    loops, ins = _loops_ports(env, fr)
    return NodeCode(
        "dynamic_prelu.hpp.j2", ctx, params, loops, ins, tuple(port(env, t, pe) for t in node.outputs),
        f"y = requant(PReLU_beta(x - gamma[c] - dg(x)[c]) + zeta[c] + dz(x)[c] -> {node.out}) on a "
        f"{fr['h']}x{fr['w']}x{fr['c']} frame, hyper function {fr['c']} -> {node.hyper.n_hidden} -> "
        f"{node.hyper.n_out}, PE = {pe}",
    )  # fmt: skip


@emitter(N.HyperContext)
def _hyper_context(env: NodeEnv) -> NodeCode:
    node: N.HyperContext = env.node
    fr = _frame(env)
    fx, pre = fr["fx"], node.pre
    sum_frac = pre.frac if pre is not None else fx
    hyper = {
        "sum_num": Iv.of(env.ranges.step("channel sum")).num, "stat": Num(node.stat.bits, node.stat.signed),
        "stat_shift": sum_frac + node.shift - node.stat.frac, "sum_frac": sum_frac, "pre": pre is not None,
        "pre_bits": pre.bits if pre else 0, "pre_signed": pre.signed if pre else True,
        "pre_shift": fx - pre.frac if pre else 0,
    }  # fmt: skip
    pe = fr["pe"]
    return NodeCode(
        "hyper_context.hpp.j2", {**fr, "hyper": hyper}, [], ("frame_in", "context_out", "frame_out"),
        (port(env, node.inputs[0], pe),), tuple(port(env, t, pe) for t in node.outputs),
        f"the context of every hyper function: channel statistics of a {fr['h']}x{fr['w']}x{fr['c']} frame "
        f"(-> {node.stat}), sent ahead of the frame, which waits in the one frame buffer; PE = {pe}",
    )  # fmt: skip
