"""Randomized designs for the RTL tests of the channel-wise, pooling and DyBNN dynamic nodes: many single-node
cases side by side in one graph (one Verilator build), in the style of tests/hls/cases.py."""

from __future__ import annotations

import dataclasses

import numpy as np

from hls.folding import Fold, buffered, channels, divisors
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Fixed
from tests.hwsim.graphs import build, hyper

#: the input quantizer of the designs: narrow, so that saturation and ties are frequent
Q = Fixed(7, 3, True)


def _sign(rng: np.random.Generator, name: str, src: str, c: int) -> N.Sign:
    return N.Sign(name=name, inputs=(src,), outputs=(name + "_y",), thr=rng.integers(-8, 9, c),
                  invert=rng.integers(0, 2, c).astype(np.uint8))  # fmt: skip


def elementwise_graph(rng: np.random.Generator, c: int = 6, hw: int = 5, dynamic: bool = False) -> HwGraph:
    """Requant (saturating, and a left shift), Add (exact and requantized, mixed grids), PReLU, Concat (fixed point
    on two grids, bits, three inputs), GlobalPool (with and without ``pre``), MaxPool (fixed point and bits, padded),
    AvgPool (exact and requantized), all fed by one input quantizer (and Sign for the bit inputs); with ``dynamic``, also the dynamic units of
    :func:`dynamic_nodes`."""
    nodes: list[N.Node] = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Q), _sign(rng, "sg", "q", c),
                           _sign(rng, "sg2", "q", c)]  # fmt: skip
    outs: list[str] = []

    def add(node: N.Node, output: bool = True) -> str:
        nodes.append(node)
        if output:
            outs.append(node.outputs[0])
        return node.outputs[0]

    add(N.Requant(name="rq_sat", inputs=("q",), outputs=("rq_sat_y",), out=Fixed(4, 1, True)))
    add(N.Requant(name="rq_left", inputs=("q",), outputs=("rq_left_y",), out=Fixed(9, 4, False)))
    pr = add(N.PReLU(name="prelu", inputs=("q",), outputs=("prelu_y",), gamma=rng.integers(-40, 40, c), gamma_frac=4,
                     zeta=rng.integers(-40, 40, c), zeta_frac=7, beta=rng.integers(-60, 60, c), beta_frac=6,
                     out=Fixed(9, 3, True)))  # fmt: skip
    add(N.Add(name="add_rq", inputs=(pr, "q"), outputs=("add_rq_y",), out=Fixed(6, 2, True)))
    add(N.Add(name="add_ex", inputs=("q", pr), outputs=("add_ex_y",), out=None))
    add(N.Concat(name="cat_fx", inputs=("q", pr), outputs=("cat_fx_y",)))
    add(N.Concat(name="cat_b3", inputs=("sg_y", "sg2_y", "sg_y"), outputs=("cat_b3_y",)))
    add(N.GlobalPool(name="gap_pre", inputs=("q",), outputs=("gap_pre_y",), shift=3, out=Fixed(8, 3, True),
                     pre=Fixed(4, 1, True)))  # fmt: skip
    add(N.GlobalPool(name="gap", inputs=("q",), outputs=("gap_y",), shift=2, out=None))
    add(
        N.MaxPool(
            name="mp_fx", inputs=("q",), outputs=("mp_fx_y",), kernel=(3, 2), stride=(2, 1), pad=(1, 0, 1, 1)
        )
    )
    add(
        N.MaxPool(
            name="mp_b", inputs=("sg_y",), outputs=("mp_b_y",), kernel=(2, 2), stride=(2, 2), pad=(1, 1, 0, 0)
        )
    )
    add(N.AvgPool(name="ap_ex", inputs=("q",), outputs=("ap_ex_y",), kernel=(2, 2), stride=(1, 2), out=None))
    add(N.AvgPool(name="ap_rq", inputs=("q",), outputs=("ap_rq_y",), kernel=(4, 1), stride=(1, 1),
                  out=Fixed(5, 1, True)))  # fmt: skip
    if dynamic:
        for n in dynamic_nodes(rng, c):
            add(n)
    g = build("elementwise", (hw, hw, c), nodes)
    g.outputs = outs
    g.validate()
    return g


def dynamic_nodes(rng: np.random.Generator, c: int) -> list[N.Node]:
    """DynamicSign (hardtanh with the 8-bit ``act``; a tanh squash; one whose hyper function returns delta = 0 so
    that ``x == tau`` ties decide) and DynamicPReLU (with ``pre``; with a tanh squash) on the tensor ``q``."""
    nodes: list[N.Node] = []
    hf = dataclasses.replace(hyper(rng, c, c, hidden=3), act=Fixed(8, 7, True))
    zero = dataclasses.replace(
        hyper(rng, c, c, hidden=2), w2=np.zeros((c, 2), np.int64), b2=np.zeros(c, np.int64)
    )
    tanh = hyper(rng, c, c, hidden=2, squash="tanh")
    for name, h, tau in (("ds_act", hf, rng.integers(-30, 30, c)), ("ds_tanh", tanh, rng.integers(-30, 30, c)),
                         ("ds_tie", zero, rng.integers(-8, 8, c) * 4)):  # fmt: skip
        nodes.append(
            N.DynamicSign(name=name, inputs=("q",), outputs=(name + "_y",), tau=tau, tau_frac=5, hyper=h)
        )
    hp = dataclasses.replace(hyper(rng, c, 2 * c, hidden=2), pre=Fixed(5, 2, True))
    hpt = hyper(rng, c, 2 * c, hidden=1, squash="tanh")
    for name, h in (("dp_pre", hp), ("dp_tanh", hpt)):
        nodes.append(N.DynamicPReLU(name=name, inputs=("q",), outputs=(name + "_y",), gamma=rng.integers(-40, 40, c),
                                    gamma_frac=5, zeta=rng.integers(-40, 40, c), zeta_frac=6,
                                    beta=rng.integers(-60, 60, c), beta_frac=6, hyper=h,
                                    out=Fixed(10, 4, True)))  # fmt: skip
    return nodes


def dynamic_graph(rng: np.random.Generator, c: int = 6, hw: int = 4) -> HwGraph:
    """The dynamic units of :func:`dynamic_nodes` alone behind one input quantizer."""
    nodes = dynamic_nodes(rng, c)
    g = build(
        "dynamic", (hw, hw, c), [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Q), *nodes]
    )
    g.outputs = [n.outputs[0] for n in nodes]
    g.validate()
    return g


def varied_folding(g: HwGraph, rng: np.random.Generator, buffers: int | None = None) -> dict[str, Fold]:
    """Per node a PE among the divisors of its channels: 1, the largest (whole pixels per word) or a random one;
    a frame buffer (a dynamic unit's, HyperContext's) holds ``buffers`` frames (None: one or two, alternately)."""
    out = {}
    for i, n in enumerate(g.nodes):
        pes = divisors(channels(g, n))
        b = (buffers or 1 + i % 2) if buffered(n) else 1
        out[n.name] = Fold((pes[0], pes[-1], int(rng.choice(pes)))[i % 3], 1, b)
    return out


def frames(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Frames on the input grid 2**-3 (ties with thresholds), one per-frame offset (the statistics, so the
    deltas, differ between frames), a few values far out of range (saturation)."""
    x = rng.integers(-40, 41, (n, *shape)) / 8.0 + rng.integers(-3, 4, (n,) + (1,) * len(shape))
    x.reshape(n, -1)[:, 0] = 1e6
    x.reshape(n, -1)[:, 1] = -1e6
    return x.astype(np.float32)


def context_graph(rng: np.random.Generator, c0: int = 4, hw: int = 4) -> HwGraph:
    """``hyper_context: stem`` units side by side: a HyperContext node (with ``pre``) on the quantized input of
    ``c0`` channels, then context-reading units on its frame and on a frame of ``2*c0`` channels (a Concat; the
    context then has fewer words than the frame: ``HCF != CF``): DynamicSign (hardtanh + ``act``; tanh squash)
    and DynamicPReLU (hardtanh; tanh squash)."""

    def ctx(outs: int, squash: str = "hardtanh") -> N.HyperFunction:
        h = hyper(rng, c0, outs, hidden=2, squash=squash)
        return dataclasses.replace(h, context=True, pool_shift=0, pre=None)

    stat = ctx(c0).stat
    nodes: list[N.Node] = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Q),
        N.HyperContext(
            name="ctx", inputs=("q",), outputs=("f", "k"), shift=3, stat=stat, pre=Fixed(5, 2, True)
        ),
        N.Concat(name="cat", inputs=("f", "f"), outputs=("f2",)),
    ]
    units: list[N.Node] = []
    for name, src, h, tau in (
        ("ds_act", "f", dataclasses.replace(ctx(c0), act=Fixed(8, 7, True)), rng.integers(-30, 30, c0)),
        ("ds_tanh", "f2", ctx(2 * c0, "tanh"), rng.integers(-30, 30, 2 * c0)),
    ):
        units.append(N.DynamicSign(name=name, inputs=(src, "k"), outputs=(name + "_y",), tau=tau, tau_frac=5,
                                   hyper=h))  # fmt: skip
    for name, src, c, h in (("dp", "f", c0, ctx(2 * c0)), ("dp_tanh", "f2", 2 * c0, ctx(4 * c0, "tanh"))):
        units.append(N.DynamicPReLU(name=name, inputs=(src, "k"), outputs=(name + "_y",),
                                    gamma=rng.integers(-40, 40, c), gamma_frac=5, zeta=rng.integers(-40, 40, c),
                                    zeta_frac=6, beta=rng.integers(-60, 60, c), beta_frac=6, hyper=h,
                                    out=Fixed(10, 4, True)))  # fmt: skip
    g = build("context", (hw, hw, c0), nodes + units)
    g.outputs = [n.outputs[0] for n in units]
    g.validate()
    return g
