"""``dybnn study`` with config variants: entry parsing, the run directories and settings of each variant, reuse
of finished runs, and (slow) a whole study whose variant's hardware follows its config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dybnn.errors import UserError
from dybnn.study import parse_entries, parse_entry, train_all
from runfiles import layout as L


def test_entries_name_model_and_overrides() -> None:
    e = parse_entry("dybnn-tiny:hyper_delta_bits=4:lr=0.002:hyper_squash=tanh")
    assert (e.model, dict(e.overrides)) == (
        "dybnn-tiny",
        {"hyper_delta_bits": 4, "lr": 0.002, "hyper_squash": "tanh"},
    )
    assert e.name == "dybnn-tiny:hyper_delta_bits=4:lr=0.002:hyper_squash=tanh" and ":" not in e.dirname
    assert (e.dynamic, e.kind) == (True, "variant")
    assert [(x.kind, x.dynamic) for x in parse_entries("reactnet-tiny, dybnn-tiny")] == [
        ("static", False),
        ("dynamic", True),
    ]
    with pytest.raises(UserError, match="twice"):
        parse_entries("dybnn-tiny:lr=1,dybnn-tiny:lr=1")
    with pytest.raises(UserError, match="given twice"):
        parse_entry("dybnn-tiny:lr=1:lr=2")


def test_variant_runs_get_their_settings_and_finished_runs_are_reused_only_if_equal(
    tmp_path, monkeypatch
) -> None:
    """Each (entry, seed) trains in its own directory with the entry's overrides; a finished run is skipped when
    its settings are the study's, and refused (naming the directory) when they differ."""
    import subprocess

    calls = []

    class Done:
        returncode = 0

        def __init__(self, cmd, **kw):
            calls.append(cmd)
            (Path(cmd[4]) / L.METRICS_JSON).write_text(json.dumps({"final_test_acc": 0.5}))

        def poll(self):
            return 0

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", Done)
    entries = parse_entries("reactnet-tiny,dybnn-tiny:hyper_delta_bits=4")
    assert train_all(entries, [0, 1], 2, "digits", tmp_path, 2, {"augment_shift": 1}) == []
    assert len(calls) == 4
    cfg = json.loads((tmp_path / f"{entries[1].dirname}-s1" / L.STUDY_CONFIG_JSON).read_text())
    assert cfg["hyper_delta_bits"] == 4 and cfg["seed"] == 1 and cfg["model"] == "dybnn-tiny"
    assert "hyper_delta_bits" not in json.loads(
        (tmp_path / "reactnet-tiny-s0" / L.STUDY_CONFIG_JSON).read_text()
    )
    assert train_all(entries, [0, 1], 2, "digits", tmp_path, 2, {"augment_shift": 1}) == []
    assert len(calls) == 4  # all reused
    with pytest.raises(UserError, match="reactnet-tiny-s0: holds a finished run of other settings"):
        train_all(entries, [0], 3, "digits", tmp_path, 2, {"augment_shift": 1})


@pytest.mark.slow
def test_study_of_a_delta_variant_end_to_end(tmp_path, monkeypatch, capsys) -> None:
    """A short study (digits, one seed, three batches an epoch): the table, study.json and the figure are written,
    and the variant's export carries its 4-bit delta into the hardware graph."""
    from hwsim import nodes as N
    from hwsim.lower import lower
    from tests.cli_helpers import run_cli

    out = tmp_path / "s"
    code, stdout, err = run_cli(
        monkeypatch, capsys, "study", "--models",
        "dybnn-tiny:max_steps_per_epoch=3,dybnn-tiny:hyper_delta_bits=4:max_steps_per_epoch=3",
        "--seeds", "0", "--epochs", "1", "--dataset", "digits", "--augment-shift", "0", "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads((out / L.STUDY_JSON).read_text())
    kinds = {k: v["kind"] for k, v in doc["models"].items()}
    assert sorted(kinds.values()) == ["variant", "variant"]
    for name, rec in doc["models"].items():
        assert len(rec["acc"]) == 1 and rec["hw"]["lut"] > 0, name
    assert (out / "study_accuracy_vs_cost.png").read_bytes().startswith(b"\x89PNG")
    entry = parse_entry("dybnn-tiny:hyper_delta_bits=4:max_steps_per_epoch=3")
    g = lower(out / f"{entry.dirname}-s0" / L.MODEL_ONNX)
    bits = {n.hyper.act.bits for n in g.nodes if isinstance(n, (N.DynamicSign, N.DynamicPReLU))}
    assert bits == {4}
    assert "hyper_delta_bits=4" in stdout
