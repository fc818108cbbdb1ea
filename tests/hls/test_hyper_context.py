"""``hyper_context: stem`` in the HLS back end: C-simulation exact with the cycle model's loop counts, no frame
buffer at the dynamic units (timing model, estimator, folding), and the RTL back end's plan."""

from __future__ import annotations

import shutil

import pytest

from hls.csim import run_csim
from hls.cycles import node_cycles, node_loops
from hls.estimate.pipeline import GraphModel
from hls.folding import Fold, FoldingError, validate
from hls.project import write_project
from hls.timing import timing
from rtl.project import make_rtl_plan
from tests.hwsim.graphs import stem_context_graph

FOLD = {"ctx": Fold(2, 1, 2), "dsign": Fold(4), "dprelu": Fold(2), "conv1": Fold(2, 4), "stem": Fold(2, 2)}


@pytest.mark.hls
@pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make")
def test_csim_exact_with_the_model_loop_counts(tmp_path, rng):
    g = stem_context_graph(rng)
    x = rng.standard_normal((4, 6, 6, 2)).astype("float32") * 4
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, FOLD, tb_frames=0, probes="all")
    res = run_csim(prj, g, x)
    assert res.total_mismatches == 0, res.summary()
    assert not res.cycle_mismatches and not res.unsteady, res.summary()
    for name, cyc in res.model_cycles.items():
        assert res.cycles[name] == cyc, name
    assert {"dsign", "dprelu", "ctx"} <= set(res.model_cycles)


def test_no_frame_buffer_at_the_dynamic_units(rng):
    g = stem_context_graph(rng)
    tm = timing(g, FOLD)
    frame_words = {n: 6 * 6 * 8 // FOLD[n].pe for n in ("dsign", "dprelu")}
    # the context reaches every unit before its frame: what waits in front of a unit is a few words, not a frame
    for n in ("dsign", "dprelu"):
        x = tm.channel(n, tm.graph.node(n).inputs[0])
        assert x.depth < frame_words[n] // 4, (n, x.depth)
    loops = node_loops(g, g.node("dsign"), FOLD["dsign"])
    assert set(loops) == {"context_in", "hyper1", "hyper2", "frame_out"} and loops["context_in"] == 8 // 4
    assert node_cycles(g, g.node("dsign"), FOLD["dsign"]) == max(
        loops["context_in"] + loops["hyper1"] + loops["hyper2"], loops["frame_out"]
    )
    hc = node_loops(g, g.node("ctx"), FOLD["ctx"])
    assert hc == {"frame_in": 144, "context_out": 4, "frame_out": 144}
    assert node_cycles(g, g.node("ctx"), FOLD["ctx"]) == 144  # ping-pong: max(in, context, out)
    est = GraphModel(g).estimate(FOLD)
    for n in ("dsign", "dprelu"):
        parts = est.node(n).parts
        assert "frame_buffer" not in parts and "statistics" not in parts and "context" in parts
    assert est.node("ctx").parts["frame_buffer"].lut + est.node("ctx").parts["frame_buffer"].bram18 > 0


def test_folding_buffers_only_where_a_frame_is_buffered(rng):
    g = stem_context_graph(rng)
    validate(g, FOLD)
    with pytest.raises(FoldingError, match="'dsign' \\(DynamicSign\\) has no frame buffer"):
        validate(g, {**FOLD, "dsign": Fold(4, 1, 2)})
    with pytest.raises(FoldingError, match="'dsign': pe=16 does not divide 8 channels"):
        validate(g, {**FOLD, "dsign": Fold(16)})


def test_rtl_plan_has_the_context_modules(rng):
    """The RTL back end builds it (tests/rtl/test_dynamic.py simulates it): the HyperContext module and the
    context-reading dynamic units, whose context folds are C0/PE."""
    rp = make_rtl_plan(stem_context_graph(rng), FOLD, "pynq-z1")
    assert rp.instances["ctx"].module == "dybnn_hyper_context"
    assert rp.instances["ctx"].params["BUFFERS"] == 2
    ds = rp.instances["dsign"]
    assert ds.module == "dybnn_dynamic_sign" and ds.params["CONTEXT"] == 1 and ds.params["HCF"] == 8 // 4
    assert "BUFFERS" not in ds.params and "FRAME_STYLE" not in ds.params


def test_estimate_backend_rtl(tmp_path, rng, monkeypatch, capsys):
    """``dybnn estimate --backend rtl``: the RTL modules' cost rules (rtl/estimate.py) for the HyperContext (the
    one frame buffer) and the context units (none), and the static comparison without the HyperContext node."""
    import json

    from hls.folding import to_json
    from rtl.estimate import estimate_rtl
    from tests.cli_helpers import run_cli

    g = stem_context_graph(rng)
    est = estimate_rtl(g, FOLD)
    ctx, ds = est.node("ctx"), est.node("dsign")
    assert ctx.resources.lut > 0 and "frame_buffer" in ctx.parts and "statistics" in ctx.parts
    assert "frame_buffer" not in ds.parts and "sums" not in ds.parts and "context" in ds.parts
    assert ds.resources.dsp == FOLD["dsign"].pe  # one hyper-function multiplier per lane
    g.save(tmp_path / "run" / "hw")
    (tmp_path / "fold.json").write_text(json.dumps(to_json(FOLD)))
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path / "run"), "--folding",
                             str(tmp_path / "fold.json"), "--backend", "rtl")  # fmt: skip
    assert code == 0, err
    assert "backend rtl" in out and "static RSign/RPReLU vs dynamic" in out


def test_hand_built_reactnet_a_stem_has_one_frame_buffer():
    from hls.estimate.designs import reactnet_a

    g = reactnet_a(None, resolution=32, width_mult=0.25, classes=10, context="stem")
    dyn = [n for n in g.nodes if n.op_type in ("DynamicSign", "DynamicPReLU")]
    assert len(dyn) == 52 and all(n.hyper.context for n in dyn)
    est = GraphModel(g).estimate({})
    assert [e.name for e in est.nodes if "frame_buffer" in e.parts] == ["context"]
    with pytest.raises(ValueError, match="context must be 'self' or 'stem'"):
        reactnet_a(None, resolution=32, width_mult=0.25, classes=10, context="stemm")
