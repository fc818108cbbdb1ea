"""The dybnn command: verbs, one-line user errors, train exporting model.onnx, and the flow's step skipping."""

from __future__ import annotations

import json
import os

from click.testing import CliRunner

from dybnn.cli import COMMANDS, cli
from dybnn.flow import Flow, FlowConfig, Step, _stale, load_flow_config, step_key
from runfiles.outputs import file_sha256


def test_help_lists_every_verb():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for verb in COMMANDS:
        assert verb in res.output


def test_train_exports_model_onnx(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--model", "lfc-w1a1", "--dataset", "synthetic", "--epochs", "1", "--out", str(out),
            "--max-steps-per-epoch", "6", "--quiet"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (out / "model.onnx").is_file() and (out / "metrics.json").is_file()


def test_unknown_model_is_one_line(tmp_path):
    import subprocess
    import sys

    from dybnn.cli import main

    r = subprocess.run(
        [sys.executable, "-c", "from dybnn.cli import main; main()", "train", "--model", "nope", "--dataset",
         "mnist5k", "--out", str(tmp_path / "x")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "valid models" in r.stderr
    assert main is not None


def test_flow_config_rejects_unknown_keys(tmp_path):
    p = tmp_path / "flow.yaml"
    p.write_text("model: dybnn-tiny\nepochz: 3\n")
    try:
        load_flow_config(p)
    except Exception as e:  # noqa: BLE001
        assert "epochz" in str(e)
    else:
        raise AssertionError("unknown key accepted")


def test_step_is_stale_until_recorded_then_when_an_input_changes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("1")
    s = Step("x", [a], [b], lambda: "", settings={"n": 1})
    assert _stale(s, {}, tmp_path) == "b is missing"
    b.write_text("2")
    assert _stale(s, {}, tmp_path) == "no record of a previous run"
    state = {"x": {"key": step_key(s, tmp_path), "outputs": {"b": file_sha256(b)}}}
    assert _stale(s, state, tmp_path) is None
    os.utime(a, (1, 1))  # an older or newer mtime changes nothing: only content counts
    os.utime(b, (1, 1))
    assert _stale(s, state, tmp_path) is None
    a.write_text("3")
    assert _stale(s, state, tmp_path) == "its inputs, settings or code changed"
    a.write_text("1")
    assert _stale(Step("x", [a], [b], lambda: "", settings={"n": 2}), state, tmp_path) is not None
    b.write_text("replaced by another command")
    assert _stale(s, state, tmp_path) == "b was changed since"


def test_failed_check_output_is_rerun(tmp_path):
    a, b = tmp_path / "a", tmp_path / "verify.json"
    a.write_text("1")
    b.write_text(json.dumps({"ok": True}))
    s = Step("verify", [a], [b], lambda: "", ok_file=b)
    state = {"verify": {"key": step_key(s, tmp_path), "outputs": {"verify.json": file_sha256(b)}}}
    assert _stale(s, state, tmp_path) is None
    b.write_text(json.dumps({"ok": False}))
    assert _stale(s, state, tmp_path) == "verify.json records a failure"


def test_flow_writes_config_only_when_it_changes(tmp_path):
    f = Flow(FlowConfig(), tmp_path)
    f.write_config()
    t0 = f.flow_json.stat().st_mtime_ns
    Flow(FlowConfig(), tmp_path).write_config()
    assert f.flow_json.stat().st_mtime_ns == t0
    Flow(FlowConfig(epochs=2), tmp_path).write_config()
    assert json.loads(f.flow_json.read_text())["epochs"] == 2


def test_sim_foreign_rgb_model_on_grayscale_dataset(tmp_path):
    """`dybnn sim` on a Brevitas model with a float tail: a grayscale dataset resized and repeated to the model's
    3 channels, in [0, 1] with --unit-range; the accuracy counts the labels of the float logits (the host's tail
    included)."""
    import numpy as np
    import pytest

    pytest.importorskip("brevitas")
    from hwsim.lower import lower
    from hwsim.simulate import simulate
    from tests.hwsim.foreign import export, someone_else
    from training.data import get_dataset

    path = export(someone_else(), tmp_path / "net.onnx", (3, 16, 16))
    args = ["sim", str(path), "--dataset", "digits", "--max-samples", "64", "--unit-range", "--json"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output[res.output.index("{") :])
    ds = get_dataset("digits", input_size=(16, 16), max_test_samples=64)
    x, y = (t.numpy() for t in ds.test.tensors[:2])
    x = x * np.float32(ds.info.std[0]) + np.float32(ds.info.mean[0])  # --unit-range: images in [0, 1]
    assert x.min() >= 0 and x.max() <= 1 + 1e-6
    g = lower(path)
    logits = simulate(g, np.repeat(x, 3, axis=1), level="ref")[g.metadata["logits"]]
    assert logits.dtype == np.float32 and rec["samples"] == 64
    assert rec["correct"] == int((np.argmax(logits, axis=-1) == y).sum())
