"""RTL modules of the channel-wise, pooling and DyBNN dynamic nodes (Requant, Add, PReLU, Concat, GlobalPool,
MaxPool, AvgPool, DynamicSign, DynamicPReLU) against hwsim, exactly, with and without random gaps and
back-pressure, and their cycles per frame against the timing model (hls.timing)."""

from __future__ import annotations

import numpy as np
import pytest

from hls.folding import Fold, channels, divisors
from hls.timing import timing
from hwsim import nodes as N
from tests.hwsim.graphs import build
from tests.rtl.cases_d2 import Q, elementwise_graph, frames, varied_folding
from tests.rtl.helpers import check_design

pytestmark = pytest.mark.rtl


def test_elementwise_nodes(tmp_path, rng):
    """One build: Requant, Add, PReLU, Concat, GlobalPool, MaxPool, AvgPool side by side on 10 channels (PE = 10
    makes words wider than 64 bits), PE 1 / all channels / a divisor per node; 4 frames with ties and saturation."""
    g = elementwise_graph(rng, c=10, hw=4)
    folding = varied_folding(g, rng)
    for n in g.nodes:  # a Concat whose inputs all come from one fork (see docs/rtl.md, fork coupling)
        if isinstance(n, N.Concat):
            folding[n.name] = Fold(channels(g, n), 1)
    check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))


def _alone(rng: np.random.Generator, node: N.Node, c: int, hw: int):
    nodes = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Q)]
    if any(t.startswith("b") for t in node.inputs):
        nodes.append(N.Sign(name="sg", inputs=("q",), outputs=("b",), thr=rng.integers(-8, 9, c),
                            invert=np.zeros(c, np.uint8)))  # fmt: skip
    g = build(node.name, (hw, hw, c), [*nodes, node])
    return g


@pytest.mark.slow
def test_every_node_alone_takes_the_modelled_cycles(tmp_path, rng):
    """Each node type of the group alone behind the input quantizer, at a PE that makes it the slowest node: the
    measured steady-state cycles per frame equal the timing model's exactly."""
    c, hw = 6, 5
    g_all = elementwise_graph(rng, c=c, hw=hw, dynamic=True)
    seen = set()
    for node in g_all.nodes:
        if type(node) in seen or isinstance(node, (N.InputQuant, N.Sign)):
            continue
        seen.add(type(node))
        ins = tuple(
            "b" if g_all.producer(t) and isinstance(g_all.producer(t), N.Sign) else "q" for t in node.inputs
        )
        node = node.replace(inputs=ins)
        g = _alone(rng, node, c, hw)
        pes = divisors(channels(g, node))
        folding = {"inq": Fold(c, 1), "sg": Fold(c, 1), node.name: Fold(pes[len(pes) // 2], 1)}
        folding = {k: v for k, v in folding.items() if k in {n.name for n in g.nodes}}
        res = check_design(tmp_path / node.name, g, folding, frames(rng, 3, (hw, hw, c)), gaps=False)
        assert res.cycles_per_frame == timing(g, folding).nodes[node.name].cycles, node.op_type
