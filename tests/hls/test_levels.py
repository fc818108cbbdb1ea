"""Level storage in a DynamicSign's frame buffer (``buffer_storage: levels``, hls/levels.py): the levels give the
same bits as ``x >= tau + delta`` on every value, the folding accepts them only where the site has a frame buffer
(at a site whose frame feeds a residual shortcut, levels fork the shortcut in front of the unit), the estimate
narrows the frame buffer, the search picks them where the design's memory is smaller, the C++ units equal hwsim,
and the RTL back end refuses them in one line."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from hls import levels as L
from hls.estimate.designs import dybnn_cnv, random_hyper
from hls.folding import Fold, FoldingError, level_sites, parse, to_json, validate
from hwsim import nodes as N
from hwsim.encoding import align
from hwsim.reference import hyper_function
from hwsim.simulate import simulate
from hwsim.types import Fixed
from tests.hwsim.graphs import build, resblock_graph, stem_context_graph

#: input quantizer of the level graphs: every value of the 2^-5 grid on [-4, 4)
LV_IN = Fixed(8, 5, True)


def _hyper(rng, c: int, act_bits: int | None, lam: int, squash: str = "hardtanh") -> N.HyperFunction:
    hf = random_hyper(rng, c, c, reduction=c + 1, min_hidden=2, squash=squash, delta_bits=act_bits)
    return dataclasses.replace(hf, lam_log2=lam)


#: (name, tau_frac, act bits, lam_log2, squash): delta on the x grid (s = 0), coarser than it (s = 2, floors of
#: negative differences), x shifted onto a finer grid, the clipped z without act (16-bit levels), a delta grid
#: coarser than 1 (negative delta_frac), a tanh squash
LEVEL_SITES = [
    ("dA", 5, 3, -3, "hardtanh"),
    ("dB", 5, 4, 0, "hardtanh"),
    ("dC", 7, 8, -1, "hardtanh"),
    ("dD", 6, None, -1, "hardtanh"),
    ("dE", 5, 4, -2, "tanh"),
]


def level_graph(rng, c: int = 4, hw: int = 16):
    """DynamicSigns (:data:`LEVEL_SITES`, odd ``tau``) side by side on one quantized input: its fork feeds only
    dynamic units, so none forwards its frame and every one may store levels."""
    nodes: list[N.Node] = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=LV_IN)]
    for nm, tf, bits, lam, sq in LEVEL_SITES:
        nodes.append(N.DynamicSign(name=nm, inputs=("q",), outputs=(nm + "_y",), tau=2 * rng.integers(-40, 40, c) + 1,
                                   tau_frac=tf, hyper=_hyper(rng, c, bits, lam, sq)))  # fmt: skip
    g = build("levels", (hw, hw, c), nodes)
    g.outputs = [n.outputs[0] for n in nodes[1:]]
    g.validate()
    return g


def sweep_frames(rng, c: int = 4, hw: int = 16, n: int = 4) -> np.ndarray:
    """Frames in which every channel takes every value of :data:`LV_IN` once (shuffled), offset per frame so the
    statistics and the deltas differ."""
    v = np.arange(LV_IN.lo, LV_IN.hi + 1)
    assert v.size == hw * hw
    x = np.stack(
        [np.stack([rng.permutation(v) for _ in range(c)], axis=-1).reshape(hw, hw, c) for _ in range(n)]
    )
    return np.ldexp(x.astype(np.float64), -LV_IN.frac) + np.array([0.0, 0.8, -0.9, 0.3])[:n, None, None, None]


@pytest.mark.parametrize("site", LEVEL_SITES, ids=[s[0] for s in LEVEL_SITES])
def test_levels_give_the_compare_on_every_value_and_every_delta(rng, site):
    """Every ``x`` of an 8-bit and a 10-bit input type against every possible ``delta`` (ties, both ends,
    negative values, odd ``tau``): ``level > d - lo`` equals ``x >= tau + d`` on the common grid."""
    _, tf, bits, lam, sq = site
    c = 3
    node = N.DynamicSign(name="d", inputs=("x",), outputs=("y",), tau=np.array([-7, 1, 13]), tau_frac=tf,
                         hyper=_hyper(rng, c, bits, lam, sq))  # fmt: skip
    lo, hi = L.delta_range(node.hyper)
    assert L.level_bits(node) == int(np.ceil(np.log2(hi - lo + 2)))
    if bits is not None:
        assert L.level_bits(node) == bits + 1
    df = node.hyper.delta_frac
    ties = 0
    for xt in (LV_IN, Fixed(10, 3, True)):
        x = np.broadcast_to(np.arange(xt.lo, xt.hi + 1)[None, :, None, None], (1, xt.hi - xt.lo + 1, 1, c))
        lv = L.levels(node, x, xt.frac)
        assert lv.min() >= 0 and lv.max() <= hi - lo + 1
        f = max(xt.frac, tf, df)
        ds = np.arange(lo, hi + 1) if hi - lo < 300 else np.r_[lo : lo + 100, -600:600, hi - 100 : hi + 1]
        for d in ds:
            thr = align(node.tau, tf, f) + align(np.int64(d), df, f)
            ref = (align(x, xt.frac, f) >= thr).astype(np.uint8)
            ties += int((align(x, xt.frac, f) == thr).sum())
            np.testing.assert_array_equal(L.bits_from_levels(node, lv, np.full((1, c), d)), ref)
    assert ties > 0, "no x exactly on a threshold"
    # the 8-bit sweep lies beyond both ends of the thresholds
    lv = L.levels(node, np.arange(LV_IN.lo, LV_IN.hi + 1)[:, None] * np.ones((1, c), np.int64), LV_IN.frac)
    assert lv.min() == 0 and lv.max() == hi - lo + 1


def test_levels_reproduce_the_reference_on_a_graph(rng):
    """On frames of :func:`level_graph`: levels stored on the way in, compared with each frame's hyper-function
    ``delta`` on the way out, equal hwsim's DynamicSign output; the frames put values exactly on thresholds."""
    g = level_graph(rng)
    x = sweep_frames(rng)
    out = simulate(g, x, level="ref", return_intermediates=True)
    q = out["q"]
    for n in g.nodes[1:]:
        delta = hyper_function(n.hyper, q, LV_IN.frac)
        lv = L.levels(n, q, LV_IN.frac)
        np.testing.assert_array_equal(L.bits_from_levels(n, lv, delta), out[n.outputs[0]])
        f, sx, _ = L.grid(n, LV_IN.frac)
        thr = align(n.tau, n.tau_frac, f)[None, :] + align(delta, n.hyper.delta_frac, f)
        if n.name in ("dA", "dB", "dE"):  # thresholds on the x grid: ties occur
            assert (align(q, LV_IN.frac, f) == thr[:, None, None, :]).any(), n.name
        assert (lv == 0).any() and (lv == L.level_count(n)).any(), n.name  # beyond both ends


def test_folding_field_parses_validates_and_round_trips(rng):
    g = level_graph(rng, hw=4)
    doc = {
        "dA": {"pe": 2, "buffers": 2, "buffer_storage": "levels"},
        "dB": {"pe": 1, "buffer_storage": "values"},
    }
    fold = parse(g, doc, "f.json")
    assert fold["dA"] == Fold(2, 1, 2, "levels") and fold["dB"] == Fold(1, 1, 1, "values")
    assert to_json(fold) == {"dA": {"pe": 2, "simd": 1, "buffers": 2, "buffer_storage": "levels"},
                             "dB": {"pe": 1, "simd": 1}}  # fmt: skip
    assert level_sites(g) == {"dA", "dB", "dC", "dD", "dE"}
    with pytest.raises(
        FoldingError, match=r"f.json: node 'dA': buffer_storage must be 'values' or 'levels', got 'bits'"
    ):
        parse(g, {"dA": {"pe": 1, "buffer_storage": "bits"}}, "f.json")
    with pytest.raises(
        FoldingError, match=r"node 'inq' \(InputQuant\): buffer_storage 'levels' applies to a DynamicSign"
    ):
        validate(g, {"inq": Fold(storage="levels")})


@pytest.mark.parametrize("where", ["context", "prelu"])
def test_levels_refused_where_there_is_no_frame_buffer_of_a_dynamic_sign(rng, where):
    if where == "context":
        g, name, msg = stem_context_graph(rng), "dsign", "reads a hyper context"
    else:
        g, name, msg = resblock_graph(rng), "dprelu", "applies to a DynamicSign's frame buffer only"
    assert name not in level_sites(g)
    with pytest.raises(FoldingError) as e:
        parse(g, {name: {"pe": 1, "buffer_storage": "levels"}}, "fold.json")
    assert msg in str(e.value) and f"fold.json: node {name!r}" in str(e.value)
    assert "\n" not in str(e.value)


def test_levels_at_a_forwarding_site_fork_the_shortcut(rng):
    """resblock: the DynamicSign's frame also feeds the residual Add. With values the unit writes the shortcut
    from its frame buffer (hls.timing.forward_frames); with levels the fork stays in front of the unit and the
    shortcut FIFO holds the frame, at the word schedule's depth (no stall, no deadlock)."""
    from hls.folding import forwarding_sites
    from hls.project import make_plan
    from hls.timing import timing

    g = resblock_graph(rng, c=8, hw=6)
    assert "dsign" in forwarding_sites(g) and "dsign" in level_sites(g)
    lv = parse(g, {"conv1": {"pe": 8, "simd": 8}, "dsign": {"pe": 2, "buffer_storage": "levels"}}, "f.json")
    vals = {**lv, "dsign": Fold(2)}
    fwd, fork = timing(g, vals), timing(g, lv)
    assert fwd.graph.node("dsign").outputs == ("b0", "s_b") and "dup0" not in {
        n.name for n in fwd.graph.nodes
    }
    assert fork.graph.node("dsign").inputs == ("s_a",) and fork.graph.node("dsign").outputs == ("b0",)
    sc, sc1 = fork.channel("add1", "s_b"), fwd.channel("add1", "s_b")
    assert sc.producer == "dup0" and sc1.producer == "dsign"
    assert sc.words <= sc.depth == fork.words.max_level[("add1", "s_b")] and sc1.depth < sc.words
    assert sc.depth == timing(g, vals, forward=False).channel("add1", "s_b").depth
    plan = make_plan(g, lv)
    assert {c["label"]: c["depth"] for c in plan.channels}["s_b"] == sc.depth


def test_search_forks_the_shortcut_where_levels_save_memory():
    """DyBNN-ReActNet-A on a U250 (8-bit delta): the search stores levels and forks the shortcut at the nine
    sign0 sites where that is smaller for the whole design (benchmarks/level_storage_sizes.py), keeps values and
    forwarding at the others, at the same frames/s: 790 -> 762 URAM."""
    from hls.devices import resolve_part
    from hls.estimate import GraphModel, folding_search
    from hls.estimate.designs import reactnet_a
    from hls.estimate.pipeline import config_for

    g = reactnet_a(None, delta_bits=8)
    dev = resolve_part("u250")
    m = GraphModel(g, config_for(dev))
    fold = folding_search(g, 5.0, fit=dev, model=m)
    vals = folding_search(g, 5.0, fit=dev, model=m, levels=False)
    picked = sorted(k for k, f in fold.items() if f.storage == "levels")
    assert picked == sorted(f"b{i}_sign0" for i in (1, 3, 5, 6, 7, 8, 9, 10, 11))
    assert set(picked) <= m.forwarding_sites
    a, b = m.estimate(vals, 5.0, dev), m.estimate(fold, 5.0, dev)
    assert (a.system_totals.uram, b.system_totals.uram) == (790, 762)
    assert b.system_totals.bram18 <= a.system_totals.bram18 and b.max_cycles == a.max_cycles
    assert {k: dataclasses.replace(f, storage="values") for k, f in fold.items()} == vals  # same PE, buffers


def test_estimate_narrows_the_frame_buffer_and_the_search_picks_levels():
    """dybnn-cnv (no shortcuts): a DynamicSign frame buffer of 9-bit levels instead of 16-bit values takes about
    half the BRAM18; the folding search on the xc7z020 stores levels at the sites where they are smaller, and a
    design with the residual shortcuts (resblock) keeps values at its forwarding site."""
    from hls.devices import resolve_part
    from hls.estimate import GraphModel, folding_search
    from hls.estimate.pipeline import config_for

    g = dybnn_cnv(None)
    dev = resolve_part("xc7z020clg400-1")
    m = GraphModel(g, config_for(dev))
    n = m.g.node("sign0")
    assert L.level_bits(n) == 9
    vals = m.node(n, Fold(4, 1, 1)).parts["frame_buffer"]
    levs = m.node(n, Fold(4, 1, 1, "levels")).parts["frame_buffer"]
    assert (vals.bram18, levs.bram18) == (58, 29)  # 30*30*64/4 words of 4*16 vs 4*9 bits
    assert m.node(n, Fold(4, 1, 1, "levels")).cycles == m.node(n, Fold(4, 1, 1)).cycles
    fold = folding_search(g, 10.0, fit=dev, model=m)
    picked = {k for k, f in fold.items() if f.storage == "levels"}
    assert {"sign0", "sign1", "sign2"} <= picked <= level_sites(m.g)
    assert all(
        f.storage == "values" for f in folding_search(g, 10.0, fit=dev, model=m, levels=False).values()
    )
    rb = resblock_graph(np.random.default_rng(1))
    assert all(f.storage == "values" for f in folding_search(rb, 10.0, target_fps=1e9).values())


@pytest.mark.parametrize("graph", ["levels", "resblock"])
def test_rtl_refuses_levels_in_one_line(rng, graph):
    """Also at a site that would forward its frame to the residual shortcut with values (resblock's dsign)."""
    from rtl.modules import RtlError
    from rtl.project import make_rtl_plan

    g, name = (level_graph(rng, hw=4), "dB") if graph == "levels" else (resblock_graph(rng), "dsign")
    with pytest.raises(RtlError) as e:
        make_rtl_plan(g, {name: Fold(storage="levels")}, "pynq-z1")
    assert f"node {name!r}: the RTL back end does not implement buffer_storage 'levels'" in str(e.value)
    assert "\n" not in str(e.value)


@pytest.mark.hls
@pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make")
def test_csim_with_levels_is_bit_exact(tmp_path, rng):
    """The C++ DynamicSign storing levels equals hwsim on every value (ties, both ends, negative values, odd tau,
    every delta grid of :data:`LEVEL_SITES`) under PE = 1, 2 and C, one and two frame buffers, and its loops run
    the cycle model's counts; the frame stream is the level width."""
    from hls.csim import run_csim
    from hls.project import write_project
    from tests.hls.test_csim import _check

    g = level_graph(rng)
    x = sweep_frames(rng)
    folding = {"inq": Fold(1)}
    for i, (nm, *_) in enumerate(LEVEL_SITES):
        folding[nm] = Fold([1, 2, 4, 2, 1][i], 1, 1 + i % 2, "levels")
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, folding, tb_frames=0, probes=None)
    src = (prj / "src" / "dA.hpp").read_text()
    assert "typedef ap_uint<PE * LB> frame_word_t;" in src and "constexpr unsigned LB = 4;" in src
    _check(run_csim(prj, g, x), "level storage")


@pytest.mark.hls
@pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make")
def test_csim_levels_with_a_forked_shortcut_is_bit_exact(tmp_path, rng):
    """resblock with levels at the DynamicSign whose frame feeds the residual Add (the shortcut forked in front
    of it, its FIFO at the timing model's depth), ping-pong buffers, PE 2: every tensor of the C-simulation
    equals hwsim, every loop runs the cycle model's count."""
    from hls.csim import run_csim
    from hls.project import MANIFEST, with_probes, write_project
    from tests.hls.test_csim import _check

    g = resblock_graph(rng, c=8, hw=6)
    fold = {"conv1": Fold(8, 8), "dsign": Fold(2, 1, 2, "levels"), "add1": Fold(2)}
    x = rng.standard_normal((3, *g.spec("x").shape)) * 1.5
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, fold, tb_frames=0, probes="all")
    doc = json.loads((prj / MANIFEST).read_text())  # what the C-simulation's cycle model reads back
    assert doc["folding"]["dsign"] == {"pe": 2, "simd": 1, "buffers": 2, "buffer_storage": "levels"}
    top = (prj / "top.cpp").read_text()
    assert "dup0::run(" in top and "constexpr unsigned LB = " in (prj / "src" / "dsign.hpp").read_text()
    _check(run_csim(prj, with_probes(g, "all"), x), "resblock, levels, forked shortcut")


@pytest.mark.slow
@pytest.mark.hls
@pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make")
def test_dybnn_cnv_at_the_search_folding_csim_bit_exact(tmp_path):
    """dybnn-cnv at the xc7z020 search's folding (levels at five of its six DynamicSign sites): every tensor of
    the C-simulation equals hwsim, loops equal the cycle model (about 25 s)."""
    from hls.csim import run_csim
    from hls.estimate import folding_search
    from hls.project import with_probes, write_project
    from tests.hls.test_csim import _check

    g = dybnn_cnv(np.random.default_rng(0))
    fold = folding_search(g, 10.0, fit="xc7z020clg400-1")
    assert sorted(k for k, f in fold.items() if f.storage == "levels") == [f"sign{i}" for i in range(5)]
    x = np.random.default_rng(1).standard_normal((2, 32, 32, 3)) * 0.5
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, fold, tb_frames=0, probes="all")
    _check(run_csim(prj, with_probes(g, "all"), x), "dybnn-cnv, levels")


@pytest.mark.slow
@pytest.mark.hls
@pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make")
def test_dybnn_tiny_levels_at_the_strided_block_site_csim_bit_exact(tmp_path):
    """dybnn-tiny (a trained 16x16 export) at its xc7z020 search's folding without levels, then levels at the
    strided block's site BipolarQuant_9 (where the search picks them on the 28x28 export: the shortcut through
    the pool forked in front of the unit): every tensor of the C-simulation equals hwsim, loops equal the cycle
    model (about a minute)."""
    from hls.csim import run_csim
    from hls.estimate import folding_search
    from hls.folding import forwarding_sites
    from hls.project import with_probes, write_project
    from hls.timing import timing
    from hwsim.lower import lower
    from tests.hls.test_csim import _check
    from tests.hwsim.test_lower import exported

    _, path = exported("dybnn-tiny", (1, 16, 16), None, True)
    g = lower(path)
    fold = folding_search(g, 10.0, fit="xc7z020clg400-1", levels=False)
    sg = timing(g, fold).graph  # the strided block's site: it forwards its frame to the pool of the shortcut
    (site,) = [n.name for n in sg.nodes if n.name in forwarding_sites(g)
               and isinstance(sg.consumers(n.outputs[1])[0], N.AvgPool)]  # fmt: skip
    fold[site] = dataclasses.replace(fold[site], storage="levels")
    assert len(timing(g, fold).graph.node(site).outputs) == 1  # the shortcut is forked in front of it
    x = np.random.default_rng(1).random((2, *g.spec(g.inputs[0]).shape))
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, fold, tb_frames=0, probes="all")
    _check(run_csim(prj, with_probes(g, "all"), x), f"dybnn-tiny, levels at {site}")
