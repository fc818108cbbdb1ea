"""Level L2: the numpy reference of every node type -- the executable statement of the numeric contract.

Tensors are batched and channels-last: bipolar tensors as uint8 bits ``{0,1}`` (bit 1 is +1), fixed-point tensors
as int64 integers ``q`` (value ``q * 2**-frac``), class indices as int64, the graph input as float32. Every
function is plain, obvious integer numpy; the Numba kernels (:mod:`hwsim.kernels`) must agree bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim import nodes as N
from hwsim.encoding import align, float_key, requantize, shift_round_half_even
from hwsim.registry import Registry
from hwsim.types import Bipolar, Fixed, Float, TensorSpec

REFERENCE = Registry("numpy reference")


def reference(cls: type) -> Callable:
    """Register the numpy reference of a node type: ``fn(node, inputs, in_specs, out_specs) -> outputs``."""
    return REFERENCE.register(cls)


# ---------------------------------------------------------------------------------------------------- helpers


def apply_stage(stage: N.OutputStage, acc: np.ndarray) -> np.ndarray:
    """Apply a matrix unit's output stage to an int64 accumulator (last axis = output channel)."""
    if stage.mode == "threshold":
        return ((acc >= stage.thr) ^ stage.invert.astype(bool)).astype(np.uint8)
    y = acc * stage.mul + stage.bias
    if stage.out is not None:
        y = requantize(y, stage.frac, stage.out.frac, stage.out.bits, stage.out.signed)
    return y


def requant_to(q: np.ndarray, frac: int, out: Fixed | None) -> np.ndarray:
    if out is None:
        return q
    return requantize(q, frac, out.frac, out.bits, out.signed)


def pad_nhwc(x: np.ndarray, pad: tuple[int, int, int, int], value: int) -> np.ndarray:
    pt, pl, pb, pr = pad
    return np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), mode="constant", constant_values=value)


def conv_nhwc(x: np.ndarray, w: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """Valid correlation of an already padded int64 ``x (N,H,W,C)`` with ``w (O,KH,KW,C)`` -> ``(N,OH,OW,O)``."""
    n, h, wd, c = x.shape
    o, kh, kw, _ = w.shape
    sh, sw = stride
    oh = (h - kh) // sh + 1
    ow = (wd - kw) // sw + 1
    acc = np.zeros((n, oh, ow, o), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
            acc += np.einsum("nhwc,oc->nhwo", patch, w[:, i, j, :].astype(np.int64), dtype=np.int64)
    return acc


def hyper_function(
    hf: N.HyperFunction, x: np.ndarray, x_frac: int, context: np.ndarray | None = None
) -> np.ndarray:
    """``delta`` of a :class:`~hwsim.nodes.HyperFunction` for a batch ``x (N,H,W,C)``; int64 at ``hf.delta_frac``.
    A context hyper function (``hf.context``) reads the statistics ``context (N, C0)`` instead of pooling ``x``."""
    if hf.context:
        s = np.asarray(context, dtype=np.int64)
    else:
        s = requant_to(x.astype(np.int64), x_frac, hf.pre).sum(axis=(1, 2), dtype=np.int64)  # frac sum_frac
        s = requantize(s, hf.sum_frac(x_frac) + hf.pool_shift, hf.stat.frac, hf.stat.bits, hf.stat.signed)
    h1 = s @ hf.w1.T.astype(np.int64)  # frac stat.frac + w1_frac
    f1 = hf.h1_frac
    h1 = align(h1, hf.stat.frac + hf.w1_frac, f1) + align(hf.b1, hf.b1_frac, f1)
    h1 = np.maximum(h1, 0)
    h1 = requantize(h1, f1, hf.hidden.frac, hf.hidden.bits, hf.hidden.signed)
    fz = hf.z_frac
    z = align(h1 @ hf.w2.T.astype(np.int64), hf.hidden.frac + hf.w2_frac, fz) + align(hf.b2, hf.b2_frac, fz)
    if hf.squash_thr is not None:  # a monotone squash (tanh) feeding the act quantizer, as thresholds
        return hf.act.lo + np.searchsorted(hf.squash_thr.astype(np.int64), z, side="right").astype(np.int64)
    one = np.int64(1) << np.int64(fz)
    z = np.clip(z, -one, one)
    if hf.act is not None:
        z = requantize(z, fz, hf.act.frac, hf.act.bits, hf.act.signed)
    return z  # times 2**lam_log2: the frac changes to delta_frac, the integer does not


def _signed_bits(b: np.ndarray) -> np.ndarray:
    return 2 * b.astype(np.int64) - 1


# ---------------------------------------------------------------------------------------------------- nodes


@reference(N.InputQuant)
def _(node: N.InputQuant, ins, in_specs, out_specs):
    if node.key:
        return [float_key(ins[0])]
    x = np.asarray(ins[0], dtype=np.float32).astype(np.float64)
    if node.out is None:
        return [(x >= 0).astype(np.uint8)]
    q = np.round(np.ldexp(x, node.out.frac))  # exact scaling; np.round is round-half-to-even
    return [np.clip(q, node.out.lo, node.out.hi).astype(np.int64)]


@reference(N.XnorConv)
def _(node: N.XnorConv, ins, in_specs, out_specs):
    x = ins[0]
    a = _signed_bits(x) if isinstance(in_specs[0].dtype, Bipolar) else x.astype(np.int64)
    a = pad_nhwc(a, node.pad, node.pad_value)
    acc = conv_nhwc(a, _signed_bits(node.weights), node.stride)
    return [apply_stage(node.stage, acc)]


@reference(N.XnorDense)
def _(node: N.XnorDense, ins, in_specs, out_specs):
    x = ins[0]
    a = _signed_bits(x) if isinstance(in_specs[0].dtype, Bipolar) else x.astype(np.int64)
    acc = a @ _signed_bits(node.weights).T
    return [apply_stage(node.stage, acc)]


@reference(N.FixedConv)
def _(node: N.FixedConv, ins, in_specs, out_specs):
    a = pad_nhwc(ins[0].astype(np.int64), node.pad, 0)
    return [apply_stage(node.stage, conv_nhwc(a, node.weights, node.stride))]


@reference(N.FixedDense)
def _(node: N.FixedDense, ins, in_specs, out_specs):
    return [apply_stage(node.stage, ins[0].astype(np.int64) @ node.weights.T.astype(np.int64))]


@reference(N.SlidingWindow)
def _(node: N.SlidingWindow, ins, in_specs, out_specs):
    x = ins[0]
    bip = isinstance(in_specs[0].dtype, Bipolar)
    padv = (1 if node.pad_value > 0 else 0) if bip else node.pad_value
    xp = pad_nhwc(x, node.pad, padv)
    win = node.window(in_specs[0].shape)
    kh, kw, sh, sw, oh, ow = win.kh, win.kw, win.sh, win.sw, win.oh, win.ow
    cols = [
        xp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
        for i in range(kh)
        for j in range(kw)
    ]
    return [np.concatenate(cols, axis=-1)]


@reference(N.Sign)
def _(node: N.Sign, ins, in_specs, out_specs):
    return [((ins[0] >= node.thr) ^ node.invert.astype(bool)).astype(np.uint8)]


@reference(N.MultiThreshold)
def _(node: N.MultiThreshold, ins, in_specs, out_specs):
    x = ins[0][..., None]
    return [node.base + (x >= node.thr).sum(axis=-1).astype(np.int64)]


@reference(N.DynamicSign)
def _(node: N.DynamicSign, ins, in_specs, out_specs):
    x = ins[0].astype(np.int64)
    fx = in_specs[0].dtype.frac
    hf = node.hyper
    delta = hyper_function(hf, x, fx, ins[1] if hf.context else None)  # (N, C) at delta_frac
    f = max(fx, node.tau_frac, hf.delta_frac)
    thr = align(node.tau, node.tau_frac, f)[None, :] + align(delta, hf.delta_frac, f)
    return [(align(x, fx, f) >= thr[:, None, None, :]).astype(np.uint8)]


def _prelu_exact(x, fx, g, fg, z, fz, beta, fb):
    """``PReLU_beta(x - g) + z`` exact; returns (int64, frac). ``g``/``z`` broadcast against ``x``."""
    fd = max(fx, fg)
    d = align(x, fx, fd) - align(g, fg, fd)
    fp = fd + fb
    p = np.where(d >= 0, align(d, fd, fp), d * beta)
    fo = max(fp, fz)
    return align(p, fp, fo) + align(z, fz, fo), fo


@reference(N.PReLU)
def _(node: N.PReLU, ins, in_specs, out_specs):
    fx = in_specs[0].dtype.frac
    y, f = _prelu_exact(
        ins[0].astype(np.int64),
        fx,
        node.gamma,
        node.gamma_frac,
        node.zeta,
        node.zeta_frac,
        node.beta,
        node.beta_frac,
    )
    return [requant_to(y, f, node.out)]


@reference(N.DynamicPReLU)
def _(node: N.DynamicPReLU, ins, in_specs, out_specs):
    x = ins[0].astype(np.int64)
    fx = in_specs[0].dtype.frac
    hf = node.hyper
    c = node.channels
    d = hyper_function(hf, x, fx, ins[1] if hf.context else None)  # (N, 2C) at delta_frac
    fg = max(node.gamma_frac, hf.delta_frac)
    fz = max(node.zeta_frac, hf.delta_frac)
    g = align(node.gamma, node.gamma_frac, fg)[None] + align(d[:, :c], hf.delta_frac, fg)
    z = align(node.zeta, node.zeta_frac, fz)[None] + align(d[:, c:], hf.delta_frac, fz)
    bshape = (x.shape[0],) + (1,) * (x.ndim - 2) + (c,)
    y, f = _prelu_exact(x, fx, g.reshape(bshape), fg, z.reshape(bshape), fz, node.beta, node.beta_frac)
    return [requant_to(y, f, node.out)]


@reference(N.Add)
def _(node: N.Add, ins, in_specs, out_specs):
    fa, fb = in_specs[0].dtype.frac, in_specs[1].dtype.frac
    f = max(fa, fb)
    return [requant_to(align(ins[0], fa, f) + align(ins[1], fb, f), f, node.out)]


@reference(N.AvgPool)
def _(node: N.AvgPool, ins, in_specs, out_specs):
    x = ins[0].astype(np.int64)
    win = node.window(in_specs[0].shape)
    kh, kw, sh, sw, oh, ow = win.kh, win.kw, win.sh, win.sw, win.oh, win.ow
    n, c = x.shape[0], x.shape[-1]
    s = np.zeros((n, oh, ow, c), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            s += x[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
    return [requant_to(s, in_specs[0].dtype.frac + node.shift, node.out)]


@reference(N.MaxPool)
def _(node: N.MaxPool, ins, in_specs, out_specs):
    x = ins[0].astype(np.int64)
    lo = np.iinfo(np.int64).min
    xp = pad_nhwc(x, node.pad, lo)
    win = node.window(in_specs[0].shape)
    kh, kw, sh, sw, oh, ow = win.kh, win.kw, win.sh, win.sw, win.oh, win.ow
    n, c = x.shape[0], x.shape[-1]
    m = np.full((n, oh, ow, c), lo, dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            m = np.maximum(m, xp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :])
    return [m.astype(ins[0].dtype)]


@reference(N.Concat)
def _(node: N.Concat, ins, in_specs, out_specs):
    if isinstance(out_specs[0].dtype, Bipolar):
        return [np.concatenate(ins, axis=-1)]
    f = out_specs[0].dtype.frac
    return [np.concatenate([align(x, s.dtype.frac, f) for x, s in zip(ins, in_specs, strict=True)], axis=-1)]


@reference(N.Duplicate)
def _(node: N.Duplicate, ins, in_specs, out_specs):
    return [ins[0].copy() for _ in node.outputs]


@reference(N.GlobalPool)
def _(node: N.GlobalPool, ins, in_specs, out_specs):
    fx = in_specs[0].dtype.frac
    s = requant_to(ins[0].astype(np.int64), fx, node.pre).sum(axis=(1, 2))
    f = node.pre.frac if node.pre is not None else fx
    return [requant_to(s, f + node.shift, node.out)]


@reference(N.HyperContext)
def _(node: N.HyperContext, ins, in_specs, out_specs):
    fx = in_specs[0].dtype.frac
    s = requant_to(ins[0].astype(np.int64), fx, node.pre).sum(axis=(1, 2))
    f = node.pre.frac if node.pre is not None else fx
    return [ins[0].copy(), requant_to(s, f + node.shift, node.stat)]


@reference(N.LabelSelect)
def _(node: N.LabelSelect, ins, in_specs, out_specs):
    # stable sort on -x keeps the lower index first among ties (torch.argmax semantics for k = 1)
    x = ins[0] if isinstance(in_specs[0].dtype, Float) else ins[0].astype(np.int64)
    order = np.argsort(-x, axis=-1, kind="stable")
    return [order[..., : node.k].astype(np.int64)]


def float_tail(node: N.FloatTail, q: np.ndarray, frac: int) -> np.ndarray:
    """:class:`~hwsim.nodes.FloatTail` on integers ``q`` at ``frac``: float32 steps in the ONNX order."""
    y = np.ldexp(np.asarray(q, dtype=np.float64), -frac).astype(np.float32)  # exact (checked when lowering)
    with np.errstate(all="ignore"):  # IEEE results (inf, nan) as onnxruntime gives them
        for op, c in zip(node.ops, node.constants(), strict=True):
            if op == "add":
                y = y + c
            elif op == "sub":
                y = y - c
            elif op == "rsub":
                y = c - y
            elif op == "mul":
                y = y * c
            elif op == "div":
                y = y / c
            else:  # rdiv
                y = c / y
    assert y.dtype == np.float32
    return y


@reference(N.FloatTail)
def _(node: N.FloatTail, ins, in_specs, out_specs):
    return [float_tail(node, ins[0], in_specs[0].dtype.frac)]


@reference(N.Requant)
def _(node: N.Requant, ins, in_specs, out_specs):
    return [requant_to(ins[0].astype(np.int64), in_specs[0].dtype.frac, node.out)]


@reference(N.Flatten)
def _(node: N.Flatten, ins, in_specs, out_specs):
    return [ins[0].reshape(ins[0].shape[0], -1)]


def run_node(node: N.Node, ins: list[np.ndarray], in_specs: list[TensorSpec], out_specs: list[TensorSpec]):
    fn = REFERENCE.get(type(node))
    if fn is None:
        raise NotImplementedError(f"no numpy reference for node type {node.op_type}")
    return fn(node, ins, in_specs, out_specs)


__all__ = ["REFERENCE", "apply_stage", "hyper_function", "reference", "run_node", "shift_round_half_even"]
