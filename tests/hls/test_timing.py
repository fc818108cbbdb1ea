"""The one timing model (hls.timing): the estimator reports exactly the FIFO depths and the cycles that the HLS
project declares, on the test designs; the stream forks come from the lowering's pass; the first-output and
schedule formulas on hand-checked cases."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from hls import timing as T
from hls.estimate import estimate, folding_search
from hls.estimate.designs import cnv_w1a1, lfc_w1a1, reactnet_a
from hls.folding import Fold
from hls.project import make_plan, write_project
from hwsim import nodes as N
from hwsim.graph import HwGraph, TensorSpec
from hwsim.passes import InsertDuplicates
from hwsim.types import Bipolar, Fixed, Float
from tests.hls.cases import fuzz_graph, random_folding
from tests.hwsim.graphs import build, finn_graph, resblock_graph


def _written_depths(prj) -> dict[tuple[str, int], list[int]]:
    """``{(consumer node, width): sorted depths}`` of the streams into nodes, as top.cpp declares them."""
    doc = json.loads((prj / "project.json").read_text())
    top = (prj / "top.cpp").read_text()
    pragma = dict(re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", top))
    out: dict[tuple[str, int], list[int]] = {}
    for f in doc["fifos"]:
        assert int(pragma[f["var"]]) == f["depth"], f["var"]  # the manifest says what top.cpp declares
        # the stream in front of a width converter: the estimator lists it where it is deeper than 2
        if not f["consumer"].endswith("__dwc/dwc") or f["depth"] > T.DEFAULT_DEPTH:
            out.setdefault((f["consumer"], f["width"]), []).append(f["depth"])
    return {k: sorted(v) for k, v in out.items()}


def _estimated_depths(est) -> dict[tuple[str, int], list[int]]:
    out: dict[tuple[str, int], list[int]] = {}
    for f in est.fifos:
        if f.producer != "input" and f.consumer != "output":
            out.setdefault((f.consumer, f.width), []).append(f.depth)
    return {k: sorted(v) for k, v in out.items()}


def _check_same(tmp_path, g, folding) -> None:
    est = estimate(g, folding, 10.0)
    prj = write_project(g, tmp_path / g.name, "pynq-z1", 10.0, folding, tb_frames=0)
    written = _written_depths(prj)
    assert _estimated_depths(est) == written
    doc = json.loads((prj / "project.json").read_text())
    assert {e.name: e.cycles for e in est.nodes} == doc["node_cycles"]
    assert est.latency_cycles == doc["latency_cycles"] == T.timing(g, folding).latency
    # a design that forks a tensor or waits on a slow branch has deep FIFOs: the comparison is not vacuous
    return max(d for v in written.values() for d in v)


@pytest.mark.parametrize(("seed", "mode"), [(11, "ones"), (12, "mixed"), (13, "max"), (14, "mixed")])
def test_fuzz_designs_estimate_the_written_fifo_depths(tmp_path, seed, mode):
    rng = np.random.default_rng(seed)
    g = fuzz_graph(rng, c=4 if seed % 2 else 6, hw=6)
    folding = random_folding(g, rng, mode)
    assert _check_same(tmp_path, g, folding) > T.DEFAULT_DEPTH


@pytest.mark.parametrize("mode", ["ones", "mixed", "max"])
def test_handmade_designs_estimate_the_written_fifo_depths(tmp_path, rng, mode):
    g = resblock_graph(rng, c=8, hw=6)
    assert _check_same(tmp_path, g, random_folding(g, rng, mode)) > T.DEFAULT_DEPTH
    g = finn_graph(rng, c=8)
    _check_same(tmp_path, g, random_folding(g, rng, mode))


def _float_input(g: HwGraph) -> HwGraph:
    """``g`` behind an InputQuant from float32 (the HLS top function takes floats)."""
    x = g.inputs[0]
    dt = g.spec(x).dtype
    q = N.InputQuant(name="inq", inputs=("xf",), outputs=(x,), out=None if isinstance(dt, Bipolar) else dt)
    tensors = {"xf": TensorSpec(g.spec(x).shape, Float()), **g.tensors}
    g2 = HwGraph(g.name, ["xf"], list(g.outputs), tensors, [q, *g.nodes], dict(g.metadata))
    g2.validate()
    return g2


@pytest.mark.parametrize("target_fps", [500, 20_000])
def test_estimator_designs_estimate_the_written_fifo_depths(tmp_path, rng, target_fps):
    """LFC, CNV and a small DyBNN-ReActNet-A (hls/estimate/designs.py) at the folding the search picks."""
    for g in (
        lfc_w1a1(rng, in_features=64, pad_in_to=None),
        cnv_w1a1(rng),
        reactnet_a(None, dynamic=True, resolution=32, width_mult=0.25, classes=10),
    ):
        g = g if isinstance(g.spec(g.inputs[0]).dtype, Float) else _float_input(g)
        _check_same(tmp_path, g, folding_search(g, 10.0, target_fps=target_fps))


def test_forks_are_the_lowering_pass(rng):
    """A tensor with several readers gets the lowering's Duplicate fork, at its producer's PE."""
    g = fuzz_graph(rng, c=4, hw=6)
    folding = {"inq": Fold(2)}
    sg = T.stream_graph(g, folding)
    g2, changed = InsertDuplicates().apply(g)
    assert changed and [n.name for n in sg.graph.nodes] == [n.name for n in g2.nodes]
    assert sg.folding["dup_q"] == Fold(2)
    readers: dict[str, int] = {}
    for n in sg.graph.nodes:
        for t in n.inputs:
            readers[t] = readers.get(t, 0) + 1
    for t in sg.graph.outputs:
        readers[t] = readers.get(t, 0) + 1
    assert set(readers.values()) == {1}
    assert sorted(sg.outputs.values()) == sorted(g.outputs)
    assert T.stream_graph(sg.graph, sg.folding).graph is sg.graph  # idempotent
    assert make_plan(g, folding).graph.node("dup_q").outputs == sg.graph.node("dup_q").outputs


def test_window_first_output_is_the_template_fill(rng):
    """A 3x3, pad-1 convolution on 8x8x64 at SIMD = 64: the window generator's fill loop reads the two real
    rows among the first three padded rows (16 words) in 3 * 10 iterations, then the MVU reads one window."""
    from hls.cycles import node_loops

    w = rng.integers(0, 2, (16, 3, 3, 64))
    conv = N.XnorConv(name="c", inputs=("b",), outputs=("y",), weights=w, kernel=(3, 3), stride=(1, 1),
                      pad=(1, 1, 1, 1), pad_value=0, stage=N.OutputStage.identity(16))  # fmt: skip
    g = build("w", (8, 8, 64), [N.InputQuant(name="s", inputs=("x",), outputs=("b",), out=None), conv])
    need, extra = T.first_output(g, conv, Fold(1, 64))
    assert need == 16 and need + extra == 3 * 10 + 9  # SF = 3*3*64/64 = 9
    # the fill loop is the first KH*PW*CF iterations of the window generator's counted loop
    loops = node_loops(g, conv, Fold(1, 64))
    assert loops["swu"] == 3 * 10 + sum(max(8 * 9, min(1, 10 - 3 - oy) * 10) for oy in range(8))
    t = T.node_timing(g, conv, Fold(1, 64))
    assert t.tail == 8 * 16 * 9 + 1  # the last output row: OW windows, NF = 16 folds of SF = 9 words


def test_schedule_of_a_shortcut_around_a_frame_buffer(rng):
    """Add(DynamicSign branch, shortcut) with the shortcut forked in front of the unit (``forward=False``): the
    shortcut waits for the whole frame plus the hyper function; the dynamic unit's output is a burst (one word
    per cycle), not spread over the stem's period."""
    g = resblock_graph(rng, c=8, hw=6)
    tm = T.timing(g, {}, forward=False)
    words = 6 * 6 * 8
    sc = tm.channel("add1", "s_b")
    # the shortcut holds the whole frame, and the next frame's first words while the Add drains this one: the
    # most words it holds in the word schedule
    assert sc.words == words and words <= sc.depth == tm.words.max_level[("add1", "s_b")] <= words + 4
    assert tm.channel("add1", "y1").depth == T.DEFAULT_DEPTH
    d = tm.nodes["dsign"]
    assert d.need == words and d.extra == d.cycles - words  # one buffer: max(in, out) + hyper
    # the stem spreads its frame: words arrive every (last - first) / words cycles
    c = tm.channel("dsign", "s_a")
    assert c.rate == (c.last - c.first) / c.words > 1
    assert tm.first["dsign"] == tm.start["dsign"] + words * c.rate + d.extra + 1
    assert tm.period["dsign"] == max(c.period, d.cycles)
    out = [c for c in tm.channels if c.producer == "dsign"][0]
    assert out.rate == 1.0 and out.last - out.first == out.words - 1  # frame out: one word per cycle
    assert tm.latency >= max(c.last for c in tm.channels if c.consumer is None)
    assert tm.latency >= tm.max_cycles


def test_width_converter_channel(rng):
    """A stream from a PE = 4 producer into a PE = 2 consumer passes a width converter: ``total / gcd``
    iterations, its first word after ``ceil(2 / 4)`` = one input word."""
    g = finn_graph(rng, c=8)
    folding = {"conv0": Fold(4, 1), "mp0": Fold(2)}
    tm = T.timing(g, folding)
    c = tm.channel("mp0", "b0")
    assert c.converter and (c.src_elems, c.elems) == (4, 2)
    total = int(np.prod(g.spec("b0").shape))
    assert c.words == total // 2 and c.converter_iterations == total // 2
    rate = max(1.0, (tm.last["conv0"] - tm.first["conv0"]) / (total // 4))
    assert c.first == tm.first["conv0"] + rate + 1
    assert not tm.channel("conv0", "q").converter


def test_cli_estimate_reports_the_depths_dybnn_hls_writes(tmp_path, rng):
    """``dybnn estimate --json`` and ``dybnn hls`` on one run directory and folding file: same FIFO depths."""
    from click.testing import CliRunner

    from dybnn.cli import cli

    g = resblock_graph(rng, c=8, hw=6)
    g.save(tmp_path / "run" / "hw")
    fold = tmp_path / "fold.json"
    fold.write_text(
        json.dumps({"stem": {"pe": 4, "simd": 2}, "conv1": {"pe": 2, "simd": 8}, "add1": {"pe": 2}})
    )
    r = CliRunner().invoke(cli, ["estimate", str(tmp_path / "run"), "--folding", str(fold), "--json",
                                 "--out", str(tmp_path / "est.json")])  # fmt: skip
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "est.json").read_text())
    r = CliRunner().invoke(cli, ["hls", str(tmp_path / "run"), "--part", "pynq-z1", "--clock-ns", "10",
                                 "--folding", str(fold), "--out", str(tmp_path / "prj")])  # fmt: skip
    assert r.exit_code == 0, r.output
    est: dict[tuple[str, int], list[int]] = {}
    for f in doc["fifos"]:
        prod, cons = f["name"].removeprefix("fifo:").split("->")
        if prod != "input" and cons != "output":
            est.setdefault((cons, f["width"]), []).append(f["depth"])
    written = _written_depths(tmp_path / "prj")
    assert {k: sorted(v) for k, v in est.items()} == written
    assert max(d for v in written.values() for d in v) > T.DEFAULT_DEPTH


def test_dynamic_units_with_one_and_two_frame_buffers(rng):
    """One frame buffer: the next frame streams in behind the frame streaming out, then waits for the hyper
    function (``max(in, out) + hyper``); two (ping-pong): ``max(in, hyper, out)``. The loops, the first output
    (the whole frame, then the hyper function) and the tail are the same in both."""
    g = resblock_graph(rng, c=8, hw=6)
    for name in ("dsign", "dprelu"):
        node = g.node(name)
        for pe in (1, 2, 8):
            one, two = Fold(pe, 1, 1), Fold(pe, 1, 2)
            loops = T.node_loops(g, node, one)
            assert loops == T.node_loops(g, node, two)
            frame, hyper = loops["frame_in"], loops["hyper1"] + loops["hyper2"]
            assert frame == loops["frame_out"] == 6 * 6 * 8 // pe
            assert T.node_cycles(g, node, one) == frame + hyper
            assert T.node_cycles(g, node, two) == max(frame, hyper)
            t1, t2 = T.node_timing(g, node, one), T.node_timing(g, node, two)
            assert (
                (t1.need, t1.extra, t1.tail) == (t2.need, t2.extra, t2.tail) == (frame, hyper, hyper + frame)
            )
    # a hyper function longer than the frame bounds the ping-pong unit
    assert T.dynamic_cycles({"frame_in": 5, "hyper1": 4, "hyper2": 3, "frame_out": 5}, 2) == 7
    assert T.dynamic_cycles({"frame_in": 5, "hyper1": 4, "hyper2": 3, "frame_out": 5}, 1) == 12


def test_word_schedule_latency_of_a_chain(rng):
    """InputQuant -> Sign at PE = C: the input offers a word per cycle, each node takes a word per iteration, a word
    written in iteration s is read from s + HOP, and the output port takes it at s + 1: latency W - 1 + HOP + 1."""
    c = 8
    g = build("chain", (4, 4, c), [
        N.InputQuant(name="q", inputs=("x",), outputs=("b",), out=Fixed(8, 4, True)),
        N.Sign(name="s", inputs=("b",), outputs=("y",), thr=np.zeros(c, np.int64), invert=np.zeros(c, np.uint8)),
    ])  # fmt: skip
    g = _float_input(g) if not isinstance(g.spec(g.inputs[0]).dtype, Float) else g
    folding = {n.name: Fold(c) for n in g.nodes}
    tm = T.timing(g, folding)
    words = 4 * 4
    hops = len(g.nodes) - 1
    assert tm.latency == words - 1 + hops * T.HOP + 1


def test_fifo_level_counts_pushes_before_pops_of_their_cycle():
    """A word pushed in the cycle another leaves still needs its slot."""
    push = np.array([0.0, 1.0, 2.0, 10.0])
    pop = np.array([1.0, 2.0, 3.0, 11.0])
    assert T._max_level(push, pop) == 2
    assert T._max_level(push, push + 5) == 3 and T._max_level(push[:0], pop[:0]) == 0


def test_join_depth_covers_the_window_read_ahead(rng):
    """Add(3x3 pad-1 conv branch, shortcut) on an 8x8 map at one pixel per word: the convolution emits output pixel
    (y, x) after reading about two rows ahead of it, so the shortcut holds more than two rows (and less than the
    frame); the RTL simulation of such designs runs at the model (tests/rtl)."""
    c, hw = 4, 8
    w = rng.integers(0, 2, (c, 3, 3, c))
    nodes = [
        N.InputQuant(name="q", inputs=("x",), outputs=("f",), out=Fixed(8, 4, True)),
        N.Sign(name="s", inputs=("f",), outputs=("b",), thr=np.zeros(c, np.int64), invert=np.zeros(c, np.uint8)),
        N.XnorConv(name="conv", inputs=("b",), outputs=("y",), weights=w, kernel=(3, 3), stride=(1, 1),
                   pad=(1, 1, 1, 1), pad_value=-1, stage=N.OutputStage.identity(c)),
        N.Add(name="add", inputs=("y", "f"), outputs=("z",), out=None),
    ]  # fmt: skip
    g = build("res", (hw, hw, c), nodes)
    folding = {"q": Fold(c), "s": Fold(c), "conv": Fold(c, c), "add": Fold(c)}
    tm = T.timing(g, folding)
    depth = tm.channel("add", tm.graph.node("add").inputs[1]).depth
    assert 2 * hw < depth < hw * hw
    assert depth == tm.words.max_level[("add", tm.graph.node("add").inputs[1])]


def test_shortcut_reads_the_dynamic_units_frame_buffer(rng):
    """One frame buffer, not two: the fork in front of a DynamicSign whose other copy is the residual shortcut
    gives way to the unit, which writes the shortcut from its frame buffer with its own output; the shortcut FIFO
    then covers the convolution's delay only (the backlog of the Add's wait), not the frame; the other forks
    (two readers, none dynamic) stay. The estimator costs the smaller FIFO."""
    g = resblock_graph(rng, c=8, hw=6)
    folding = {"conv1": Fold(8, 8), "dsign": Fold(2), "add1": Fold(2)}
    fork, fwd = T.timing(g, folding, forward=False), T.timing(g, folding)
    assert "dup0" in {n.name for n in fork.graph.nodes} and "dup0" not in {n.name for n in fwd.graph.nodes}
    ds = fwd.graph.node("dsign")
    assert ds.inputs == ("s",) and ds.outputs == ("b0", "s_b")
    assert [n.name for n in fwd.graph.nodes if isinstance(n, N.Duplicate)] == ["dup1", "dup2"]
    sc0, sc1 = fork.channel("add1", "s_b"), fwd.channel("add1", "s_b")
    assert sc1.producer == "dsign" and sc0.producer == "dup0"
    assert sc0.depth >= sc0.words  # the whole frame
    # the unit's two outputs leave together; the Add starts with the convolution's first word
    assert (
        sc1.first == fwd.first["dsign"] and fwd.start["add1"] == fwd.channel("add1", "y1").first > sc1.first
    )
    # the depth: the most words the shortcut holds in the word schedule, a fraction of the frame
    assert sc1.depth == fwd.words.max_level[("add1", "s_b")] < sc0.words
    # the uniform-rate fallback (big designs) adds the conv's first window, in shortcut words
    assert T.forward_head_words(fwd.streams, sc1) == 2 * 6 * 8 // 2
    # only shortcuts are forwarded: in the fuzz graph the dynamic units share their fork with unrelated nodes
    fz = fuzz_graph(np.random.default_rng(4), 4, 6)
    dyn = [n for n in fz.nodes if isinstance(n, N.DynamicSign | N.DynamicPReLU)]
    sgz = T.stream_graph(fz, {})
    assert dyn and all(len(sgz.graph.node(n.name).outputs) == 1 for n in dyn)
    assert fwd.max_cycles == fork.max_cycles
    e0, e1 = estimate(g, folding, 10.0, forward=False), estimate(g, folding, 10.0)
    fifo = [sum(f.resources.lut + 100 * f.resources.bram18 for f in e.fifos) for e in (e0, e1)]
    assert fifo[1] < fifo[0]
