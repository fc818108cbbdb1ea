"""Emitters of the matrix units: XnorConv, XnorDense (binary weights), FixedConv, FixedDense (multi-bit weights).

All four share the matrix-vector unit ``hls/templates/_mvu.hpp.j2`` (FINN MVAU structure: ``N * NF * SF``
iterations, PE output channels x SIMD inputs per cycle, the input vector buffered for reuse across neuron folds)
with its fused output stage; the convolutions put the sliding-window generator ``_swu.hpp.j2`` in front of it.
"""

from __future__ import annotations

import numpy as np

from hls.cycles import conv_has_swu
from hls.emit import (
    EmitError,
    Iv,
    NodeCode,
    NodeEnv,
    Num,
    ParamArray,
    emitter,
    num_of,
    per_pe,
    port,
    storage_num,
)
from hls.emit.elementwise import requant_ctx
from hls.emit.window import swu_ctx
from hls.folding import matrix_dims
from hls.timing import window_buffer_depth
from hwsim import nodes as N
from hwsim.encoding import pack_bits
from hwsim.ranges import NodeRanges, clamp_thresholds
from hwsim.types import Bipolar, Fixed

LIMB = 64  # weight words wider than this are stored as 64-bit limbs


def _tiles(w2: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """``(MH, MW)`` -> ``[PE][NF*SF][SIMD]``: output ``nf*PE + p``, inputs ``sf*SIMD .. +SIMD`` -> ``[p][nf*SF+sf]``."""
    mh, mw = w2.shape
    nf, sf = mh // pe, mw // simd
    t = w2.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(t.reshape(pe, nf * sf, simd))


def _stage(env: NodeEnv, stage: N.OutputStage, r: NodeRanges, pe: int) -> tuple[dict, list[ParamArray]]:
    out_spec = env.out_spec
    if stage.mode == "threshold":
        thr = clamp_thresholds(stage.thr, r.acc_lo, r.acc_hi)
        params = [
            ParamArray("thr", storage_num(thr), per_pe(thr, pe), "threshold of output channel nf*PE + p"),
            ParamArray(
                "invert", Num(1, False), per_pe(stage.invert.astype(np.int64), pe), "invert the output bit"
            ),
        ]
        return {"mode": "threshold", "out": Num(1, False), "thr_num": Iv.of(thr).num}, params
    mul = stage.mul.astype(np.int64)
    bias = stage.bias.astype(np.int64)
    value = Iv.of(r.value)
    params = [
        ParamArray("mul", storage_num(mul), per_pe(mul, pe), "scale of output channel nf*PE + p"),
        ParamArray(
            "bias",
            storage_num(bias),
            per_pe(bias, pe),
            f"bias of output channel nf*PE + p at 2^-{stage.frac}",
        ),
    ]
    ctx = {"mode": "affine", "out": num_of(out_spec), "frac": stage.frac, "value_num": value.num,
           "mul_num": storage_num(mul), "bias_num": storage_num(bias),
           **requant_ctx(stage.out, stage.frac)}  # fmt: skip
    return ctx, params


def _matrix(env: NodeEnv, binary_w: bool) -> NodeCode:
    node = env.node
    f = env.fold
    g = env.graph
    x_spec = env.in_spec
    binary_x = isinstance(x_spec.dtype, Bipolar)
    if not binary_x and not isinstance(x_spec.dtype, Fixed):
        raise EmitError(f"node {node.name!r}: input must be bipolar or fixed point, got {x_spec.dtype}")
    if not binary_w and binary_x:
        raise EmitError(f"node {node.name!r}: {node.op_type} needs a fixed-point input")
    x = num_of(x_spec)
    mh, mw, n = matrix_dims(g, node)
    pe, simd = f.pe, f.simd
    is_conv = isinstance(node, (N.XnorConv, N.FixedConv))
    w = node.weights.reshape(node.cout, -1).astype(np.int64)
    r = env.ranges
    acc = Iv.of(r.acc)
    tiles = _tiles(w, pe, simd)
    params: list[ParamArray] = []
    limbs = 0
    if binary_w:
        words = pack_bits(tiles)  # (PE, TILES, LIMBS), element s of a SIMD group is bit s
        limbs = words.shape[-1] if words.shape[-1] > 1 else 0  # 0: one word per tile
        if limbs == 0:
            params.append(ParamArray("weights", Num(simd, False), words[..., 0],
                                     "bit s of weights[p][nf*SF + sf]: weight (nf*PE + p, sf*SIMD + s), bit 1 = +1"))  # fmt: skip
        else:
            params.append(ParamArray("weights", Num(LIMB, False), words,
                                     f"weights[p][tile] as {limbs} 64-bit limbs, least significant first"))  # fmt: skip
    else:
        params.append(ParamArray("weights", Num(node.w_bits, True), tiles,
                                 f"weights[p][nf*SF + sf][s]: weight (nf*PE + p, sf*SIMD + s) at 2^-{node.w_frac}"))  # fmt: skip
    stage, stage_params = _stage(env, node.stage, r, pe)
    params += stage_params

    masked = False
    swu = None
    loops = ("mvu",)
    if is_conv:
        pad_value = node.pad_value if isinstance(node, N.XnorConv) else 0
        if not binary_x and pad_value != 0:
            raise EmitError(f"node {node.name!r}: a fixed-point input pads with 0")
        masked = binary_x and pad_value == 0 and any(node.pad)
        if conv_has_swu(node):
            swu = swu_ctx(node.window(x_spec.shape), simd, x.bits, masked, binary_x and pad_value > 0)
            swu["win_depth"] = window_buffer_depth(env.graph, node, f)
            loops = ("swu", "mvu")
    if binary_x:
        kind = "xnor"
    elif binary_w:
        kind = "signed_add"
    else:
        kind = "mac"
    partial = Iv(-simd, simd) if binary_x else acc
    mvu = {
        "n": n, "pe": pe, "simd": simd, "nf": mh // pe, "sf": mw // simd, "mh": mh, "mw": mw, "kind": kind,
        "masked": masked, "x": x, "in_bits": simd * x.bits + (1 if masked else 0), "data_bits": simd * x.bits,
        "acc_num": acc.num, "partial_num": partial.num, "limbs": limbs, "stage": stage,
        "w_num": Num(node.w_bits, True) if not binary_w else None, "from_swu": swu is not None,
    }  # fmt: skip
    ctx = {"mvu": mvu, "swu": swu}
    if is_conv:
        kh, kw = node.kernel
        what = {"xnor": "XNOR-popcount", "signed_add": "binary weights on a fixed-point input",
                "mac": f"{getattr(node, 'w_bits', 0)}-bit weights"}[kind]  # fmt: skip
        pad = (
            f", pad {node.pad}"
            + (f" value {node.pad_value:+d}".replace("+0", "0") if binary_x else "")
            + (" (masked)" if masked else "")
        )
        summary = (f"{kh}x{kw} conv stride {node.stride}{pad}, {node.cin} -> {node.cout} channels, {what}, "
                   f"PE = {pe}, SIMD = {simd}")  # fmt: skip
    else:
        summary = f"{mw} -> {mh} matrix-vector unit on {n} vector(s), PE = {pe}, SIMD = {simd}"
    stage_txt = (
        "thresholds"
        if stage["mode"] == "threshold"
        else "scale-bias" + (" + requant" if stage["requant"] else "")
    )
    return NodeCode(
        {N.XnorConv: "xnor_conv.hpp.j2", N.XnorDense: "xnor_dense.hpp.j2", N.FixedConv: "fixed_conv.hpp.j2",
         N.FixedDense: "fixed_dense.hpp.j2"}[type(node)],
        ctx, params, loops, (port(env, node.inputs[0], simd),), (port(env, node.outputs[0], pe),),
        f"{summary}; output stage: {stage_txt}",
    )  # fmt: skip


@emitter(N.XnorConv, N.XnorDense)
def _xnor(env: NodeEnv) -> NodeCode:
    return _matrix(env, binary_w=True)


@emitter(N.FixedConv, N.FixedDense)
def _fixed(env: NodeEnv) -> NodeCode:
    return _matrix(env, binary_w=False)
