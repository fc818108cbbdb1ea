"""Randomized designs for the RTL tests: several single-node cases side by side in one graph (one Verilator
build), in the style of tests/hls/cases.py."""

from __future__ import annotations

import numpy as np

from hwsim import nodes as N
from hwsim.encoding import float_key
from hwsim.graph import HwGraph
from hwsim.types import Fixed
from tests.hwsim.graphs import build


def stream_graph(rng: np.random.Generator, c: int = 6, hw: int = 3, k: int = 3) -> HwGraph:
    """InputQuant in its three modes (fixed point, bit, ordered key) feeding Sign (ties on the thresholds),
    MultiThreshold, Flatten -> LabelSelect (ties among the scores) and a Sign on keys."""
    q8 = Fixed(6, 2, True)  # narrow: saturation and ties are frequent
    nodes: list[N.Node] = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=q8),
        N.InputQuant(name="inb", inputs=("x",), outputs=("xb",), out=None),
        N.InputQuant(name="ink", inputs=("x",), outputs=("xk",), out=N.input_quant.KEY_TYPE, key=True),
        N.Sign(
            name="sign",
            inputs=("q",),
            outputs=("b",),
            thr=rng.integers(-40, 41, c),
            invert=rng.integers(0, 2, c).astype(np.uint8),
        ),  # fmt: skip
        N.MultiThreshold(
            name="mt",
            inputs=("q",),
            outputs=("m",),
            thr=np.sort(rng.integers(-40, 40, (c, 3)), axis=1),
            base=-1,
            out=Fixed(3, 0, True),
        ),  # fmt: skip
        N.MultiThreshold(
            name="mt0",
            inputs=("q",),
            outputs=("m0",),
            thr=np.zeros((c, 0), np.int64),
            base=2,
            out=Fixed(3, 0, False),
        ),  # fmt: skip
        N.Flatten(name="flat", inputs=("q",), outputs=("f",)),
        N.LabelSelect(name="top", inputs=("f",), outputs=("idx",), k=k),
        N.Sign(
            name="ksign",
            inputs=("xk",),
            outputs=("kb",),
            thr=float_key(rng.standard_normal(c).astype(np.float32)),
            invert=np.zeros(c, np.uint8),
        ),  # fmt: skip
    ]
    g = build("stream", (hw, hw, c), nodes)
    g.outputs = ["b", "m", "m0", "idx", "kb", "xb", "q"]
    g.validate()
    return g


def tie_inputs(rng: np.random.Generator, n: int, shape: tuple[int, ...], frac: int = 2) -> np.ndarray:
    """Frames on the 2**-frac grid (so thresholds and scores tie often), with a few values far out of range."""
    x = rng.integers(-12, 13, (n, *shape)) / 2.0**frac
    x.reshape(n, -1)[:, 0] = 1e6  # saturation
    return x.astype(np.float32)


def matrix_graph(
    rng: np.random.Generator, c: int = 4, hw: int = 6, co: int = 4, streaming: bool = False
) -> HwGraph:
    """Matrix units side by side: FixedConv (requantized and exact affine stages), XnorConv on bits with each
    pad value (threshold and affine stages; random kernels, strides, padding), XnorConv with binary weights on
    the fixed-point input, a 1x1 XnorConv without window generator, SlidingWindow -> XnorDense, Flatten ->
    XnorDense on bits and FixedDense on fixed point; with ``streaming`` also LabelSelect, MultiThreshold and
    InputQuant in its bit and key modes (one Verilator build for all of them)."""
    from tests.hls.cases import _affine, _kernel, _pad, _stride, _threshold

    nodes: list[N.Node] = [
        N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 4, True)),
        N.Sign(
            name="sign",
            inputs=("q",),
            outputs=("b",),
            thr=rng.integers(-20, 21, c),
            invert=rng.integers(0, 2, c).astype(np.uint8),
        ),  # fmt: skip
    ]
    outs: list[str] = []

    def add(node: N.Node, output: bool = True) -> str:
        nodes.append(node)
        if output:
            outs.append(node.outputs[0])
        return node.outputs[0]

    for i, requant in enumerate((True, False)):
        k = _kernel(rng)
        add(N.FixedConv(name=f"fconv{i}", inputs=("q",), outputs=(f"fconv{i}_y",),
                        weights=rng.integers(-127, 128, (co, *k, c)), w_bits=8, w_frac=7, kernel=k,
                        stride=_stride(rng), pad=_pad(rng, k), stage=_affine(rng, co, 200, requant)))  # fmt: skip
    for pv in (-1, 0, 1):
        k = (3, 3) if pv == 0 else _kernel(rng)
        kk = k[0] * k[1] * c
        stage = _threshold(rng, co, kk) if pv != 1 else _affine(rng, co, kk, True)
        pad = (1, 1, 1, 1) if pv == 0 else _pad(rng, k)
        add(N.XnorConv(name=f"xconv{pv + 1}", inputs=("b",), outputs=(f"xconv{pv + 1}_y",),
                       weights=rng.integers(0, 2, (co, *k, c)), kernel=k, stride=_stride(rng), pad=pad,
                       pad_value=pv, stage=stage))  # fmt: skip
    k = _kernel(rng)
    add(N.XnorConv(name="xconv_fx", inputs=("q",), outputs=("xconv_fx_y",), weights=rng.integers(0, 2, (co, *k, c)),
                   kernel=k, stride=_stride(rng), pad=_pad(rng, k), pad_value=0,
                   stage=_threshold(rng, co, 400)))  # fmt: skip
    add(N.XnorConv(name="xconv1x1", inputs=("b",), outputs=("xconv1x1_y",), weights=rng.integers(0, 2, (co, 1, 1, c)),
                   kernel=(1, 1), stride=(1, 1), pad=(0, 0, 0, 0), pad_value=0,
                   stage=_affine(rng, co, c, False)))  # fmt: skip
    k = _kernel(rng)
    w = add(N.SlidingWindow(name="swu", inputs=("b",), outputs=("swu_y",), kernel=k, stride=_stride(rng),
                            pad=_pad(rng, k), pad_value=int(rng.choice([-1, 1]))))  # fmt: skip
    kk = k[0] * k[1] * c
    add(N.XnorDense(name="xdense", inputs=(w,), outputs=("xdense_y",), weights=rng.integers(0, 2, (co, kk)),
                    stage=_threshold(rng, co, kk)))  # fmt: skip
    f = add(N.Flatten(name="flatb", inputs=("b",), outputs=("flatb_y",)), output=False)
    add(N.XnorDense(name="xfc", inputs=(f,), outputs=("xfc_y",), weights=rng.integers(0, 2, (co, hw * hw * c)),
                    stage=_affine(rng, co, hw * hw * c, True)))  # fmt: skip
    f = add(N.Flatten(name="flatq", inputs=("q",), outputs=("flatq_y",)), output=False)
    add(N.FixedDense(name="ffc", inputs=(f,), outputs=("ffc_y",), weights=rng.integers(-127, 128, (co, hw * hw * c)),
                     w_bits=8, w_frac=7, stage=_affine(rng, co, 100, False)))  # fmt: skip
    if streaming:  # the streaming nodes too, in the same build
        add(N.LabelSelect(name="top", inputs=(f,), outputs=("top_y",), k=3))
        add(N.MultiThreshold(name="mt", inputs=("q",), outputs=("mt_y",),
                             thr=np.sort(rng.integers(-40, 40, (c, 3)), axis=1), base=-1, out=Fixed(3, 0, True)))  # fmt: skip
        add(N.InputQuant(name="inb", inputs=("x",), outputs=("xb",), out=None))
        k = add(N.InputQuant(name="ink", inputs=("x",), outputs=("xk",), out=N.input_quant.KEY_TYPE, key=True),
                output=False)  # fmt: skip
        add(N.Sign(name="ksign", inputs=(k,), outputs=("kb",), invert=np.zeros(c, np.uint8),
                   thr=float_key(rng.standard_normal(c).astype(np.float32))))  # fmt: skip
    g = build("matrix", (hw, hw, c), nodes)
    g.outputs = outs
    g.validate()
    return g
