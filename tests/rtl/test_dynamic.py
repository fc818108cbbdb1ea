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


def _residual_block(rng) -> tuple[HwGraph, dict[str, Fold]]:
    """resblock_graph up to its DynamicPReLU, DynamicSign with two frame buffers (NFWD = 1), DynamicPReLU one."""
    g0 = resblock_graph(rng, c=8, hw=6)
    nodes = g0.nodes[: [n.name for n in g0.nodes].index("dprelu") + 1]
    g = HwGraph("block", list(g0.inputs), [nodes[-1].outputs[0]], dict(g0.tensors), nodes, {})
    g.validate()
    return g, {"conv1": Fold(8, 8), "dsign": Fold(2, 1, 2), "dprelu": Fold(1, 1, 1)}


def test_shortcut_leaves_the_frame_buffer(tmp_path, rng):
    """A residual block (stem, DynamicSign, 3x3 XnorConv, Add, DynamicPReLU): the shortcut leaves DynamicSign's
    frame buffer word for word with its output (hls.timing.forward_frames, NFWD = 1) instead of a fork in front of
    it; exact with and without gaps and back-pressure, at the model's cycles per frame, and the shortcut FIFO
    (the convolution's delay) never overflows: its occupancy stays within the model's depth, below a frame."""
    g, folding = _residual_block(rng)
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


def test_packed_frame_buffer(tmp_path, rng, monkeypatch):
    """The frame buffer in rows of several words (``dybnn_pack_ram``: what :func:`rtl.gen_dynamic.frame_layout`
    picks for a URAM frame buffer on a part with URAM, for frames of half a URAM288 or more), forced here on the
    residual block of the test above, so that both ring sizes (DynamicSign with two frame buffers and the
    shortcut leaving it, DynamicPReLU with one) run packed: exact with and without gaps and back-pressure, at the
    model's cycles per frame."""
    import rtl.gen_dynamic as gd

    packs = []

    def packed(frames: int, words: int, width: int, has_uram: bool = False) -> tuple[str, int]:
        k = 4 if words % 4 == 0 else 2
        assert words % k == 0
        packs.append(k)
        return "ultra", k

    monkeypatch.setattr(gd, "frame_layout", packed)
    g, folding = _residual_block(rng)
    tm = timing(g, folding)
    res = check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))
    assert packs == [4, 4]
    prj = (tmp_path / "prj" / "top.sv").read_text()
    assert prj.count(".FRAME_PACK(4)") == 2
    assert res.cycles_per_frame == tm.max_cycles, res.summary()


def test_frame_layout_rule():
    """The frame buffer's style and packing (:func:`rtl.gen_dynamic.frame_layout`): URAM only on a part with
    URAM and for half a URAM288 or more, with the fewest URAM288 by a power-of-two packing that divides the
    frame; else RAMB18 or LUTRAM, one word per row."""
    from rtl.gen_dynamic import frame_layout

    # DyBNN-ReActNet-A's 112x112x64 frames at PE 2 (16-bit words): 25 URAM at 2 words per row, 13 at 4
    assert frame_layout(1, 200704, 16, True) == ("ultra", 4)
    assert frame_layout(1, 200704, 32, True) == ("ultra", 2)
    assert frame_layout(1, 200704, 64, True) == ("ultra", 1)  # a 64-bit word already fills a 72-bit row
    assert frame_layout(1, 200703, 16, True) == ("ultra", 1)  # no power of two divides an odd frame
    assert frame_layout(2, 9218, 16, True) == ("ultra", 2)  # 9218 = 2 * 4609: a row never spans two frames
    assert frame_layout(1, 200704, 16, False) == ("block", 1)
    assert frame_layout(1, 4096, 16, True) == ("block", 1)  # 64 Kbit: below half a URAM288
    assert frame_layout(1, 96, 16, True) == ("distributed", 1)
