"""Fixtures of the CLI tests: a tiny trained run (binary MLP on synthetic data, a few seconds) and a helper that
runs ``dybnn`` in process the way the console script does."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: the cheapest real run: tfc-w1a1 on synthetic 28x28 images, one epoch of three batches (all three steps)
TINY_TRAIN = ["--model", "tfc-w1a1", "--dataset", "synthetic", "--epochs", "1", "--max-steps-per-epoch", "3"]


@pytest.fixture(scope="session")
def tiny_run_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run directory (checkpoint.pt, config.json, metrics.json, model.onnx); do not modify."""
    import torch

    from dybnn.cli import cli

    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("tiny") / "run"
    try:
        cli.main(["--quiet", "train", *TINY_TRAIN, "--out", str(d), "--quiet"], standalone_mode=False)
    except SystemExit as e:  # pragma: no cover - train returns normally
        assert not e.code
    assert (d / "model.onnx").is_file()
    return d


@pytest.fixture
def tiny_run(tiny_run_master: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny run."""
    d = tmp_path / "run"
    shutil.copytree(tiny_run_master, d)
    return d


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its content (to check that nothing changed)."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
