"""``verify.levels`` (the four-level comparer) and the ``dybnn lower`` / ``verify`` / ``sim`` commands."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwsim.graph import HwGraph  # noqa: E402
from runfiles.records import PairResult, VerifyReport  # noqa: E402
from tests.cli_helpers import run_cli  # noqa: E402
from tests.hwsim.test_lower import exported  # noqa: E402
from verify.levels import VerifyError, verify  # noqa: E402

pytestmark = pytest.mark.xdist_group("lower-reactnet-tiny")


@pytest.fixture
def run_dir(tmp_path):
    """A run directory with model.onnx (reactnet-tiny, trained briefly)."""
    _, path = exported("reactnet-tiny", (1, 16, 16), None, True)
    d = tmp_path / "run"
    d.mkdir()
    shutil.copy(path, d / "model.onnx")
    return d


def test_pair_result_records_first_mismatch():
    p = PairResult("a", "b")
    p.compare("t", "n", np.array([[1, 2], [3, 4]]), np.array([[1, 2], [3, 5]]))
    p.compare("u", "m", np.zeros(3), np.zeros(3))
    assert (p.tensors, p.elements, p.mismatches) == (2, 7, 1)
    assert p.first.tensor == "t" and p.first.node == "n" and p.first.index == [1, 1]
    assert (p.first.a, p.first.b) == (4, 5) and p.bad_tensors == ["t"]
    rep = VerifyReport("m", {"a": 1, "b": 1}, [p])
    assert not rep.ok and "FAILED" in rep.table() and "n t [1,1] 4 vs 5" in rep.table()
    assert json.loads(json.dumps(rep.to_json()))["pairs"][0]["first"]["index"] == [1, 1]


def test_verify_bare_file_skips_torch(run_dir):
    seen = []
    rep = verify(run_dir / "model.onnx", samples=4, qonnx_samples=2, chunk=3,
                 progress=lambda stage, done, total: seen.append((stage, done, total)))  # fmt: skip
    assert rep.ok, rep.table()
    # every chunk of a simulator level is a stage that counts its seconds while it runs (a heartbeat), then
    # the level's samples done
    stages = [s for s, _, _ in seen]
    assert (
        "ref level: samples 1-3 of 4, seconds" in stages
        and "numba level: samples 4-4 of 4, seconds" in stages
    )
    assert ("ref", 3, 4) in seen and ("ref", 4, 4) in seen
    assert any("torch level skipped" in n for n in rep.notes)
    assert {(p.a, p.b) for p in rep.pairs} >= {("qonnx", "ref")}
    assert rep.samples["ref"] == 4 and rep.samples["qonnx"] == 2


def test_verify_rejects_bad_arguments(run_dir, tmp_path):
    with pytest.raises(VerifyError, match="unknown level"):
        verify(run_dir, levels=("torch", "fpga"))
    with pytest.raises(VerifyError, match="no such file"):
        verify(tmp_path / "nothing")


def test_cli_lower_verify_and_detect_a_corrupted_graph(run_dir, monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, "lower", str(run_dir / "model.onnx"))
    assert code == 0, err
    assert "lowered" in out and (run_dir / "hw" / "graph.json").is_file()
    g = HwGraph.load(run_dir / "hw")
    assert g.count()["PReLU"] == 6

    levels = "qonnx,ref,numba"
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(run_dir), "-n", "4", "--qonnx-samples", "2",
                             "--levels", levels)  # fmt: skip
    assert code == 0, out + err
    assert "qonnx vs ref" in out and "OK" in out and "hardware graph: " + str(run_dir / "hw") in out

    code, out, _ = run_cli(monkeypatch, capsys, "verify", str(run_dir), "-n", "2", "--qonnx-samples", "2",
                           "--levels", "qonnx,ref", "--json")  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["pairs"][0]["mismatches"] == 0

    # corrupt one threshold of the saved graph: verify must fail (exit 1) and name the node
    sign = next(n for n in g.nodes if n.op_type == "Sign")
    thr = sign.thr.copy()
    thr[:] = thr + 2000  # ~0.5 on the 2**-12 grid: many bits flip
    g.nodes[g.nodes.index(sign)] = sign.replace(thr=thr)
    from dybnn.commands.lower import graph_made_from  # recorded as lowered from model.onnx: verify uses it

    g.save(run_dir / "hw", made_from=graph_made_from(run_dir / "model.onnx"))
    code, out, _ = run_cli(monkeypatch, capsys, "verify", str(run_dir), "-n", "8", "--qonnx-samples", "2",
                           "--levels", "qonnx,ref")  # fmt: skip
    assert code == 1 and "FAILED" in out
    assert sign.name in out


def test_cli_lower_reports_unsupported_pattern(tmp_path, monkeypatch, capsys):
    import onnx
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    m = helper.make_model(
        helper.make_graph([helper.make_node("Cos", ["x"], ["y"], name="Cos_0")], "g", [x], [y])
    )
    onnx.save(m, str(tmp_path / "m.onnx"))
    code, out, err = run_cli(monkeypatch, capsys, "lower", str(tmp_path / "m.onnx"))
    assert code == 2 and "Cos_0 (Cos)" in err and "Traceback" not in err


def test_cli_sim_accuracy_equals_pytorch(tmp_path, monkeypatch, capsys):
    """``dybnn sim`` on digits (resized to 16x16): the accuracy equals PyTorch's exactly."""
    pytest.importorskip("sklearn")
    from training.data import get_dataset

    model, path = exported("reactnet-tiny", (1, 16, 16), None, True)
    d = tmp_path / "run"
    d.mkdir()
    shutil.copy(path, d / "model.onnx")
    code, out, err = run_cli(monkeypatch, capsys, "sim", str(d / "model.onnx"), "--dataset", "digits", "--json",
                             "--max-samples", "120")  # fmt: skip
    assert code == 0, err
    rec = json.loads(out)
    ds = get_dataset("digits", input_size=(16, 16), max_test_samples=120)
    xt, yt = ds.test.tensors[:2]
    with torch.no_grad():
        pred = model(xt).argmax(dim=-1)
    assert rec["samples"] == len(yt)
    assert rec["correct"] == int((pred == yt).sum())
    assert rec["level"] == "numba"


def test_cli_sim_compares_with_the_checkpoint(tmp_path, monkeypatch, capsys):
    """In a training directory ``dybnn sim`` also runs checkpoint.pt: equal logits and predictions, exit 1 if not."""
    pytest.importorskip("sklearn")
    import dybnn.commands.sim as sim_cmd

    d = tmp_path / "run"
    code, _, err = run_cli(monkeypatch, capsys, "train", "--model", "reactnet-tiny", "--dataset", "digits",
                           "--epochs", "1", "--max-steps-per-epoch", "4", "--out", str(d), "--quiet")  # fmt: skip
    assert code == 0, err
    args = ("sim", str(d), "--dataset", "digits", "--max-samples", "50")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--json")
    assert code == 0, err
    rec = json.loads(out)
    assert rec["torch"]["logits_differ"] == 0 and rec["torch"]["predictions_differ"] == 0
    assert rec["torch"]["correct"] == rec["correct"] and rec["torch"]["logit_elements"] == 50 * 10

    real = sim_cmd.torch_outputs

    def off_by_one_lsb(model, x, batch):
        logits, pred = real(model, x, batch)
        logits[3, 2] = np.nextafter(logits[3, 2], np.float32(np.inf))
        return logits, pred

    monkeypatch.setattr(sim_cmd, "torch_outputs", off_by_one_lsb)
    code, out, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 1 and "DIFFERENT: 0 predictions and 1 of 500 logits differ" in out
    code, out, _ = run_cli(monkeypatch, capsys, *args, "--no-torch")
    assert code == 0 and "PyTorch" not in out
