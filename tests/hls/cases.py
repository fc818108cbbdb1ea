"""Randomized graphs for the HLS tests: many single-node cases side by side in one graph (one g++ build), and
random foldings (PE = SIMD = 1, fully unfolded, or random divisors per node)."""

from __future__ import annotations

import dataclasses

import numpy as np

from hls.estimate.designs import random_hyper
from hls.folding import MATRIX_TYPES, Fold, buffered, channels, divisors, matrix_dims, simd_dim
from hwsim import nodes as N
from hwsim.encoding import align, requantize
from hwsim.graph import HwGraph
from hwsim.simulate import simulate
from hwsim.types import Fixed
from tests.hwsim.graphs import build, hyper


def random_folding(g: HwGraph, rng: np.random.Generator, mode: str = "mixed") -> dict[str, Fold]:
    """``ones``: PE = SIMD = 1; ``max``: fully unfolded; ``mixed``: per node one of ones / max / a random divisor.
    A dynamic unit's frame buffer: one frame (``ones``), two (``max``), or either (a random divisor)."""
    out = {}
    for n in g.nodes:
        if isinstance(n, MATRIX_TYPES):
            mh, _, _ = matrix_dims(g, n)
            pes, simds = divisors(mh), divisors(simd_dim(g, n))
        else:
            pes, simds = divisors(channels(g, n)), [1]
        m = mode if mode != "mixed" else ("ones", "max", "rand", "rand")[int(rng.integers(4))]
        if m == "ones":
            out[n.name] = Fold(1, 1)
        elif m == "max":
            out[n.name] = Fold(pes[-1], simds[-1])
        else:
            out[n.name] = Fold(int(rng.choice(pes)), int(rng.choice(simds)))
        if buffered(n):
            b = {"ones": 1, "max": 2}.get(m) or int(rng.integers(1, 3))
            out[n.name] = dataclasses.replace(out[n.name], buffers=b)
    return out


def _pad(rng: np.random.Generator, k: tuple[int, int]) -> tuple[int, int, int, int]:
    return tuple(
        int(rng.integers(0, max(1, k[i % 2]))) for i in range(4)
    )  # top, left, bottom, right < kernel


def _kernel(rng: np.random.Generator) -> tuple[int, int]:
    return (int(rng.integers(1, 4)), int(rng.integers(1, 4)))


def _stride(rng: np.random.Generator) -> tuple[int, int]:
    return (int(rng.integers(1, 4)), int(rng.integers(1, 4)))


def _affine(rng: np.random.Generator, c: int, acc_bound: int, requant: bool) -> N.OutputStage:
    mul = rng.integers(-6, 7, c)
    mul[mul == 0] = 1
    bias = rng.integers(-4 * acc_bound, 4 * acc_bound + 1, c)
    out = Fixed(10, 2, True) if requant else None
    return N.OutputStage("affine", 3, mul, bias, out)


def _threshold(rng: np.random.Generator, c: int, acc_bound: int) -> N.OutputStage:
    return N.OutputStage(
        "threshold",
        thr=rng.integers(-acc_bound, acc_bound + 1, c),
        invert=rng.integers(0, 2, c).astype(np.uint8),
    )


def fuzz_graph(rng: np.random.Generator, c: int = 4, hw: int = 6, name: str = "fuzz") -> HwGraph:
    """One input quantizer feeding about twenty independent single-node cases (every node type, random kernels,
    strides, padding and pad values, output stages, widths); every case output is a graph output."""
    nodes: list[N.Node] = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 4, True))]
    outs: list[str] = []
    cnt = [0]

    def nm(prefix: str) -> str:
        cnt[0] += 1
        return f"{prefix}{cnt[0]}"

    def add(node: N.Node, output: bool = True) -> str:
        nodes.append(node)
        if output:
            outs.append(node.outputs[0])
        return node.outputs[0]

    def sign(src: str, ch: int) -> str:
        n = nm("sign")
        return add(N.Sign(name=n, inputs=(src,), outputs=(n + "_y",), thr=rng.integers(-20, 21, ch),
                          invert=rng.integers(0, 2, ch).astype(np.uint8)), output=False)  # fmt: skip

    co = int(rng.choice([2, 4, 6, 8]))
    # multi-bit convolution (stem), exact or requantized output
    for requant in (True, False):
        k = _kernel(rng)
        n = nm("fconv")
        add(N.FixedConv(name=n, inputs=("q",), outputs=(n + "_y",), weights=rng.integers(-127, 128, (co, *k, c)),
                        w_bits=8, w_frac=7, kernel=k, stride=_stride(rng), pad=_pad(rng, k),
                        stage=_affine(rng, co, 200, requant)))  # fmt: skip
    # binary convolutions on bits with each pad value, affine and threshold stages
    b = sign("q", c)
    for pv in (-1, 0, 1):
        k = (3, 3) if pv == 0 else _kernel(rng)
        n = nm("xconv")
        kk = k[0] * k[1] * c
        stage = _threshold(rng, co, kk) if rng.integers(2) else _affine(rng, co, kk, bool(rng.integers(2)))
        pad = (1, 1, 1, 1) if pv == 0 else _pad(rng, k)
        add(N.XnorConv(name=n, inputs=(b,), outputs=(n + "_y",), weights=rng.integers(0, 2, (co, *k, c)),
                       kernel=k, stride=_stride(rng), pad=pad, pad_value=pv, stage=stage))  # fmt: skip
    # binary weights on the 8-bit input (CNV first layer), zero padding
    k = _kernel(rng)
    n = nm("xconv_fx")
    add(N.XnorConv(name=n, inputs=("q",), outputs=(n + "_y",), weights=rng.integers(0, 2, (co, *k, c)), kernel=k,
                   stride=_stride(rng), pad=_pad(rng, k), pad_value=0,
                   stage=_threshold(rng, co, 400)))  # fmt: skip
    # sliding window (+-1 padding) followed by a dense unit
    k = _kernel(rng)
    n = nm("swu")
    w = add(N.SlidingWindow(name=n, inputs=(b,), outputs=(n + "_y",), kernel=k, stride=_stride(rng),
                            pad=_pad(rng, k), pad_value=int(rng.choice([-1, 1]))), output=False)  # fmt: skip
    n = nm("xdense")
    kk = k[0] * k[1] * c
    add(N.XnorDense(name=n, inputs=(w,), outputs=(n + "_y",), weights=rng.integers(0, 2, (co, kk)),
                    stage=_threshold(rng, co, kk)))  # fmt: skip
    # pools: max on fixed point and on bits with padding, average with and without requantization
    for src in ("q", b):
        k = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        n = nm("maxpool")
        add(
            N.MaxPool(
                name=n, inputs=(src,), outputs=(n + "_y",), kernel=k, stride=_stride(rng), pad=_pad(rng, k)
            )
        )
    for out in (None, Fixed(8, 3, True)):
        k = [(2, 2), (1, 2), (2, 1), (4, 1)][int(rng.integers(4))]
        n = nm("avgpool")
        add(N.AvgPool(name=n, inputs=("q",), outputs=(n + "_y",), kernel=k, stride=_stride(rng), out=out))
    # DyBNN dynamic units
    n = nm("dsign")
    hf = hyper(rng, c, c, hidden=int(rng.integers(1, 4)))
    if any(f.name == "act" for f in dataclasses.fields(hf)):  # the hyper output requantized to 8 bits
        hf = dataclasses.replace(hf, act=Fixed(8, 7, True))
    add(N.DynamicSign(name=n, inputs=("q",), outputs=(n + "_y",), tau=rng.integers(-30, 30, c), tau_frac=5,
                      hyper=hf))  # fmt: skip
    n = nm("dprelu")
    dp = add(N.DynamicPReLU(name=n, inputs=("q",), outputs=(n + "_y",), gamma=rng.integers(-40, 40, c), gamma_frac=5,
                            zeta=rng.integers(-40, 40, c), zeta_frac=6, beta=rng.integers(-60, 60, c), beta_frac=6,
                            hyper=dataclasses.replace(hyper(rng, c, 2 * c, hidden=int(rng.integers(1, 4))),
                                                      pre=Fixed(5, 2, True)),
                            out=Fixed(10, 4, True)))  # fmt: skip
    # static elementwise units
    n = nm("prelu")
    pr = add(N.PReLU(name=n, inputs=("q",), outputs=(n + "_y",), gamma=rng.integers(-40, 40, c), gamma_frac=4,
                     zeta=rng.integers(-40, 40, c), zeta_frac=7, beta=rng.integers(-60, 60, c), beta_frac=6,
                     out=Fixed(9, 3, True)))  # fmt: skip
    n = nm("requant")
    add(N.Requant(name=n, inputs=("q",), outputs=(n + "_y",), out=Fixed(4, 1, True)))
    n = nm("mt")
    add(N.MultiThreshold(name=n, inputs=("q",), outputs=(n + "_y",), thr=np.sort(rng.integers(-60, 60, (c, 3)), axis=1),
                         base=-1, out=Fixed(3, 0, True)))  # fmt: skip
    n = nm("add")
    add(N.Add(name=n, inputs=(pr, dp), outputs=(n + "_y",), out=Fixed(8, 2, True)))
    n = nm("add")
    add(N.Add(name=n, inputs=("q", pr), outputs=(n + "_y",), out=None))
    n = nm("cat")
    add(N.Concat(name=n, inputs=("q", pr), outputs=(n + "_y",)))
    b2 = sign("q", c)
    n = nm("cat")
    add(N.Concat(name=n, inputs=(b, b2), outputs=(n + "_y",)))
    # head: global pool -> dense -> top-k; flatten -> dense on bits and on fixed point
    n = nm("gap")
    gp = add(N.GlobalPool(name=n, inputs=("q",), outputs=(n + "_y",), shift=3, out=Fixed(8, 3, True),
                          pre=Fixed(6, 1, True)))  # fmt: skip
    n = nm("fc")
    classes = 6
    lg = add(N.FixedDense(name=n, inputs=(gp,), outputs=(n + "_y",), weights=rng.integers(-127, 128, (classes, c)),
                          w_bits=8, w_frac=7, stage=_affine(rng, classes, 100, False)))  # fmt: skip
    n = nm("top")
    add(N.LabelSelect(name=n, inputs=(lg,), outputs=(n + "_y",), k=int(rng.integers(1, 4))))
    n = nm("gap")
    add(N.GlobalPool(name=n, inputs=("q",), outputs=(n + "_y",), shift=2, out=None))
    for src in (b, "q"):
        n = nm("flat")
        f = add(N.Flatten(name=n, inputs=(src,), outputs=(n + "_y",)), output=False)
        n = nm("xfc")
        kk = hw * hw * c
        add(N.XnorDense(name=n, inputs=(f,), outputs=(n + "_y",), weights=rng.integers(0, 2, (co, kk)),
                        stage=_affine(rng, co, kk, bool(rng.integers(2)))))  # fmt: skip
    g = build(name, (hw, hw, c), nodes)
    g.outputs = outs
    g.validate()
    return g


def input_quant_graph(n: int, out: Fixed | None) -> HwGraph:
    """A lone InputQuant on ``n`` values (float32 -> fixed point or bits)."""
    return build("inq", (n,), [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=out)])


def tricky_floats(rng: np.random.Generator, n: int, frac: int) -> np.ndarray:
    """float32 values that stress the input quantizer: exact ties of the 2^-frac grid, +-0, subnormals,
    infinities, values far beyond the range, tiny and huge exponents, random normals."""
    special = np.array(
        [
            0.0,
            -0.0,
            np.inf,
            -np.inf,
            1e-45,
            -1e-45,
            1e-40,
            -3e-39,
            1e30,
            -1e30,
            3.4e38,
            -3.4e38,
            0.5,
            -0.5,
            1.5,
            -1.5,
        ],
        dtype=np.float32,
    )
    ties = ((rng.integers(-600, 600, n) * 2 + 1) / 2.0 ** (frac + 1)).astype(np.float32)  # halfway points
    near = (
        rng.integers(-600, 600, n) / 2.0**frac + rng.choice([-1, 1], n) * 2.0 ** (-frac - 1) * (1 - 2.0**-20)
    ).astype(np.float32)
    rnd = (rng.standard_normal(n) * 3).astype(np.float32)
    allv = np.concatenate([special, ties, near, rnd])
    return allv[: max(n, len(special))]


# ------------------------------------------------------------------------------------ tanh squash thresholds

#: input quantizer of :func:`squash_graph`
SQUASH_IN = Fixed(10, 6, True)


def hyper_z(hf: N.HyperFunction, q: np.ndarray, x_frac: int) -> np.ndarray:
    """The exact layer-2 output ``z (N, outs)`` of the hyper function on frames ``q (N, H, W, C)`` at ``x_frac``
    (``hwsim.reference.hyper_function`` before its clip or squash), on the grid ``2**-hf.z_frac``."""
    s = requantize(q.sum(axis=(1, 2), dtype=np.int64), x_frac + hf.pool_shift, hf.stat.frac, hf.stat.bits,
                   hf.stat.signed)  # fmt: skip
    f1 = hf.h1_frac
    h1 = align(s @ hf.w1.T.astype(np.int64), hf.stat.frac + hf.w1_frac, f1) + align(hf.b1, hf.b1_frac, f1)
    h1 = requantize(np.maximum(h1, 0), f1, hf.hidden.frac, hf.hidden.bits, hf.hidden.signed)
    fz = hf.z_frac
    return align(h1 @ hf.w2.T.astype(np.int64), hf.hidden.frac + hf.w2_frac, fz) + align(
        hf.b2, hf.b2_frac, fz
    )


def squash_graph(rng: np.random.Generator, x: np.ndarray) -> tuple[HwGraph, dict[str, Fold]]:
    """DynamicSign and DynamicPReLU nodes on frames ``x (N, H, W, C)`` whose hyper functions end in a tanh squash
    (``squash_thr``), with 1 and 3 hidden units (one of each pair with its outer thresholds far beyond any ``z``),
    and a third pair whose thresholds lie exactly on the ``z`` values that ``x`` reaches, many repeated (ties: a
    level counts ``thr <= z``); and a folding with PE = 1, PE = C and PE = 2, one and two frame buffers in each pair. DynamicPReLU outputs are finer than
    ``delta``, so every level step shows in them."""
    c = x.shape[-1]  # even (PE = 2)
    nodes: list[N.Node] = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=SQUASH_IN)]
    q = simulate(build("inq", x.shape[1:], nodes[:1]), x)["q"]

    def tanh(outs: int, hd: int) -> N.HyperFunction:
        return random_hyper(rng, c, outs, reduction=c + 1, min_hidden=hd, squash="tanh")

    def on_z(hf: N.HyperFunction) -> N.HyperFunction:
        z = np.unique(hyper_z(hf, q, SQUASH_IN.frac))
        n = hf.act.hi - hf.act.lo
        thr = np.sort(np.concatenate([z, rng.choice(z, max(0, n - z.size))]))[:n]
        return dataclasses.replace(hf, squash_thr=thr)

    def far(hf: N.HyperFunction) -> N.HyperFunction:  # the outer thresholds far beyond any z (clamped)
        thr = hf.squash_thr.copy()
        thr[:5], thr[-5:] = -(1 << 40), 1 << 40
        return dataclasses.replace(hf, squash_thr=thr)

    hypers = [(far(tanh(c, 1)), tanh(2 * c, 1)), (tanh(c, 3), far(tanh(2 * c, 3))),
              (on_z(tanh(c, 2)), on_z(tanh(2 * c, 2)))]  # fmt: skip
    for i, (hs, hp) in enumerate(hypers):
        nodes.append(N.DynamicSign(name=f"dsign{i}", inputs=("q",), outputs=(f"dsign{i}_y",),
                                   tau=rng.integers(-30, 30, c), tau_frac=5, hyper=hs))  # fmt: skip
        nodes.append(N.DynamicPReLU(name=f"dprelu{i}", inputs=("q",), outputs=(f"dprelu{i}_y",),
                                    gamma=rng.integers(-40, 40, c), gamma_frac=5, zeta=rng.integers(-40, 40, c),
                                    zeta_frac=6, beta=rng.integers(-60, 60, c), beta_frac=6, hyper=hp,
                                    out=Fixed(16, 10, True)))  # fmt: skip
    g = build("squash", x.shape[1:], nodes)
    g.outputs = [n.outputs[0] for n in nodes[1:]]
    g.validate()
    pes = {0: (1, 1), 1: (c, 2), 2: (2, 1)}
    folding = {"inq": Fold(1)}
    for i, (ps, pp) in pes.items():
        # one and two frame buffers in each pair
        folding[f"dsign{i}"], folding[f"dprelu{i}"] = Fold(ps, 1, 1 + i % 2), Fold(pp, 1, 2 - i % 2)
    return g, folding
