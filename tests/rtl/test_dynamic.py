"""RTL modules of DyBNN's dynamic units (DynamicSign, DynamicPReLU: frame buffer, channel statistics, hyper
function, compare / PReLU lanes) against hwsim, exactly, with and without random gaps and back-pressure; their
cycles per frame equal to the timing model (hls.cycles.dynamic_cycles) with one and with two frame buffers. The
same for ``hyper_context: stem``: HyperContext (the one frame buffer) and the units that read its context vector
(hls.cycles.context_cycles)."""

from __future__ import annotations

import pytest

from hls.folding import Fold
from hls.timing import node_loops, timing
from hwsim import nodes as N
from hwsim.graph import HwGraph
from tests.hwsim.graphs import resblock_graph
from tests.rtl.cases_d2 import context_graph, dynamic_graph, frames, varied_folding
from tests.rtl.helpers import check_design

pytestmark = pytest.mark.rtl


@pytest.mark.parametrize(
    ("buffers", "hw", "bound"),
    [(1, 4, "sum"), (2, 4, "frame"), (2, 2, "hyper")],
    ids=["one", "two", "two-hyper"],
)
def test_dynamic_units(tmp_path, rng, buffers, hw, bound):
    """One build each: DynamicSign (hardtanh + act, tanh squash, delta = 0 ties) and DynamicPReLU (pre, tanh
    squash); 4 frames whose statistics differ. The dynamic units are the slowest nodes, so the design's cycles
    per frame are those of the slowest one: one buffer ``max(in, out) + hyper`` (PE 1 / all channels / a
    divisor); two buffers ``max(in, hyper, out)`` bound by its frame loops (same PEs) or, at PE 1 on a 2x2 map,
    by its hyper function."""
    g = dynamic_graph(rng, c=6, hw=hw)
    if bound == "hyper":
        folding = {
            n.name: Fold(1, 1, buffers if isinstance(n, N.DynamicSign | N.DynamicPReLU) else 1)
            for n in g.nodes
        }
    else:
        folding = varied_folding(g, rng, buffers)
    tm = timing(g, folding)
    dyn = [n for n in tm.graph.nodes if isinstance(n, N.DynamicSign | N.DynamicPReLU)]
    slowest = max(dyn, key=lambda n: tm.nodes[n.name].cycles)
    loops = node_loops(tm.graph, slowest, folding[slowest.name])
    hyper = loops["hyper1"] + loops["hyper2"]
    want = {"sum": loops["frame_in"] + hyper, "frame": loops["frame_in"], "hyper": hyper}[bound]
    assert tm.max_cycles == want and (bound != "hyper" or hyper > loops["frame_in"])
    res = check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))
    assert res.cycles_per_frame == tm.max_cycles, res.summary()


def test_shortcut_leaves_the_frame_buffer(tmp_path, rng):
    """A residual block (stem, DynamicSign, 3x3 XnorConv, Add, DynamicPReLU): the shortcut leaves DynamicSign's
    frame buffer word for word with its output (hls.timing.forward_frames, NFWD = 1) instead of a fork in front of
    it; exact with and without gaps and back-pressure, at the model's cycles per frame, and the shortcut FIFO
    (the convolution's delay) never overflows: its occupancy stays within the model's depth, below a frame."""
    g0 = resblock_graph(rng, c=8, hw=6)
    nodes = g0.nodes[: [n.name for n in g0.nodes].index("dprelu") + 1]
    g = HwGraph("block", list(g0.inputs), [nodes[-1].outputs[0]], dict(g0.tensors), nodes, {})
    g.validate()
    folding = {"conv1": Fold(8, 8), "dsign": Fold(2, 1, 2), "dprelu": Fold(1, 1, 1)}
    tm = timing(g, folding)
    sc = tm.channel("add1", "s_b")
    assert sc.producer == "dsign" and sc.depth < sc.words
    res = check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))
    assert res.cycles_per_frame == tm.max_cycles, res.summary()


@pytest.mark.parametrize("bound", ["hyper", "context"])
def test_context_units(tmp_path, rng, bound):
    """``hyper_context: stem`` (one build each): HyperContext and four context-reading units (DynamicSign with
    hardtanh + act and with a tanh squash, DynamicPReLU with hardtanh and tanh; two of them on a frame of twice the
    context's channels), 4 frames whose contexts differ; exact with and without gaps and back-pressure, at the
    model's cycles per frame and first-frame latency. ``hyper``: PE 1 on a 2x2 map, so the slowest node is a unit
    whose context in + hyper function outlasts its frame (``context_cycles``); ``context``: the HyperContext at
    PE 1 with one frame buffer is the slowest (frame + context out), the units at PE 4 behind width converters."""
    g = context_graph(rng, c0=4, hw=2 if bound == "hyper" else 4)
    if bound == "hyper":
        folding = {n.name: Fold(1) for n in g.nodes}
        folding["ctx"] = Fold(1, 1, 2)
    else:
        folding = {n.name: Fold(4) for n in g.nodes}
        folding["ctx"] = Fold(1, 1, 1)
    tm = timing(g, folding)
    slowest = max(tm.graph.nodes, key=lambda n: tm.nodes[n.name].cycles)
    loops = node_loops(tm.graph, slowest, folding[slowest.name])
    if bound == "hyper":
        assert slowest.name == "dp_tanh" and tm.max_cycles == loops["context_in"] + loops["hyper1"] + loops[
            "hyper2"] > loops["frame_out"]  # fmt: skip
    else:
        assert slowest.name == "ctx" and tm.max_cycles == loops["frame_in"] + loops["context_out"]
    res = check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))
    assert res.cycles_per_frame == tm.max_cycles and res.latency == res.model_latency, res.summary()
