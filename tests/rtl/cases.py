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
