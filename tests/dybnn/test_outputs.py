"""Nothing lost: every verb that writes into a directory replaces only the files it owns (data-loss cases first)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from runfiles.outputs import (
    OutputError,
    atomic_write_text,
    file_sha256,
    made_from,
    manifest_path,
    owned_files_intact,
    read_manifest,
    write_owned,
)
from tests.cli_helpers import run_cli
from tests.dybnn.conftest import snapshot
from tests.hwsim.graphs import resblock_graph

RUN_FILES = ("checkpoint.pt", "config.json", "metrics.json", "model.onnx")


def test_lower_into_the_run_directory_keeps_the_run(tiny_run, monkeypatch, capsys):
    """`dybnn lower runA/model.onnx --out runA` used to replace runA: checkpoint, model and metrics were gone."""
    (tiny_run / "notes.txt").write_text("mine")
    before = snapshot(tiny_run)
    code, out, err = run_cli(
        monkeypatch, capsys, "lower", str(tiny_run / "model.onnx"), "--out", str(tiny_run)
    )
    assert code == 0, err
    after = snapshot(tiny_run)
    for name, data in before.items():
        assert after[name] == data, f"{name} changed"
    assert {"graph.json", "params.npz", ".dybnn-lower.json"} <= set(after)
    assert made_from(tiny_run, "lower")["onnx_sha256"] == file_sha256(tiny_run / "model.onnx")
    # a second lowering replaces its own two files and still nothing else
    code, _, err = run_cli(monkeypatch, capsys, "lower", str(tiny_run / "model.onnx"), "--out", str(tiny_run))
    assert code == 0, err
    assert all(snapshot(tiny_run)[n] == before[n] for n in (*RUN_FILES, "notes.txt"))


def test_graph_save_keeps_foreign_files(tmp_path, rng):
    d = tmp_path / "hw"
    d.mkdir()
    (d / "README").write_text("keep me")
    g = resblock_graph(rng)
    g.save(d, made_from={"onnx_sha256": "abc"})
    assert (d / "README").read_text() == "keep me"
    assert owned_files_intact(d, "lower") and made_from(d, "lower") == {"onnx_sha256": "abc"}
    (d / "params.npz").write_bytes(b"tampered")
    assert not owned_files_intact(d, "lower")


def test_write_owned_replaces_and_removes_only_its_own_files(tmp_path):
    d = tmp_path / "out"
    write_owned(d, "t", lambda t: [(t / n).write_text(n) for n in ("a", "b")] and None)
    (d / "user.txt").write_text("user")
    (d / "build").mkdir()
    (d / "build" / "obj.o").write_text("o")

    def second(t):
        (t / "a").write_text("A2")
        (t / "sub").mkdir()
        (t / "sub" / "c").write_text("c")

    write_owned(d, "t", second, {"x": 1})
    assert sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file()) == [
        ".dybnn-t.json", "a", "build/obj.o", "sub/c", "user.txt",
    ]  # fmt: skip
    assert (d / "a").read_text() == "A2" and (d / "user.txt").read_text() == "user"
    assert set(read_manifest(d, "t")["files"]) == {"a", "sub/c"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary directory left


def test_interrupted_write_owned_changes_nothing(tmp_path):
    d = tmp_path / "out"
    write_owned(d, "t", lambda t: (t / "a").write_text("old") and None)
    before = snapshot(d)

    def dies(t):
        (t / "a").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_owned(d, "t", dies)
    assert snapshot(d) == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_write_owned_refuses_a_file_and_a_foreign_directory(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        write_owned(f, "t", lambda t: None)
    d = tmp_path / "foreign"
    d.mkdir()
    (d / "x").write_text("x")
    with pytest.raises(OutputError, match="not written by dybnn t"):
        write_owned(d, "t", lambda t: None, claim=lambda p: False)
    assert (d / "x").read_text() == "x" and f.read_text() == "x"


def test_atomic_write_leaves_no_partial_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    from runfiles.outputs import atomic_write

    with pytest.raises(RuntimeError), atomic_write(p) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("disk full")
    assert p.read_text() == "one" and [q.name for q in tmp_path.iterdir()] == ["a.txt"]


def test_hls_rerun_keeps_user_files_and_refuses_foreign_dirs(tmp_path, rng):
    from hls.project import ProjectError, write_project

    g = resblock_graph(rng)
    prj = tmp_path / "prj"
    write_project(g, prj, "xc7z020clg400-1", 10.0)
    (prj / "notes.md").write_text("my notes")
    (prj / "build").mkdir()
    (prj / "build" / "csim").write_text("binary")
    owned = set(read_manifest(prj, "hls")["files"])
    assert "project.json" in owned and "top.cpp" in owned
    write_project(g, prj, "xc7z020clg400-1", 5.0)
    assert (prj / "notes.md").read_text() == "my notes" and (prj / "build" / "csim").exists()
    assert json.loads((prj / "project.json").read_text())["clock_ns"] == 5.0
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.bin").write_bytes(b"1")
    with pytest.raises(ProjectError, match="not a dybnn HLS project"):
        write_project(g, foreign, "xc7z020clg400-1", 10.0)
    assert [p.name for p in foreign.iterdir()] == ["data.bin"]


def test_hls_cli_rerun_keeps_user_files(tmp_path, rng, monkeypatch, capsys):
    g = resblock_graph(rng)
    g.save(tmp_path / "hw")
    prj = tmp_path / "prj"
    args = ["hls", str(tmp_path), "--part", "pynq-z1", "--clock-ns", "10", "--out", str(prj)]
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    (prj / "notes.txt").write_text("n")
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    assert (prj / "notes.txt").read_text() == "n"
    assert manifest_path(prj, "hls").is_file()


def test_file_sha256_follows_content(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(np.arange(10, dtype=np.uint8).tobytes())
    a = file_sha256(p)
    p.write_bytes(b"other")
    assert file_sha256(p) != a and file_sha256(tmp_path / "none") is None
