"""Code generation without a compiler: registries, identifiers, golden files, project writing and its errors."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from hls import cycles as C
from hls import timing as T
from hls.emit import EMITTERS, EmitError, c_ident, template_env
from hls.folding import Fold, FoldingError
from hls.project import MANIFEST, ProjectError, make_plan, render, write_project
from hwsim import nodes as N
from tests.hls.cases import fuzz_graph, random_folding, squash_graph
from tests.hwsim.graphs import finn_graph, resblock_graph

GOLDEN = Path(__file__).parent / "golden" / "resblock"
TEMPLATES = Path(__file__).parents[2] / "hls" / "templates"


def _snake(op: str) -> str:
    return {"PReLU": "prelu", "DynamicPReLU": "dynamic_prelu"}.get(
        op, "".join("_" + ch.lower() if ch.isupper() else ch for ch in op).lstrip("_")
    )


def test_every_node_type_has_an_emitter_a_template_and_a_cycle_model():
    for op, cls in N.NODE_TYPES.items():
        if cls.host:  # runs in software after the accelerator (hwsim.partition)
            assert cls not in EMITTERS, op
            continue
        assert cls in EMITTERS, op
        assert cls in C.LOOPS and cls in C.CYCLES, op
        assert (TEMPLATES / f"{_snake(op)}.hpp.j2").is_file(), op


def test_templates_are_strict():
    env = template_env()
    assert env.undefined.__name__ == "StrictUndefined"
    assert env.trim_blocks and env.lstrip_blocks and env.keep_trailing_newline


@pytest.mark.parametrize(
    ("name", "want"),
    [("conv1", "conv1"), ("1conv", "n_1conv"), ("blocks.0/conv", "blocks_0_conv"), ("int", "n_int"),
     ("hls", "n_hls"), ("__x", "n___x"), ("_Foo", "n__Foo"), ("", "n")],
)  # fmt: skip
def test_c_ident(name, want):
    assert c_ident(name) == want


def test_c_ident_unique():
    taken: set[str] = set()
    assert [c_ident(s, taken) for s in ("a.b", "a_b", "a-b")] == ["a_b", "a_b_2", "a_b_3"]


def _golden_graph():
    g = resblock_graph(np.random.default_rng(7), c=4, hw=4, pad_value=0)
    folding = {"stem": Fold(2, 2), "conv1": Fold(2, 4), "dsign": Fold(2), "add1": Fold(4), "fc": Fold(5, 2)}
    return g, folding


def _normalize(rel: str, text: str) -> str:
    if rel == "Makefile":  # the ap_types path depends on the machine
        return "\n".join("AP_TYPES ?= <hls4ml>/templates/vivado/ap_types" if ln.startswith("AP_TYPES ?=") else ln
                         for ln in text.splitlines()) + "\n"  # fmt: skip
    return text


def test_generated_code_matches_golden_files(tmp_path):
    g, folding = _golden_graph()
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 5.0, folding, tb_frames=1)
    got = {
        str(p.relative_to(prj)): _normalize(str(p.relative_to(prj)), p.read_text())
        for p in sorted(prj.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".dybnn-")  # the manifest: digests of the files compared here
    }
    if os.environ.get("UPDATE_GOLDEN"):
        if GOLDEN.exists():
            for p in GOLDEN.rglob("*"):
                if p.is_file():
                    p.unlink()
        for rel, text in got.items():
            (GOLDEN / rel).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / rel).write_text(text)
    want = {str(p.relative_to(GOLDEN)): p.read_text() for p in sorted(GOLDEN.rglob("*")) if p.is_file()}
    assert sorted(got) == sorted(want), "file list changed; rerun with UPDATE_GOLDEN=1 if intended"
    for rel in want:
        assert got[rel] == want[rel], (
            f"{rel} differs from tests/hls/golden; rerun with UPDATE_GOLDEN=1 if intended"
        )


def test_project_layout_and_manifest(tmp_path):
    g, folding = _golden_graph()
    prj = write_project(g, tmp_path / "p", "zcu104", 4.0, folding)
    for rel in ("README.md", "Makefile", "run_hls.tcl", "top.cpp", "src/dybnn_common.hpp", "src/dybnn_top.hpp",
                "src/conv1.hpp", "params/conv1.h", "tb/tb.cpp", "tb/input.txt", "tb/expected.txt"):  # fmt: skip
        assert (prj / rel).is_file(), rel
    doc = json.loads((prj / MANIFEST).read_text())
    assert doc["part"] == "xczu7ev-ffvc1156-2-e"
    assert doc["clock_ns"] == 4.0
    assert doc["top"] == "resblock_top"
    assert doc["folding"]["conv1"] == {"pe": 2, "simd": 4}
    tcl = (prj / "run_hls.tcl").read_text()
    for cmd in ("open_project", "set_top resblock_top", "add_files", "open_solution", "set_part xczu7ev-ffvc1156-2-e",
                "create_clock -period 4", "csim_design", "csynth_design", "cosim_design",
                "export_design -format ip_catalog"):  # fmt: skip
        assert cmd in tcl, cmd
    mk = (prj / "Makefile").read_text()
    assert "AP_TYPES ?= " in mk and "-std=c++14" in mk and "-O2" in mk
    top = (prj / "top.cpp").read_text()
    assert "#pragma HLS DATAFLOW" in top and "#pragma HLS STREAM variable=" in top


def test_no_float_in_generated_datapath(tmp_path):
    g = resblock_graph(np.random.default_rng(0))
    files = render(make_plan(g), "xc7z020clg400-1", 10.0)
    for rel, text in files.items():
        if rel.startswith(("src/", "params/")) or rel == "top.cpp":
            code = re.sub(r"//.*", "", text)  # comments may talk about the float32 input
            assert not re.search(r"\b(float|double)\b", code), rel


def test_residual_shortcut_reads_the_dynamic_frame_buffer():
    """The shortcut into add1 comes out of DynamicSign's frame buffer with its output (hls.timing.forward_frames):
    its FIFO holds what arrives while the conv starts (the word schedule's level), not the frame it held when it
    was forked in front of the unit; the conv's input holds its fill loop's words."""
    g = resblock_graph(np.random.default_rng(0), c=8, hw=6)
    folding = {"conv1": Fold(8, 8)}
    plan, fork = make_plan(g, folding), T.timing(g, folding, forward=False)
    depth = {c["label"]: c["depth"] for c in plan.channels}
    frame_words = 6 * 6 * 8  # PE = 1
    sc = plan.schedule.channel("add1", "s_b")
    assert sc.producer == "dsign" and depth["s_b"] == plan.schedule.words.max_level[("add1", "s_b")]
    assert depth["s_b"] < frame_words <= fork.channel("add1", "s_b").depth
    assert "dsign::run(s_s, s_b0, s_s_b);" in render(plan, "xc7z020clg400-1", 10.0)["top.cpp"]
    # the conv reading b0 gets the real words of its window generator's fill loop (hls.timing.burst_depth):
    # padded rows 0..2 hold the map's rows 0 and 1, 6 pixels (one word of 8 channels) each
    assert plan.schedule.channel("conv1", "b0").depth == 2 * 6 + 2
    # add2's shortcut (the avg-pooled branch) waits for the strided binary conv only
    assert 2 < depth["sc"] <= 3 * 3 * 8 + 2


def _search(table: np.ndarray, z: np.ndarray, steps: int) -> np.ndarray:
    """The template's unrolled binary search, step for step: the count of ``table <= z``."""
    n = np.zeros(z.shape, np.int64)
    for b in reversed(range(steps)):
        probe = n | (1 << b)
        n = np.where(table[probe - 1] <= z, probe, n)
    return n


def test_tanh_squash_emits_its_thresholds_and_a_binary_search(rng):
    """A tanh hyper function's 255 thresholds become the parameter table ``sq_thr`` (clamped into the range of
    ``z``) and the clip + requantization an unrolled 8-step search that counts exactly ``thr <= z``."""
    x = rng.standard_normal((2, 4, 4, 4)) * 2
    g, folding = squash_graph(rng, x)
    assert (np.abs(g.node("dsign0").hyper.squash_thr) == 1 << 40).sum() == 10  # clamped into z's range below
    plan = make_plan(g, folding)
    files = render(plan, "xc7z020clg400-1", 10.0)
    for n in g.nodes[1:]:
        code = plan.codes[n.name]
        hf, ctx = n.hyper, code.context["hyper"]
        (sq,) = [a for a in code.params if a.name == "sq_thr"]
        z = ctx["z"]  # the exact range of the layer-2 output
        np.testing.assert_array_equal(sq.data, np.clip(hf.squash_thr, z.lo, z.hi + 1))
        assert ctx["sq_steps"] == 8 and sq.data.shape == (255,) and sq.num.bits <= ctx["z_num"].bits + 1
        # the search over the emitted table is hwsim's searchsorted on z's exact range (sampled, and at the thresholds)
        zs = np.unique(np.concatenate([rng.integers(z.lo, z.hi + 1, 4000), hf.squash_thr, hf.squash_thr - 1]))
        zs = zs[(zs >= z.lo) & (zs <= z.hi)]
        np.testing.assert_array_equal(
            _search(sq.data, zs, 8), np.searchsorted(hf.squash_thr, zs, side="right")
        )
        header, src = files[f"params/{n.name}.h"], files[f"src/{n.name}.hpp"]
        assert "sq_thr[255] = {" in header and f"{int(sq.data[100])}," in header
        assert (
            "SQ_STEPS = 8;" in src and "hardtanh" not in src and "delta[p][of] = dybnn::requantize" not in src
        )
        assert f"delta_t({hf.act.lo} + int(n))" in src
    # the hardtanh variant has no table
    plain = make_plan(resblock_graph(np.random.default_rng(0)), {})
    assert not any(a.name == "sq_thr" for c in plain.codes.values() for a in c.params)


def test_loops_of_every_emitter_match_the_cycle_model():
    rng = np.random.default_rng(3)
    for g in (fuzz_graph(rng, 4, 6), finn_graph(rng), resblock_graph(rng)):
        fold = random_folding(g, rng)
        plan = make_plan(g, fold)  # raises if an emitter's loops differ from hls.cycles.node_loops
        assert len(plan.loops) >= len(g.nodes)


def test_folding_error_names_node_and_divisors(tmp_path):
    g, _ = _golden_graph()
    with pytest.raises(
        FoldingError, match=r"node 'conv1': pe=3 does not divide 4 output channels; valid: \[1, 2, 4\]"
    ):
        write_project(g, tmp_path / "p", "pynq-z1", 10.0, {"conv1": Fold(3, 1)})
    with pytest.raises(FoldingError, match="node 'nope'"):
        write_project(g, tmp_path / "p", "pynq-z1", 10.0, {"nope": Fold()})
    assert not (tmp_path / "p").exists()


def test_too_wide_stream_names_the_node(tmp_path):
    from hwsim.graph import HwGraph
    from tests.hwsim.graphs import build

    g = build("wide", (2, 2, 1024), [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=None)])
    assert isinstance(g, HwGraph)
    with pytest.raises(FoldingError, match="node 'inq'.*8191"):
        write_project(g, tmp_path / "p", "pynq-z1", 10.0, {"inq": Fold(512)})


def test_unknown_part_lists_known_parts(tmp_path):
    pytest.importorskip("hls.devices")
    g, folding = _golden_graph()
    with pytest.raises(ValueError, match="pynq-z1"):
        write_project(g, tmp_path / "p", "xc9zzz", 10.0, folding)


def test_refuses_to_overwrite_a_non_project_directory(tmp_path):
    g, folding = _golden_graph()
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("keep me")
    with pytest.raises(ProjectError, match="not a dybnn HLS project"):
        write_project(g, d, "pynq-z1", 10.0, folding)
    assert (d / "notes.txt").read_text() == "keep me"


def test_rewrites_a_project_atomically(tmp_path):
    g, folding = _golden_graph()
    d = write_project(g, tmp_path / "p", "pynq-z1", 10.0, folding, tb_frames=0)
    (d / "build").mkdir()
    write_project(g, d, "pynq-z1", 8.0, folding, tb_frames=0)
    assert json.loads((d / MANIFEST).read_text())["clock_ns"] == 8.0
    assert (d / "build").is_dir()  # not the project's own file: a rewrite keeps it (make rebuilds by mtime)
    # a failing rewrite leaves the old project in place and no temporary directories behind
    with pytest.raises(FoldingError):
        write_project(g, d, "pynq-z1", 6.0, {"conv1": Fold(3, 1)})
    assert json.loads((d / MANIFEST).read_text())["clock_ns"] == 8.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p"]


def test_bad_clock_and_unknown_node_type(tmp_path):
    from hls.emit import NodeEnv, emit_node

    g, folding = _golden_graph()
    with pytest.raises(ProjectError, match="positive"):
        write_project(g, tmp_path / "p", "pynq-z1", 0.0, folding)

    class Unknown(N.Node):
        pass

    node = Unknown(name="u", inputs=("q",), outputs=("s",))
    with pytest.raises(EmitError, match="no HLS emitter"):
        emit_node(NodeEnv(g, node, Fold(), "u"))


# ------------------------------------------------------------------------------------------ property tests
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@st.composite
def window_nodes(draw):
    """A random windowed node (binary/fixed conv, pools, window generator) on a random map, with a random folding."""
    from hls.folding import divisors

    h, w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    c = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 12]))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pad = tuple(draw(st.integers(0, k - 1)) for k in (kh, kw, kh, kw))
    if h + pad[0] + pad[2] < kh or w + pad[1] + pad[3] < kw:
        pad = (kh, kw, kh, kw)
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    kind = draw(st.sampled_from(["xnor", "fixed", "max", "avg", "swu"]))
    return h, w, c, (kh, kw), stride, pad, kind, divisors, draw(st.randoms(use_true_random=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(window_nodes())
def test_window_nodes_generate_for_any_geometry_and_folding(case):
    from hwsim.types import Fixed
    from tests.hwsim.graphs import build

    h, w, c, k, stride, pad, kind, divisors, rnd = case
    rng = np.random.default_rng(rnd.randrange(2**32))
    nodes = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 4, True))]
    src = "q"
    if kind in ("xnor", "swu") or (kind == "max" and rnd.random() < 0.5):
        nodes.append(N.Sign(name="sg", inputs=("q",), outputs=("b",), thr=rng.integers(-9, 9, c),
                            invert=np.zeros(c, np.uint8)))  # fmt: skip
        src = "b"
    co = int(rng.choice([1, 2, 4, 6]))
    if kind == "xnor":
        pv = int(rng.choice([-1, 0, 1]))
        stage = N.OutputStage("threshold", thr=rng.integers(-9, 9, co), invert=np.zeros(co, np.uint8))
        nodes.append(N.XnorConv(name="n", inputs=(src,), outputs=("y",), weights=rng.integers(0, 2, (co, *k, c)),
                                kernel=k, stride=stride, pad=pad, pad_value=pv, stage=stage))  # fmt: skip
    elif kind == "fixed":
        nodes.append(N.FixedConv(name="n", inputs=(src,), outputs=("y",), weights=rng.integers(-9, 9, (co, *k, c)),
                                 w_bits=5, w_frac=2, kernel=k, stride=stride, pad=pad,
                                 stage=N.OutputStage.identity(co)))  # fmt: skip
    elif kind == "max":
        nodes.append(N.MaxPool(name="n", inputs=(src,), outputs=("y",), kernel=k, stride=stride, pad=pad))
    elif kind == "avg":
        k = (2 if k[0] == 3 else k[0], 2 if k[1] == 3 else k[1])  # a power-of-two window
        if w < k[1] or h < k[0]:
            return
        nodes.append(N.AvgPool(name="n", inputs=(src,), outputs=("y",), kernel=k, stride=stride, out=None))
    else:
        nodes.append(N.SlidingWindow(name="n", inputs=(src,), outputs=("y",), kernel=k, stride=stride, pad=pad,
                                     pad_value=int(rng.choice([-1, 1]))))  # fmt: skip
    try:
        g = build("prop", (h, w, c), nodes)
    except ValueError:
        return  # the window does not fit the padded map
    node = g.node("n")
    if kind in ("xnor", "fixed"):
        fold = Fold(rnd.choice(divisors(co)), rnd.choice(divisors(c)))
    else:
        fold = Fold(rnd.choice(divisors(c)), 1)
    plan = make_plan(g, {"n": fold})
    files = render(plan, "xc7z020clg400-1", 10.0)
    assert "src/n.hpp" in files
    loops = C.node_loops(g, node, fold)
    if "swu" in loops:
        s = node.window(g.spec(node.inputs[0]).shape)
        simd = fold.simd if kind in ("xnor", "fixed") else fold.pe
        words_out = s.oh * s.ow * s.kh * s.kw * c // simd
        assert loops["swu"] >= max(words_out, s.ph * s.pw * c // simd)
