"""The training loop: files, steps, resume, distillation, configuration and output-directory errors, DDP."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

import training.train as train_mod
from training.checkpoint import read_checkpoint
from training.data import get_dataset
from training.layers import is_folded
from training.steps import binary_weight_quant_enabled
from training.train import (
    ConfigError,
    OutputDirError,
    TrainConfig,
    distillation_loss,
    evaluate,
    load_checkpoint,
    load_config,
    train,
)

REPO = Path(__file__).resolve().parents[2]

#: A run of about a second: 3 epochs (one per step) of 4 batches of 32 synthetic 12x12 images.
TINY = dict(
    model="dybnn-tiny",
    dataset="synthetic",
    epochs=3,
    batch_size=32,
    lr=1e-2,
    input_size=12,
    max_train_samples=256,
    max_test_samples=128,
    max_steps_per_epoch=4,
    num_threads=1,  # tiny tensors gain nothing from threads, and pytest-xdist runs two workers
)


#: Tests that read the shared run go to one pytest-xdist worker, so that the run is trained once.
SHARED_RUN = pytest.mark.xdist_group("finished_run")


def tiny(**overrides) -> TrainConfig:
    return TrainConfig(**{**TINY, **overrides})


def fast(**overrides) -> TrainConfig:
    """The same run with the much cheaper binary MLP, for tests of the mechanics around the model."""
    return tiny(**{"model": "tfc-w1a1", "max_steps_per_epoch": 2, **overrides})


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """One complete tiny run, shared by the tests that only read it."""
    out = tmp_path_factory.mktemp("run")
    metrics = train(tiny(), out, quiet=True)
    return out, metrics


def _states_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@SHARED_RUN
def test_run_writes_checkpoint_metrics_config(finished_run):
    out, metrics = finished_run
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "config.json", "metrics.json"]
    on_disk = json.loads((out / "metrics.json").read_text())
    assert on_disk == json.loads(json.dumps(metrics))
    assert [r["epoch"] for r in on_disk["records"]] == [1, 2, 3]
    assert [r["step"] for r in on_disk["records"]] == [1, 2, 3]
    for rec in on_disk["records"]:
        assert set(rec) == {
            "epoch",
            "step",
            "steps",
            "train_loss",
            "train_acc",
            "test_loss",
            "test_acc",
            "lr",
            "seconds",
        }
    assert on_disk["done"] is True
    assert on_disk["final_test_acc"] == on_disk["records"][-1]["test_acc"]
    assert on_disk["final_test_acc"] > 0.3  # 10 classes: chance is 0.1
    assert load_config(out / "config.json") == tiny()
    ckpt = read_checkpoint(out)
    assert ckpt["done"] and ckpt["folded"] and ckpt["step"] == 3 and ckpt["epoch"] == 3
    assert {"optimizer", "scheduler", "rng", "train_config", "model_config", "quant_stats"} <= set(ckpt)


@SHARED_RUN
def test_load_checkpoint_reproduces_the_final_accuracy(finished_run):
    out, metrics = finished_run
    model, meta = load_checkpoint(out)
    assert not model.training and is_folded(model) and binary_weight_quant_enabled(model)
    assert meta["model_name"] == "dybnn-tiny" and meta["step"] == 3 and "model_state" not in meta
    data = get_dataset("synthetic", input_size=12, max_train_samples=256, max_test_samples=128)
    _, acc = evaluate(model, DataLoader(data.test, batch_size=50))
    assert acc == metrics["final_test_acc"]


@SHARED_RUN
def test_resuming_a_finished_run_is_a_noop(finished_run, capsys):
    out, metrics = finished_run
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert train(tiny(), out, resume=True) == metrics
    assert "already finished" in capsys.readouterr().err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert train(None, out, resume=True, quiet=True) == metrics  # the checkpoint's configuration


@SHARED_RUN
def test_existing_run_is_not_overwritten_silently(finished_run):
    out, _ = finished_run
    with pytest.raises(OutputDirError, match="already holds a run"):
        train(tiny(), out, quiet=True)


@SHARED_RUN
def test_interrupted_run_resumes_exactly(finished_run, tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_epoch = train_mod._train_epoch
    seen = []

    def killed_in_third_epoch(tr, epoch):
        if epoch == 2:
            raise KeyboardInterrupt("simulated kill")
        sums = real_epoch(tr, epoch)
        seen.append((epoch, binary_weight_quant_enabled(tr.model), is_folded(tr.model)))
        return sums

    monkeypatch.setattr(train_mod, "_train_epoch", killed_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(tiny(), out, quiet=True)
    # epoch 1 trained real weights, epoch 2 binary ones; the kill came before step 3 folded anything
    assert seen == [(0, False, False), (1, True, False)]
    ckpt = read_checkpoint(out)
    assert ckpt["epoch"] == 2 and not ckpt["done"] and ckpt["step"] == 2
    partial = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in partial["records"]] == [1, 2] and partial["done"] is False
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]

    monkeypatch.setattr(train_mod, "_train_epoch", real_epoch)
    metrics = train(tiny(), out, resume=True, quiet=True)
    assert [r["epoch"] for r in metrics["records"]] == [1, 2, 3]
    assert metrics["records"][:2] == partial["records"]
    # resuming continues bit for bit where an uninterrupted run would have been
    reference, _ = finished_run
    done = read_checkpoint(out)
    assert _states_equal(done["model_state"], read_checkpoint(reference)["model_state"])
    assert metrics["final_test_acc"] == json.loads((reference / "metrics.json").read_text())["final_test_acc"]


def test_resume_with_other_settings_names_them(tmp_path, monkeypatch):
    out = tmp_path / "run"
    real_epoch = train_mod._train_epoch

    def stop_after_one(tr, epoch):
        if epoch == 1:
            raise RuntimeError("stop")
        return real_epoch(tr, epoch)

    monkeypatch.setattr(train_mod, "_train_epoch", stop_after_one)
    with pytest.raises(RuntimeError):
        train(fast(), out, quiet=True)
    with pytest.raises(ConfigError, match=r"epochs=4 \(checkpoint: 3\)"):
        train(fast(epochs=4), out, resume=True, quiet=True)
    monkeypatch.setattr(train_mod, "_train_epoch", real_epoch)
    metrics = train(fast(num_threads=2), out, resume=True, quiet=True)  # runtime fields may change
    assert [r["epoch"] for r in metrics["records"]] == [1, 2, 3]


def test_one_epoch_runs_all_three_steps(tmp_path):
    metrics = train(tiny(epochs=1, max_steps_per_epoch=6), tmp_path / "run", quiet=True)
    assert metrics["records"][0]["steps"] == [1, 2, 3]
    assert metrics["step_batches"] == {"1": [0, 3], "2": [3, 5], "3": [5, 6]}
    assert read_checkpoint(tmp_path / "run")["folded"]


def test_unwritable_output_dir_fails_before_anything(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setattr(train_mod, "get_dataset", lambda *a, **k: pytest.fail("data loaded before the check"))
    with pytest.raises(OutputDirError, match="is a file, not a directory"):
        train(tiny(), blocker / "run", quiet=True)
    with pytest.raises(OutputDirError, match="not a directory"):
        train(tiny(), blocker, quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@SHARED_RUN
def test_distillation_from_our_checkpoint_and_from_torchscript(finished_run, tmp_path):
    teacher_dir, _ = finished_run
    m = train(
        fast(epochs=1, max_steps_per_epoch=3, teacher=str(teacher_dir), kd_alpha=0.5, kd_temperature=2.0),
        tmp_path / "a",
        quiet=True,
    )
    assert m["done"] and m["records"][0]["train_loss"] > 0
    float_teacher = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 10)))
    float_teacher.save(str(tmp_path / "teacher.ts"))
    m = train(
        fast(epochs=1, max_steps_per_epoch=3, teacher=str(tmp_path / "teacher.ts")),
        tmp_path / "b",
        quiet=True,
    )
    assert m["done"]
    with pytest.raises(ConfigError, match="must be trained"):
        train(fast(teacher="dybnn-tiny"), tmp_path / "c", quiet=True)
    wrong = torch.jit.script(torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 7)))
    wrong.save(str(tmp_path / "wrong.ts"))
    with pytest.raises(ConfigError, match="teacher logits"):
        train(
            fast(epochs=1, max_steps_per_epoch=3, teacher=str(tmp_path / "wrong.ts")),
            tmp_path / "d",
            quiet=True,
        )
    assert not (tmp_path / "d").exists()  # refused before anything was written


def test_distillation_loss(rng):
    s = torch.from_numpy(rng.standard_normal((4, 10))).float()
    y = torch.from_numpy(rng.integers(0, 10, 4))
    assert float(distillation_loss(s, s.clone(), y)) == pytest.approx(0.0, abs=1e-6)
    ce = torch.nn.functional.cross_entropy(s, y)
    assert torch.allclose(distillation_loss(s, torch.zeros_like(s), y, alpha=0.0), ce)


def test_load_config_yaml_json_and_errors(tmp_path):
    (tmp_path / "a.yaml").write_text(
        "model: dybnn-tiny\ndataset: digits\nepochs: 5\nstep_split: [1, 1, 1]\nlr: 1e-3\n"
    )
    cfg = load_config(tmp_path / "a.yaml")
    assert cfg.epochs == 5 and cfg.step_split == (1.0, 1.0, 1.0) and cfg.batch_size == 64 and cfg.lr == 1e-3
    (tmp_path / "a.json").write_text(json.dumps(cfg.to_dict()))
    assert load_config(tmp_path / "a.json") == cfg
    (tmp_path / "b.yaml").write_text("model: dybnn-tiny\ndataset: digits\nepoch: 5\n")
    with pytest.raises(ConfigError, match="unknown configuration key.*'epoch'"):
        load_config(tmp_path / "b.yaml")
    (tmp_path / "c.yaml").write_text("dataset: digits\n")
    with pytest.raises(ConfigError, match="'model'"):
        load_config(tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):
        TrainConfig(model="resnet", dataset="digits")
    (tmp_path / "d.yaml").write_text("model: dybnn-tiny\ndataset: digits\nepochs: three\n")
    with pytest.raises(ConfigError, match="'epochs' must be an integer, got 'three'"):
        load_config(tmp_path / "d.yaml")
    with pytest.raises(ConfigError, match="kd_alpha"):
        TrainConfig(model="dybnn-tiny", dataset="digits", kd_alpha=2.0)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_data_parallel_run_under_torchrun(tmp_path):
    cfg = tiny(max_steps_per_epoch=2, batch_size=16)
    (tmp_path / "cfg.json").write_text(json.dumps(cfg.to_dict()))
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "training.train", str(tmp_path / "cfg.json"), str(out), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["done"]
    assert [r["epoch"] for r in metrics["records"]] == [1, 2, 3]
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "config.json", "metrics.json"]
    model, meta = load_checkpoint(out)
    assert meta["world_size"] == 2 and is_folded(model)
