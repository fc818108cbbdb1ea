"""``dybnn rtl``: writes the project from a graph directory (atomically, rerunnable), refuses bad input with one
line, and with ``--sim`` prints the measured cycles beside the model's."""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import run_cli
from tests.rtl.cases import stream_graph


@pytest.fixture
def graph_dir(tmp_path, rng):
    g = stream_graph(rng)
    g.save(tmp_path / "hw")
    return tmp_path


def test_rtl_writes_project(graph_dir, monkeypatch, capsys):
    out = graph_dir / "prj"
    code, stdout, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "pynq-z1", "--clock-ns",
                                "10", "--out", str(out))  # fmt: skip
    assert code == 0, err
    doc = json.loads((out / "project.json").read_text())
    assert doc["format"] == "dybnn-rtl-project" and doc["top"] == "stream_top"
    top = (out / "top.sv").read_text()
    assert "module stream_top" in top and "ap_clk" in top
    assert [p["direction"] for p in doc["ports"]][0] == "in" and all(f["depth"] >= 2 for f in doc["fifos"])
    assert (out / "lib" / "dybnn_fifo.sv").is_file() and list((out / "mem").glob("*.mem"))
    (out / "notes.txt").write_text("mine")
    code, _, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "pynq-z1", "--clock-ns", "10",
                           "--out", str(out))  # fmt: skip
    assert code == 0, err
    assert (out / "notes.txt").read_text() == "mine"  # a rerun replaces only the project's own files


def test_rtl_bad_input(graph_dir, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "nopart", "--clock-ns", "10",
                           "--out", str(graph_dir / "p"))  # fmt: skip
    assert code == 2 and "nopart" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "pynq-z1", "--clock-ns", "-1",
                           "--out", str(graph_dir / "p"))  # fmt: skip
    assert code == 2 and "--clock-ns" in err
    (graph_dir / "taken").mkdir()
    (graph_dir / "taken" / "x.txt").write_text("x")
    code, _, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "pynq-z1", "--clock-ns", "10",
                           "--out", str(graph_dir / "taken"))  # fmt: skip
    assert code == 2 and "taken" in err


@pytest.mark.slow
@pytest.mark.rtl
def test_rtl_sim(graph_dir, monkeypatch, capsys):
    from tests.rtl.helpers import needs_verilator

    needs_verilator()
    code, out, err = run_cli(monkeypatch, capsys, "rtl", str(graph_dir), "--part", "pynq-z1", "--clock-ns", "10",
                             "--out", str(graph_dir / "prj"), "--sim", "--samples", "3")  # fmt: skip
    assert code == 0, err
    assert "PASS: 3 frame(s), 0 mismatching" in out and "random gaps and back-pressure" in out
    line = next(ln for ln in out.splitlines() if ln.startswith("cycles per frame"))
    rtl, model = line.split("RTL ")[1].split(",")[0], line.split("model ")[1]
    assert rtl == model, out
    # the measurements, in the project and (MODEL is a run directory) in the run directory for the report
    from reports.build import summarize
    from runfiles.records import RtlSimRecord

    for d in (graph_dir / "prj", graph_dir):
        rec = RtlSimRecord.from_json(json.loads((d / "rtl_sim.json").read_text()))
        assert (
            rec.ok and rec.stress_ok and str(rec.cycles_per_frame) == rtl == str(rec.model_cycles_per_frame)
        )
        assert len(rec.fifos) == len(json.loads((graph_dir / "prj" / "project.json").read_text())["fifos"])
    (sec,) = [s for s in summarize(graph_dir).sections if s.step == "rtl"]
    assert sec.status == "done" and sec.tables[0].rows[0][1] == f"{int(rtl):,}"
