"""Every verb on bad input: one line on stderr naming the file, node or field, exit status 2, and no file outside
``--out`` changed. Plus the cases that used to print a wrong or stale result with exit status 0."""

from __future__ import annotations

import json

import pytest

from hls.estimate.designs import CNV_FINN_EXAMPLES_FOLDING, cnv_w1a1
from hls.folding import to_json
from runfiles.outputs import file_sha256
from tests.cli_helpers import run_cli
from tests.dybnn.conftest import snapshot
from tests.hwsim.graphs import resblock_graph


@pytest.fixture
def ws(tmp_path, rng):
    """A workspace: ``hw/`` of a small graph, a plain file, an empty directory."""
    resblock_graph(rng, c=16, hw=8).save(tmp_path / "run" / "hw")
    (tmp_path / "afile").write_text("not a directory")
    (tmp_path / "adir").mkdir()
    return tmp_path


def bad(monkeypatch, capsys, root, *args: str, needle: str, out=None) -> str:
    before = snapshot(root)
    code, stdout, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2, (args, stdout, err)
    # one error line, last; before it only progress lines of a long step (a heartbeat of a slow, loaded run)
    lines = err.splitlines()
    assert lines and lines[-1].startswith("error: ") and err.endswith("\n"), (args, err)
    assert all(" so far" in ln or " done in " in ln for ln in lines[:-1]), (args, err)
    assert "Traceback" not in err and needle in err, (args, err)
    after = snapshot(root)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    if out is not None:
        changed = {k for k in changed if not (root / k).is_relative_to(out)}
    assert not changed, (args, changed)
    return err


def test_lower_bad_input(ws, monkeypatch, capsys):
    bad(monkeypatch, capsys, ws, "lower", str(ws / "none.onnx"), needle="none.onnx")
    bad(monkeypatch, capsys, ws, "lower", str(ws / "afile"), needle="afile")
    bad(monkeypatch, capsys, ws, "lower", str(ws / "adir"), needle="adir")


def test_estimate_bad_input(ws, monkeypatch, capsys):
    run = str(ws / "run")
    for v in ("nan", "inf", "-inf", "0", "-1"):
        bad(monkeypatch, capsys, ws, "estimate", run, "--clock-ns", v, needle="--clock-ns")
    bad(monkeypatch, capsys, ws, "estimate", run, "--target-fps", "nan", needle="--target-fps")
    bad(monkeypatch, capsys, ws, "estimate", run, "--folding", str(ws / "adir"), needle="is a directory")
    bad(monkeypatch, capsys, ws, "estimate", run, "--folding", str(ws / "afile"), needle="not valid JSON")
    bad(monkeypatch, capsys, ws, "estimate", run, "--part", "nosuch", needle="nosuch")
    bad(monkeypatch, capsys, ws, "estimate", run, "--out", str(ws / "afile" / "x.json"), needle="afile")
    bad(monkeypatch, capsys, ws, "estimate", run, "--out", str(ws / "adir"), needle="is a directory")
    bad(monkeypatch, capsys, ws, "estimate", run, "--clock-ns", "abc", needle="abc")
    (ws / "run" / "hw" / "params.npz").unlink()
    bad(monkeypatch, capsys, ws, "estimate", run, needle="params.npz")


def test_hls_bad_input(ws, monkeypatch, capsys):
    run = str(ws / "run")
    base = ["hls", run, "--part", "pynq-z1"]
    bad(monkeypatch, capsys, ws, *base, "--clock-ns", "inf", "--out", str(ws / "p"), needle="--clock-ns")
    bad(monkeypatch, capsys, ws, *base, "--clock-ns", "10", "--out", str(ws / "afile"), needle="afile")
    bad(monkeypatch, capsys, ws, *base, "--clock-ns", "10", "--out", str(ws / "adir2"), "--folding",
        str(ws / "adir"), needle="is a directory")  # fmt: skip
    (ws / "mine").mkdir()
    (ws / "mine" / "x").write_text("x")
    bad(
        monkeypatch,
        capsys,
        ws,
        *base,
        "--clock-ns",
        "10",
        "--out",
        str(ws / "mine"),
        needle="not a dybnn HLS",
    )


def test_report_flow_study_train_export_bad_input(ws, monkeypatch, capsys):
    bad(monkeypatch, capsys, ws, "report", str(ws / "nothing"), needle="nothing")
    bad(monkeypatch, capsys, ws, "report", str(ws / "run"), "--out", str(ws / "afile"), needle="afile")
    bad(monkeypatch, capsys, ws, "flow", "--out", str(ws / "afile"), needle="afile")
    bad(monkeypatch, capsys, ws, "flow", "--out", str(ws / "new"), "--only", "trian", needle="trian")
    bad(
        monkeypatch, capsys, ws, "flow", "--out", str(ws / "new"), "--config", str(ws / "adir"), needle="adir"
    )
    bad(monkeypatch, capsys, ws, "study", "--models", "nosuch", "--out", str(ws / "s"), needle="nosuch")
    bad(monkeypatch, capsys, ws, "study", "--seeds", "a", "--out", str(ws / "s"), needle="--seeds")
    bad(monkeypatch, capsys, ws, "study", "--jobs", "0", "--out", str(ws / "s"), needle="--jobs")
    bad(monkeypatch, capsys, ws, "study", "--part", "nosuch", "--out", str(ws / "s"), needle="nosuch")
    for spec, needle in (("dybnn-tiny:hyper_delta_bits=1", "hyper_delta_bits"), ("dybnn-tiny:nokey=3", "nokey"),
                         ("dybnn-tiny:seed=3", "'seed'"), ("dybnn-tiny:hyper_delta_bits", "KEY=VALUE"),
                         ("dybnn-tiny,dybnn-tiny", "twice"), (":lr=1", "no model")):  # fmt: skip
        bad(monkeypatch, capsys, ws, "study", "--models", spec, "--out", str(ws / "s"), needle=needle)
    bad(
        monkeypatch,
        capsys,
        ws,
        "train",
        "--resume",
        "--out",
        str(ws / "adir"),
        needle="--model and --dataset",
    )
    bad(monkeypatch, capsys, ws, "train", "--model", "tfc-w1a1", "--dataset", "nosuch", "--out", str(ws / "t"),
        needle="nosuch")  # fmt: skip
    bad(monkeypatch, capsys, ws, "export", str(ws / "adir"), needle="adir")
    bad(monkeypatch, capsys, ws, "sim", str(ws / "none.onnx"), "--dataset", "digits", needle="none.onnx")
    bad(monkeypatch, capsys, ws, "verify", str(ws / "adir"), needle="adir")
    bad(monkeypatch, capsys, ws, "nosuchverb", needle="nosuchverb")


def test_debug_shows_the_traceback(ws, monkeypatch, capsys):
    with pytest.raises(Exception, match="clock"):
        run_cli(monkeypatch, capsys, "--debug", "estimate", str(ws / "run"), "--clock-ns", "nan")


def test_target_fps_out_of_reach_is_said(ws, monkeypatch, capsys):
    code, out, err = run_cli(
        monkeypatch, capsys, "estimate", str(ws / "run"), "--target-fps", "1e12", "--json"
    )
    assert code == 1 and "target not reached: 1e+12 frames/s asked" in err
    doc = json.loads(out)
    assert doc["target_met"] is False and doc["fps"] < 1e12
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(ws / "run"), "--target-fps", "10", "--json")
    assert code == 0 and json.loads(out)["target_met"] is True


def test_partial_folding_fills_the_other_nodes(tmp_path, rng, monkeypatch, capsys):
    """BNN-PYNQ's CNV folding names only the matrix layers: the others keep up instead of staying at PE = 1."""
    cnv_w1a1(rng).save(tmp_path / "hw")
    from hwsim.graph import HwGraph

    g = HwGraph.load(tmp_path / "hw")
    matrix = {k: v for k, v in CNV_FINN_EXAMPLES_FOLDING.items() if k in {n.name for n in g.nodes}}
    f = tmp_path / "fold.json"
    f.write_text(json.dumps(to_json(matrix)))
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path), "--folding", str(f), "--json",
                             "--no-finn")  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    filled = sorted(n.name for n in g.nodes if n.name not in matrix)
    assert "not in the file got the smallest folding" in err and filled[0] in err
    layers = {r["name"]: r for r in doc["layers"]}
    slowest_named = max(layers[k]["cycles"] for k in matrix)
    assert max(r["cycles"] for r in doc["layers"]) == slowest_named  # no filled node is the bottleneck
    assert doc["bottleneck"] in matrix
    # the file alone (PE = 1 for every unnamed node) would make an unnamed node the bottleneck
    from hls.estimate import GraphModel
    from hls.folding import Fold

    m = GraphModel(g)
    assert max(m.cycles(n, matrix.get(n.name, Fold())) for n in g.nodes) > slowest_named


def test_verify_levels_must_run_and_compare(tiny_run, monkeypatch, capsys):
    bad(
        monkeypatch,
        capsys,
        tiny_run.parent,
        "verify",
        str(tiny_run),
        "--levels",
        "numba",
        needle="at least two",
    )
    bad(monkeypatch, capsys, tiny_run.parent, "verify", str(tiny_run), "--levels", "ref,fpga", needle="fpga")
    (tiny_run / "checkpoint.pt").write_bytes(b"corrupt")
    bad(monkeypatch, capsys, tiny_run.parent, "verify", str(tiny_run), "-n", "2", "--levels", "torch,ref",
        needle="torch level cannot run")  # fmt: skip
    # default levels: a checkpoint that exists but cannot be read is an error too, not a skipped level
    bad(monkeypatch, capsys, tiny_run.parent, "verify", str(tiny_run), "-n", "2", "--qonnx-samples", "1",
        needle="torch level cannot run")  # fmt: skip


def test_sim_and_verify_ignore_a_foreign_hw(tiny_run, tmp_path, rng, monkeypatch, capsys):
    """hw/ of another model with a newer mtime must not be used: only the recorded hash of model.onnx counts."""
    resblock_graph(rng).save(tiny_run / "hw", made_from={"onnx_sha256": "0" * 64})
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(tiny_run), "-n", "2", "--levels", "ref,numba")
    assert code == 0, out + err
    assert "lowered now" in out and "another model.onnx" in out
    code, _, err = run_cli(monkeypatch, capsys, "lower", str(tiny_run / "model.onnx"))
    assert code == 0, err
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(tiny_run), "-n", "2", "--levels", "ref,numba")
    assert code == 0 and f"hardware graph: {tiny_run / 'hw'}" in out


def test_report_marks_outputs_of_another_model_stale(tiny_run, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "lower", str(tiny_run / "model.onnx"))
    assert code == 0, err
    from reports.build import summarize

    st = {s.step: s.status for s in summarize(tiny_run).sections}
    assert st["lower"] == "done"
    # another model.onnx (as `train --overwrite` with another model exports): hw/ no longer belongs to it
    data = (tiny_run / "model.onnx").read_bytes()
    (tiny_run / "model.onnx").write_bytes(data + b" ")
    assert file_sha256(tiny_run / "model.onnx") is not None
    st = {s.step: s.status for s in summarize(tiny_run).sections}
    assert st["lower"] == "stale"


def test_permission_errors_are_one_line(ws, monkeypatch, capsys):
    """A write that the OS refuses (as for a read-only directory; the tests may run as root, so the refusal is
    injected at the one atomic-write helper every verb uses)."""
    import runfiles.outputs

    def refuse(path, mode=0o644):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(runfiles.outputs, "atomic_write", refuse)
    err = bad(
        monkeypatch, capsys, ws, "estimate", str(ws / "run"), "--out", str(ws / "e.json"), needle="e.json"
    )
    assert "permission denied" in err
    err = bad(monkeypatch, capsys, ws, "report", str(ws / "run"), "--out", str(ws / "rep"), needle="permission",
              out=ws / "rep")  # fmt: skip


def test_sim_ignores_a_foreign_hw(tiny_run, rng, monkeypatch, capsys):
    resblock_graph(rng).save(tiny_run / "hw", made_from={"onnx_sha256": "0" * 64})
    code, out, err = run_cli(monkeypatch, capsys, "sim", str(tiny_run / "model.onnx"), "--dataset", "synthetic",
                             "--max-samples", "16", "--json")  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    assert rec["graph"].startswith("lowered now") and "another model.onnx" in rec["graph"]
    assert rec["torch"]["predictions_differ"] == 0 and rec["torch"]["logits_differ"] == 0


def test_library_verify_resolves_hw_by_recorded_hash(tiny_run, rng, monkeypatch, capsys):
    import os

    from verify.levels import resolve

    resblock_graph(rng).save(tiny_run / "hw", made_from={"onnx_sha256": "0" * 64})
    os.utime(tiny_run / "model.onnx", (1, 1))  # hw/ is much newer: the old mtime rule took it
    assert resolve(tiny_run).graph_source == "lowered now"
    assert run_cli(monkeypatch, capsys, "lower", str(tiny_run / "model.onnx"))[0] == 0
    assert resolve(tiny_run).graph_source == str(tiny_run / "hw")


def test_study_reports_a_failed_training(tmp_path):
    """A training that fails in its subprocess is returned with its log's last line, not hidden in the log."""
    from dybnn.study import parse_entry, train_all

    failed = train_all([parse_entry("tfc-w1a1")], [0], 3, "synthetic", tmp_path, 1, {"lr": -1.0})
    assert len(failed) == 1
    d, why = failed[0]
    assert d == tmp_path / "tfc-w1a1-s0" and "lr must be > 0" in why
