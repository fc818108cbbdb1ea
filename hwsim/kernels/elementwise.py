"""Per-element fixed-point nodes: PReLU, DynamicPReLU, Add, Requant (exact int64, one RNE requantization).

PReLU on aligned grids (twin of ``hwsim.reference._prelu_exact``)::

    d = (x << sx) - g[c]                   g already at frac fd = max(fx, fg)
    p = d << fb  if d >= 0  else d * beta[c]         frac fp = fd + fb
    y = requant((p << sp) + z[c] -> out)            z already at frac fo = max(fp, fz)

DynamicPReLU is the same with ``g``/``z`` per sample (static shifts plus the hyper function's output).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from hwsim import nodes as N
from hwsim.kernels.fixed import fixed_in, out_storage, requant, requant_np, requant_params, shift_of
from hwsim.kernels.hyper import hyper_delta
from hwsim.kernels.registry import PARALLEL_CHUNKS, kernel


@njit(cache=True, nogil=True, parallel=True)
def _prelu(x, sx, g, fb, beta, sp, z, rows_per, rq_on, rq_shift, rq_lo, rq_hi, out):
    """``x (M, C)``; ``g``/``z`` ``(S, C)`` with row ``r`` using ``g[r // rows_per]``."""
    m, c = x.shape
    nchunk = min(m, PARALLEL_CHUNKS)
    for ci in prange(nchunk):
        for r in range(ci * m // nchunk, (ci + 1) * m // nchunk):
            gr = g[r // rows_per]
            zr = z[r // rows_per]
            xr = x[r]
            orow = out[r]
            for q in range(c):
                d = (np.int64(xr[q]) << sx) - gr[q]
                p = d << fb if d >= 0 else d * beta[q]
                orow[q] = requant((p << sp) + zr[q], rq_on, rq_shift, rq_lo, rq_hi)


@njit(cache=True, nogil=True, parallel=True)
def _add(a, sa, b, sb, rq_on, rq_shift, rq_lo, rq_hi, out):
    for i in prange(a.shape[0]):
        out[i] = requant((np.int64(a[i]) << sa) + (np.int64(b[i]) << sb), rq_on, rq_shift, rq_lo, rq_hi)


def prelu(
    x: np.ndarray,
    fx: int,
    g: np.ndarray,
    fg: int,
    z: np.ndarray,
    fz: int,
    beta: np.ndarray,
    fb: int,
    out_type,
    dtype=np.int64,
) -> np.ndarray:
    """``requant(PReLU_beta(x - g) + z -> out_type)``; ``g``/``z`` ``(C,)`` or per sample ``(N, C)``."""
    x = fixed_in(x)
    c = x.shape[-1]
    fd = max(fx, fg)
    fp = fd + fb
    fo = max(fp, fz)
    shift_of(fd, fp)  # raises like encoding.align when beta_frac < 0
    gs = np.ascontiguousarray((np.asarray(g, dtype=np.int64) << np.int64(shift_of(fg, fd))).reshape(-1, c))
    zs = np.ascontiguousarray((np.asarray(z, dtype=np.int64) << np.int64(shift_of(fz, fo))).reshape(-1, c))
    x2 = x.reshape(-1, c)
    per = max(x2.shape[0] // gs.shape[0], 1)
    rq = requant_params(fo, out_type)
    out = np.empty(x.shape, dtype)
    _prelu(
        x2,
        shift_of(fx, fd),
        gs,
        fb,
        np.ascontiguousarray(beta, dtype=np.int64),
        shift_of(fp, fo),
        zs,
        per,
        *rq,
        out.reshape(-1, c),
    )
    return out


@kernel(N.PReLU)
def prelu_kernel(node: N.PReLU, ins, in_specs, out_specs):
    fx = in_specs[0].dtype.frac
    return [
        prelu(
            ins[0],
            fx,
            node.gamma,
            node.gamma_frac,
            node.zeta,
            node.zeta_frac,
            node.beta,
            node.beta_frac,
            node.out,
            out_storage(out_specs),
        )
    ]


@kernel(N.DynamicPReLU)
def dynamic_prelu(node: N.DynamicPReLU, ins, in_specs, out_specs):
    x = fixed_in(ins[0])
    fx = in_specs[0].dtype.frac
    hf = node.hyper
    c = node.channels
    d = hyper_delta(node, hf, x, fx, ins[1] if hf.context else None)  # (N, 2C) at delta_frac
    fg = max(node.gamma_frac, hf.delta_frac)
    fz = max(node.zeta_frac, hf.delta_frac)
    g = (np.asarray(node.gamma, np.int64) << np.int64(fg - node.gamma_frac))[None] + (
        d[:, :c] << np.int64(fg - hf.delta_frac)
    )
    z = (np.asarray(node.zeta, np.int64) << np.int64(fz - node.zeta_frac))[None] + (
        d[:, c:] << np.int64(fz - hf.delta_frac)
    )
    return [prelu(x, fx, g, fg, z, fz, node.beta, node.beta_frac, node.out, out_storage(out_specs))]


@kernel(N.Add)
def add(node: N.Add, ins, in_specs, out_specs):
    fa, fb = in_specs[0].dtype.frac, in_specs[1].dtype.frac
    f = max(fa, fb)
    a = fixed_in(ins[0])
    b = fixed_in(ins[1])
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), out_storage(out_specs))
    if a.shape != b.shape:  # the contract gives equal shapes; broadcast like numpy otherwise
        a, b = (np.ascontiguousarray(np.broadcast_to(v, out.shape)) for v in (a, b))
    _add(a.reshape(-1), f - fa, b.reshape(-1), f - fb, *requant_params(f, node.out), out.reshape(-1))
    return [out]


@kernel(N.Requant)
def requant_kernel(node: N.Requant, ins, in_specs, out_specs):
    return [requant_np(ins[0], requant_params(in_specs[0].dtype.frac, node.out), out_storage(out_specs))]


@kernel(N.FloatTail)
def float_tail(node: N.FloatTail, ins, in_specs, out_specs):
    """The host-side float tail: the reference's numpy float32 steps (IEEE operations, nothing to accelerate)."""
    from hwsim.reference import float_tail as run

    return [run(node, fixed_in(ins[0]), in_specs[0].dtype.frac)]
