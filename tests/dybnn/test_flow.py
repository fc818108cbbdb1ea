"""The flow and training under reruns and interruption: never retrain needlessly, never lose the checkpoint, resume
what was interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

torch = pytest.importorskip("torch")

import training.train as train_mod  # noqa: E402
from dybnn.flow import Flow, FlowConfig, _stale, load_flow_config, step_key  # noqa: E402
from runfiles.outputs import file_sha256  # noqa: E402
from tests.cli_helpers import run_cli  # noqa: E402
from training.checkpoint import read_checkpoint  # noqa: E402

#: three epochs of one batch each: one epoch per training step
SMALL = {"max_steps_per_epoch": 1, "max_train_samples": 128, "max_test_samples": 32}


def cfg(**kw) -> FlowConfig:
    base = {"model": "tfc-w1a1", "dataset": "synthetic", "epochs": 3, "train": dict(SMALL), "verify_samples": 2,
            "qonnx_samples": 1, "csim_samples": 1}  # fmt: skip
    return FlowConfig(**{**base, **kw})


def quiet_flow(c: FlowConfig, out) -> Flow:
    return Flow(c, out, echo=lambda s: None)


def kill_in_epoch(monkeypatch, epoch: int) -> None:
    real = train_mod._train_epoch

    def killed(tr, e):
        if e == epoch:
            raise KeyboardInterrupt("simulated Ctrl-C")
        return real(tr, e)

    monkeypatch.setattr(train_mod, "_train_epoch", killed)


def train_step(flow: Flow):
    return next(s for s in flow.steps() if s.name == "train")


def test_later_setting_or_no_config_does_not_retrain(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    quiet_flow(cfg(), out).run(["train", "export"])
    ck = file_sha256(out / "checkpoint.pt")
    # only a later step's setting changed: train and export are up to date
    f2 = quiet_flow(cfg(csim_samples=5, verify_samples=3), out)
    state = f2.read_state()
    assert _stale(train_step(f2), state, out) is None
    assert _stale(next(s for s in f2.steps() if s.name == "export"), state, out) is None
    rows = f2.run(["train", "export"])
    assert [r[1] for r in rows[:2]] == ["up to date", "up to date"]
    assert file_sha256(out / "checkpoint.pt") == ck
    # rerun without --config: the run's flow.json is used, not the defaults (which would train dybnn-tiny)
    monkeypatch.setattr(Flow, "do_train", lambda self: pytest.fail("retrained"))
    code, text, err = run_cli(monkeypatch, capsys, "flow", "--out", str(out), "--only", "train,export")
    assert code == 0, err
    assert "using the configuration of the run" in text and "train: up to date" in text
    assert file_sha256(out / "checkpoint.pt") == ck


def test_flow_resumes_an_interrupted_training(tmp_path, monkeypatch):
    out = tmp_path / "run"
    kill_in_epoch(monkeypatch, 1)
    with pytest.raises(KeyboardInterrupt):
        quiet_flow(cfg(), out).run(["train"])
    assert json.loads((out / "metrics.json").read_text())["done"] is False
    f = quiet_flow(cfg(), out)
    assert _stale(train_step(f), f.read_state(), out) == "not finished with this configuration"
    monkeypatch.undo()
    seen = []
    real = train_mod.train
    monkeypatch.setattr(train_mod, "train", lambda *a, **k: seen.append(k["resume"]) or real(*a, **k))
    f.run(["train"])
    assert seen == [True]
    m = json.loads((out / "metrics.json").read_text())
    assert m["done"] and [r["epoch"] for r in m["records"]] == [1, 2, 3]


def test_ctrl_c_while_retraining_keeps_the_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "run"
    quiet_flow(cfg(), out).run(["train"])
    old = file_sha256(out / "checkpoint.pt")
    kill_in_epoch(monkeypatch, 0)
    with pytest.raises(KeyboardInterrupt):
        quiet_flow(cfg(seed=1), out).run(["train"])  # a training setting changed: retrain, interrupted
    assert file_sha256(out / "checkpoint.pt") == old  # the old run's checkpoint is still there
    monkeypatch.undo()
    f = quiet_flow(cfg(seed=1), out)
    assert _stale(train_step(f), f.read_state(), out) is not None  # and it is not taken for the new run
    f.run(["train"])
    assert read_checkpoint(out)["train_config"]["seed"] == 1 and read_checkpoint(out)["done"]


def test_train_resume_after_a_kill_in_the_first_epoch(tmp_path, monkeypatch, capsys):
    """Only config.json exists after a kill in epoch 1; `train --resume --out DIR` starts that run."""
    out = tmp_path / "run"
    kill_in_epoch(monkeypatch, 0)
    args = ["train", "--model", "tfc-w1a1", "--dataset", "synthetic", "--epochs", "3", "--max-steps-per-epoch",
            "1", "--out", str(out), "--quiet", "--no-export"]  # fmt: skip
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 130 and "interrupted" in err
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    monkeypatch.undo()
    code, _, err = run_cli(
        monkeypatch, capsys, "train", "--resume", "--out", str(out), "--quiet", "--no-export"
    )
    assert code == 0, err
    assert read_checkpoint(out)["done"]


def test_train_resume_with_epochs_takes_the_run_config(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    kill_in_epoch(monkeypatch, 1)
    args = ["train", "--model", "tfc-w1a1", "--dataset", "synthetic", "--epochs", "3", "--max-steps-per-epoch",
            "1", "--out", str(out), "--quiet", "--no-export"]  # fmt: skip
    assert run_cli(monkeypatch, capsys, *args)[0] == 130
    monkeypatch.undo()
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", "--epochs", "3", "--out", str(out), "--quiet",
                           "--no-export")  # fmt: skip
    assert code == 0, err
    assert read_checkpoint(out)["train_config"]["model"] == "tfc-w1a1"
    code, _, err = run_cli(monkeypatch, capsys, "train", "--resume", "--epochs", "5", "--out", str(out))
    assert code == 2 and "epochs=5 (checkpoint: 3)" in err and err.count("\n") == 1


def test_sigterm_during_the_first_epoch_then_resume(tmp_path):
    """A real SIGTERM to `dybnn train`: exit 130, no temporary file, and `--resume` completes the run."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = [sys.executable, "-m", "dybnn", "train", "--model", "tfc-w1a1", "--dataset", "synthetic", "--epochs",
           "3", "--max-steps-per-epoch", "60", "--batch-size", "8", "--out", str(out), "--quiet", "--no-export"]  # fmt: skip
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "config.json").exists() and time.monotonic() < deadline and p.poll() is None:
        time.sleep(0.02)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "Traceback" not in err
    assert not [q for q in out.iterdir() if q.name.endswith(".tmp")]
    assert (out / "config.json").is_file() and not (out / "checkpoint.pt").exists()
    r = subprocess.run(
        [sys.executable, "-m", "dybnn", "train", "--resume", "--out", str(out), "--quiet", "--no-export"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert read_checkpoint(out)["done"]


def test_flow_config_is_validated_before_anything_runs(tmp_path, monkeypatch, capsys):
    cases = {
        "model: nosuch\n": "nosuch",
        "dataset: nosuch\n": "nosuch",
        "epochs: abc\n": "epochs must be an integer",
        "train: {lrr: 0.1}\n": "lrr",
        "part: nosuch\n": "nosuch",
        "clock_ns: -1\n": "clock_ns",
        "csim: maybe\n": "csim must be true or false",
        "folding: nofile.json\n": "nofile.json",
        "train: {epochs: 2}\n": "top level",
    }
    for text, needle in cases.items():
        p = tmp_path / "flow.yaml"
        p.write_text(text)
        out = tmp_path / "out"
        code, _, err = run_cli(monkeypatch, capsys, "flow", "--config", str(p), "--out", str(out))
        assert code == 2, (text, err)
        assert needle in err and err.count("\n") == 1 and "Traceback" not in err, (text, err)
        assert not out.exists(), text
    with pytest.raises(Exception, match="epochz"):
        load_flow_config(_write(tmp_path / "f.yaml", "epochz: 3\n"))


def _write(p, text):
    p.write_text(text)
    return p


def test_deleted_hls_project_or_changed_setting_reruns_only_that_step(tmp_path):
    """`dybnn flow` after deleting hls/<model>/ used to say "hls: up to date"."""
    out = tmp_path / "run"
    f = quiet_flow(cfg(), out)
    step = next(s for s in f.steps() if s.name == "hls")
    for p in [*step.inputs, *step.outputs]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"ok": True}))
    state: dict = {}
    f.record(state, step, step_key(step, out))
    assert _stale(step, f.read_state(), out) is None
    (f.hls_dir / "project.json").unlink()
    assert _stale(step, f.read_state(), out) == f"hls/{cfg().model}/project.json is missing"
    (f.hls_dir / "project.json").write_text(json.dumps({"ok": True}))
    assert _stale(step, f.read_state(), out) is None
    f2 = quiet_flow(cfg(csim_samples=7), out)
    assert _stale(next(s for s in f2.steps() if s.name == "hls"), f2.read_state(), out) is not None


def test_a_code_change_reruns_the_steps_that_run_that_code(tmp_path, monkeypatch):
    """`make demo` on an old run reported results of the previous code as up to date after the model changed."""
    import dybnn.flow as flow_mod

    pkg = tmp_path / "src" / "fakepkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("X = 1\n")
    (pkg / "t.hpp.j2").write_text("// template\n")
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.setattr(flow_mod, "_CODE_DIGESTS", {})
    out = tmp_path / "run"
    f = quiet_flow(cfg(), out)
    step = next(s for s in f.steps() if s.name == "hls")
    step.code = ("fakepkg",)
    for p in [*step.inputs, *step.outputs]:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps({"ok": True}))
    f.record({}, step, step_key(step, out))
    assert _stale(step, f.read_state(), out) is None
    # the same code in a new process (the per-process cache emptied): still up to date
    monkeypatch.setattr(flow_mod, "_CODE_DIGESTS", {})
    assert _stale(step, f.read_state(), out) is None
    # a template of the package changed: the step is stale
    (pkg / "t.hpp.j2").write_text("// template, changed\n")
    monkeypatch.setattr(flow_mod, "_CODE_DIGESTS", {})
    assert _stale(step, f.read_state(), out) == "its inputs, settings or code changed"
    # every step but training is keyed by the code it runs
    assert all(bool(s.code) == (s.name != "train") for s in f.steps())
