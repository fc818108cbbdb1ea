"""Small hand-built hardware graphs for tests (every node type appears in one of them)."""

from __future__ import annotations

import dataclasses

import numpy as np

from hls.estimate.designs import random_hyper
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.infer import infer
from hwsim.types import Fixed, Float, TensorSpec


def build(name: str, in_shape: tuple[int, ...], nodes: list[N.Node]) -> HwGraph:
    """Assemble a graph from nodes in order, inferring every tensor spec; the last node's outputs are outputs."""
    tensors = {"x": TensorSpec(tuple(in_shape), Float())}
    for n in nodes:
        for t, s in zip(n.outputs, infer(n, [tensors[i] for i in n.inputs]), strict=True):
            tensors[t] = s
    g = HwGraph(name, ["x"], list(nodes[-1].outputs), tensors, nodes)
    g.validate()
    return g


def hyper(
    rng: np.random.Generator, c: int, outs: int, hidden: int = 4, squash: str = "hardtanh"
) -> N.HyperFunction:
    """A random hyper function with exactly ``hidden`` hidden units (``squash="tanh"``: output thresholds)."""
    return random_hyper(rng, c, outs, reduction=c + 1, min_hidden=hidden, squash=squash)


def resblock_graph(rng: np.random.Generator, c: int = 8, hw: int = 6, pad_value: int = 0) -> HwGraph:
    """Input quant -> stem FixedConv -> DynamicSign -> XnorConv(+scale-bias) -> Add -> DynamicPReLU -> Sign ->
    XnorConv s2 -> AvgPool shortcut/Add -> PReLU -> Concat -> GlobalPool -> FixedDense -> LabelSelect."""
    s16 = Fixed(16, 10, True)
    nodes = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 5, True)),
        N.FixedConv(
            name="stem",
            inputs=("q",),
            outputs=("s",),
            weights=rng.integers(-127, 128, (c, 3, 3, 2)),
            w_bits=8,
            w_frac=7,
            kernel=(3, 3),
            stride=(1, 1),
            pad=(1, 1, 1, 1),
            stage=N.OutputStage("affine", 12, rng.integers(1, 4, c), rng.integers(-500, 500, c), s16),
        ),
        N.Duplicate(name="dup0", inputs=("s",), outputs=("s_a", "s_b")),
        N.DynamicSign(
            name="dsign",
            inputs=("s_a",),
            outputs=("b0",),
            tau=rng.integers(-300, 300, c),
            tau_frac=10,
            hyper=dataclasses.replace(hyper(rng, c, c), pre=Fixed(8, 6, True)),  # requantized before the sum
        ),
        N.XnorConv(
            name="conv1",
            inputs=("b0",),
            outputs=("y1",),
            weights=rng.integers(0, 2, (c, 3, 3, c)),
            kernel=(3, 3),
            stride=(1, 1),
            pad=(1, 1, 1, 1),
            pad_value=pad_value,
            stage=N.OutputStage("affine", 9, rng.integers(-64, 64, c), rng.integers(-4000, 4000, c), None),
        ),
        N.Add(name="add1", inputs=("y1", "s_b"), outputs=("r1",), out=s16),
        N.DynamicPReLU(
            name="dprelu",
            inputs=("r1",),
            outputs=("p1",),
            gamma=rng.integers(-400, 400, c),
            gamma_frac=10,
            zeta=rng.integers(-400, 400, c),
            zeta_frac=10,
            beta=rng.integers(-60, 60, c),
            beta_frac=7,
            hyper=hyper(rng, c, 2 * c),
            out=s16,
        ),
        N.Duplicate(name="dup1", inputs=("p1",), outputs=("p1_a", "p1_b")),
        N.Sign(
            name="sign2",
            inputs=("p1_a",),
            outputs=("b1",),
            thr=rng.integers(-200, 200, c),
            invert=np.zeros(c, np.uint8),
        ),
        N.XnorConv(
            name="conv2",
            inputs=("b1",),
            outputs=("y2",),
            weights=rng.integers(0, 2, (c, 3, 3, c)),
            kernel=(3, 3),
            stride=(2, 2),
            pad=(1, 1, 1, 1),
            pad_value=pad_value,
            stage=N.OutputStage("affine", 9, rng.integers(-64, 64, c), rng.integers(-4000, 4000, c), None),
        ),
        N.AvgPool(name="pool", inputs=("p1_b",), outputs=("sc",), kernel=(2, 2), stride=(2, 2), out=None),
        N.Add(name="add2", inputs=("y2", "sc"), outputs=("r2",), out=s16),
        N.PReLU(
            name="prelu",
            inputs=("r2",),
            outputs=("p2",),
            gamma=rng.integers(-400, 400, c),
            gamma_frac=10,
            zeta=rng.integers(-400, 400, c),
            zeta_frac=11,
            beta=rng.integers(-60, 60, c),
            beta_frac=7,
            out=s16,
        ),
        N.Duplicate(name="dup2", inputs=("p2",), outputs=("p2_a", "p2_b")),
        N.MaxPool(
            name="mp", inputs=("p2_a",), outputs=("m",), kernel=(3, 3), stride=(1, 1), pad=(1, 1, 1, 1)
        ),
        N.Concat(name="cat", inputs=("m", "p2_b"), outputs=("cc",)),
        N.GlobalPool(
            name="gap", inputs=("cc",), outputs=("g",), shift=4, out=Fixed(8, 6, True), pre=Fixed(8, 7)
        ),
        N.FixedDense(
            name="fc",
            inputs=("g",),
            outputs=("logits",),
            weights=rng.integers(-127, 128, (5, 2 * c)),
            w_bits=8,
            w_frac=7,
            stage=N.OutputStage("affine", 13, np.ones(5, np.int64), rng.integers(-9000, 9000, 5), None),
        ),
        N.LabelSelect(name="top", inputs=("logits",), outputs=("label",), k=1),
    ]
    return build("resblock", (hw, hw, 2), nodes)


def finn_graph(rng: np.random.Generator, c: int = 16) -> HwGraph:
    """CNV/LFC-style: 8-bit input XnorConv with thresholds, bit MaxPool, SlidingWindow + XnorDense, Flatten,
    XnorDense with thresholds, MultiThreshold, Requant."""
    nodes = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 6, True)),
        N.XnorConv(
            name="conv0",
            inputs=("q",),
            outputs=("b0",),
            weights=rng.integers(0, 2, (c, 3, 3, 3)),
            kernel=(3, 3),
            stride=(1, 1),
            pad=(0, 0, 0, 0),
            pad_value=0,
            stage=N.OutputStage("threshold", thr=rng.integers(-300, 300, c), invert=rng.integers(0, 2, c)),
        ),
        N.MaxPool(
            name="mp0", inputs=("b0",), outputs=("m0",), kernel=(2, 2), stride=(2, 2), pad=(0, 0, 0, 0)
        ),
        N.SlidingWindow(
            name="swu1",
            inputs=("m0",),
            outputs=("w1",),
            kernel=(3, 3),
            stride=(1, 1),
            pad=(1, 1, 1, 1),
            pad_value=-1,
        ),
        N.XnorDense(
            name="mvu1",
            inputs=("w1",),
            outputs=("b1",),
            weights=rng.integers(0, 2, (c, 9 * c)),
            stage=N.OutputStage("threshold", thr=rng.integers(-10, 10, c), invert=np.zeros(c, np.uint8)),
        ),
        N.Flatten(name="flat", inputs=("b1",), outputs=("f",)),
        N.XnorDense(
            name="fc1",
            inputs=("f",),
            outputs=("a1",),
            weights=rng.integers(0, 2, (12, 4 * 4 * c)),
            stage=N.OutputStage("affine", 3, rng.integers(-9, 9, 12), rng.integers(-99, 99, 12), None),
        ),
        N.MultiThreshold(
            name="mt",
            inputs=("a1",),
            outputs=("t1",),
            thr=np.sort(rng.integers(-400, 400, (12, 3)), axis=1),
            base=-1,
            out=Fixed(3, 0, True),
        ),
        N.Requant(name="rq", inputs=("t1",), outputs=("t2",), out=Fixed(2, -1, True)),
    ]
    return build("finn", (10, 10, 3), nodes)


def stem_context_graph(rng: np.random.Generator, c: int = 8, hw: int = 6) -> HwGraph:
    """``hyper_context: stem``: input quant -> stem FixedConv -> HyperContext (frame, context) -> DynamicSign with a
    context hyper function -> XnorConv -> Add (shortcut) -> DynamicPReLU with a context hyper function -> GlobalPool
    -> FixedDense -> LabelSelect. The context vector has ``c`` statistics; the dynamic units read their copies."""
    s16 = Fixed(16, 10, True)

    def ctx_hyper(outs: int) -> N.HyperFunction:
        return dataclasses.replace(hyper(rng, c, outs), context=True, pool_shift=0, pre=None)

    hs, hp = ctx_hyper(c), ctx_hyper(2 * c)
    hp = dataclasses.replace(hp, stat=hs.stat)
    nodes = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 5, True)),
        N.FixedConv(
            name="stem",
            inputs=("q",),
            outputs=("s",),
            weights=rng.integers(-127, 128, (c, 3, 3, 2)),
            w_bits=8,
            w_frac=7,
            kernel=(3, 3),
            stride=(1, 1),
            pad=(1, 1, 1, 1),
            stage=N.OutputStage("affine", 12, rng.integers(1, 4, c), rng.integers(-500, 500, c), s16),
        ),
        N.HyperContext(
            name="ctx", inputs=("s",), outputs=("f", "k"), shift=6, stat=hs.stat, pre=Fixed(8, 6, True)
        ),
        N.Duplicate(name="dupf", inputs=("f",), outputs=("f_a", "f_b")),
        N.Duplicate(name="dupk", inputs=("k",), outputs=("k_a", "k_b")),
        N.DynamicSign(
            name="dsign",
            inputs=("f_a", "k_a"),
            outputs=("b0",),
            tau=rng.integers(-300, 300, c),
            tau_frac=10,
            hyper=hs,
        ),
        N.XnorConv(
            name="conv1",
            inputs=("b0",),
            outputs=("y1",),
            weights=rng.integers(0, 2, (c, 3, 3, c)),
            kernel=(3, 3),
            stride=(1, 1),
            pad=(1, 1, 1, 1),
            pad_value=0,
            stage=N.OutputStage("affine", 9, rng.integers(-64, 64, c), rng.integers(-4000, 4000, c), None),
        ),
        N.Add(name="add1", inputs=("y1", "f_b"), outputs=("r1",), out=s16),
        N.DynamicPReLU(
            name="dprelu",
            inputs=("r1", "k_b"),
            outputs=("p1",),
            gamma=rng.integers(-400, 400, c),
            gamma_frac=10,
            zeta=rng.integers(-400, 400, c),
            zeta_frac=10,
            beta=rng.integers(-60, 60, c),
            beta_frac=7,
            hyper=hp,
            out=s16,
        ),
        N.GlobalPool(
            name="gap", inputs=("p1",), outputs=("g",), shift=6, out=Fixed(8, 6, True), pre=Fixed(8, 7)
        ),
        N.FixedDense(
            name="fc",
            inputs=("g",),
            outputs=("logits",),
            weights=rng.integers(-127, 128, (5, c)),
            w_bits=8,
            w_frac=7,
            stage=N.OutputStage("affine", 13, np.ones(5, np.int64), rng.integers(-9000, 9000, 5), None),
        ),
        N.LabelSelect(name="top", inputs=("logits",), outputs=("label",), k=1),
    ]
    return build("stem_context", (hw, hw, 2), nodes)
