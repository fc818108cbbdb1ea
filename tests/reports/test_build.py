"""``build_report``: a self-contained HTML page and a Markdown summary whose numbers are the JSON's."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import numpy as np
import pytest

from reports.build import HTML_NAME, SUMMARY_NAME, build_report, summarize
from reports.fmt import parse_number
from reports.run import STEP_FILES, load_run, step_command
from reports.sections import threshold_stats
from tests.reports import synthetic as S

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def md_tables(text: str) -> dict[str, list[dict[str, str]]]:
    """``**title**`` -> rows (header -> cell) of every titled Markdown table, plus ``Flow``."""
    tables: dict[str, list[dict[str, str]]] = {}
    lines = text.splitlines()
    title = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if m := re.fullmatch(r"\*\*(.+)\*\*", line):
            title = m.group(1)
        elif line.startswith("## ") and not line[3].isdigit():
            title = line[3:]
        elif line.startswith("| ") and title is not None:
            header = [c.strip() for c in line.strip("|").split(" | ")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("| "):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip()[1:-1])]
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
            tables[title] = rows
            title = None
            continue
        i += 1
    return tables


def pct(cell: str) -> float:
    assert cell.endswith(" %"), cell
    return parse_number(cell)


def test_writes_both_files_atomically(run_dir: Path, fast_png: None) -> None:
    html = build_report(run_dir)
    assert html == run_dir / HTML_NAME
    assert (run_dir / SUMMARY_NAME).is_file()
    leftovers = [p.name for p in run_dir.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert leftovers == []


def test_out_dir(run_dir: Path, tmp_path: Path, fast_png: None) -> None:
    out = tmp_path / "elsewhere" / "rep"
    html = build_report(run_dir, out)
    assert html == out / HTML_NAME and (out / SUMMARY_NAME).is_file()
    assert not (run_dir / HTML_NAME).exists()


def test_html_is_self_contained(run_dir: Path) -> None:
    text = build_report(run_dir).read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "<script" not in text.lower() and "<link" not in text.lower() and "@import" not in text
    assert "<style>" in text
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert len(srcs) == 11  # training, verification, 3 estimate, 2 x 2 threshold, 2 study
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC)
    hrefs = re.findall(r'href="([^"]+)"', text)
    assert hrefs and all(h.startswith("#") for h in hrefs)
    assert "could not be drawn" not in text


def test_summary_numbers_match_json(run_dir: Path, fast_png: None) -> None:
    build_report(run_dir)
    tables = md_tables((run_dir / SUMMARY_NAME).read_text(encoding="utf-8"))
    est, ver, met, cs, st = S.estimates(), S.verify(), S.metrics(), S.csim(), S.study()

    layers = tables["Per layer (cycles per frame)"]
    assert [r["layer"] for r in layers] == [r["name"] for r in est["layers"]]
    for row, rec in zip(layers, est["layers"], strict=True):
        assert row["type"] == rec["type"]
        for col, key in (
            ("PE", "pe"),
            ("SIMD", "simd"),
            ("cycles", "cycles"),
            ("LUT", "lut"),
            ("FF", "ff"),
            ("BRAM18", "bram18"),
            ("URAM", "uram"),
            ("DSP", "dsp"),
        ):
            assert parse_number(row[col]) == rec[key], (rec["name"], col)

    for row in tables["Totals"]:
        key = row["resource"].lower()
        assert parse_number(row["accelerator (totals)"]) == est["totals"][key]
        assert parse_number(row["system (system_totals)"]) == est["system_totals"][key]
        assert parse_number(row["available"]) == est["device"]["capacity"][key]
        u = est["utilization"][key]
        assert row["utilization"] == "n/a" if u is None else pct(row["utilization"]) == round(100 * u, 1)

    svd = {r["metric"]: r for r in tables["Cost of dynamic thresholds (`static_vs_dynamic`)"]}
    assert (
        parse_number(svd["BRAM18"]["static (RSign)"])
        == est["static_vs_dynamic"]["static"]["system_totals"]["bram18"]
    )
    assert (
        parse_number(svd["latency (cycles)"]["dynamic (DySign)"])
        == est["static_vs_dynamic"]["dynamic"]["latency_cycles"]
    )

    pairs = tables["Level pairs"]
    for row, p in zip(pairs, ver["pairs"], strict=True):
        assert row["pair"] == f"{p['a']} vs {p['b']}"
        for col in ("tensors", "elements", "mismatches"):
            assert parse_number(row[col]) == p[col]

    for row, r in zip(tables["Per epoch"], met["records"], strict=True):
        assert int(row["epoch"]) == r["epoch"] and int(row["step"]) == r["step"]
        assert parse_number(row["train loss"]) == round(r["train_loss"], 4)
        assert parse_number(row["test loss"]) == round(r["test_loss"], 4)
        assert pct(row["train acc"]) == round(100 * r["train_acc"], 2)
        assert pct(row["test acc"]) == round(100 * r["test_acc"], 2)
        assert float(row["lr"]) == pytest.approx(r["lr"], rel=1e-2)
        assert parse_number(row["time"]) == round(r["seconds"], 1)

    for row in tables["Cycles per frame"]:
        assert parse_number(row["counted cycles (C-sim)"]) == cs["cycles"][row["node"]]
        assert parse_number(row["expected cycles (estimate)"]) == cs["expected_cycles"][row["node"]]
        assert row["equal"] == "yes"

    models = {r["model"]: r for r in tables["Models"]}
    for name, m in st["models"].items():
        row = models[name]
        assert pct(row["mean"]) == round(100 * m["mean"], 2)
        assert [pct(c) for c in row["test acc per seed"].split(", ")] == [round(100 * a, 2) for a in m["acc"]]
        assert parse_number(row["LUT"]) == m["hw"]["lut"]
        assert parse_number(row["FPS"]) == round(m["hw"]["fps"], 1)
        assert parse_number(row["latency (cycles)"]) == m["hw"]["latency_cycles"]

    th = S.thresholds()
    for row in tables["Per site"]:
        stats = threshold_stats(th, row["site"])
        assert parse_number(row["channels"]) == th[f"{row['site']}.thresholds"].shape[1]
        assert parse_number(row["tau min"]) == round(float(th[f"{row['site']}.tau"].min()), 4)
        assert parse_number(row["spread"]) == round(stats["spread"], 4)

    flow = {r["step"]: r for r in tables["Flow"]}
    assert all(r["status"] == "done" for r in flow.values())
    assert f"test acc {100 * met['final_test_acc']:.2f} %" in flow["train"]["key numbers"]
    assert f"LUT {est['totals']['lut']:,}" in flow["estimate"]["key numbers"]
    assert f"BRAM18 {est['totals']['bram18']:,}" in flow["estimate"]["key numbers"]
    assert f"DSP {est['totals']['dsp']:,}" in flow["estimate"]["key numbers"]
    assert f"{est['fps']:,.1f} FPS" in flow["estimate"]["key numbers"]
    assert flow["hls"]["key numbers"].startswith("pass")
    assert flow["verify"]["key numbers"] == "3 pairs, 0 mismatches"


def test_html_shows_the_same_numbers(run_dir: Path, fast_png: None) -> None:
    text = build_report(run_dir).read_text(encoding="utf-8")
    md = (run_dir / SUMMARY_NAME).read_text(encoding="utf-8")
    for row in md_tables(md)["Per layer (cycles per frame)"]:
        cells = "".join(f'<td class="{a}">{row[h]}</td>' for h, a in zip(row, "ll" + "r" * 8, strict=True))
        assert cells in text


@pytest.mark.parametrize("step", list(STEP_FILES))
def test_missing_step_names_its_command(run_dir: Path, step: str, fast_png: None) -> None:
    (run_dir / STEP_FILES[step]).unlink()
    build_report(run_dir)
    md = (run_dir / SUMMARY_NAME).read_text(encoding="utf-8")
    html = (run_dir / HTML_NAME).read_text(encoding="utf-8")
    cmd = step_command(step, run_dir)
    assert f"run `{cmd}`" in md
    assert cmd.split()[0] == "dybnn" and cmd.split()[1] in cmd
    assert f"<code>{cmd}</code>" in html.replace("&#x27;", "'")
    flow = {r["step"]: r for r in md_tables(md)["Flow"]}
    assert flow[step]["status"] == "missing"
    assert sum(r["status"] == "missing" for r in flow.values()) == 1


def test_estimate_hint_is_the_documented_command(tmp_path: Path, fast_png: None) -> None:
    d = S.write_run(tmp_path / "r", skip=("estimate",))
    md = (build_report(d).parent / SUMMARY_NAME).read_text()
    assert (
        f"No estimate found: run `dybnn estimate {d}/model.onnx --part xc7z020clg400-1 --clock-ns 10 --json "
        f"--out {d}/estimates.json`"
    ) in md


def test_empty_run_dir(tmp_path: Path) -> None:
    d = tmp_path / "empty"
    d.mkdir()
    html = build_report(d).read_text()
    assert "<img" not in html
    flow = md_tables((d / SUMMARY_NAME).read_text())["Flow"]
    assert [r["status"] for r in flow] == ["missing"] * len(STEP_FILES)


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        build_report(tmp_path / "nope")


def test_unreadable_files_are_reported(run_dir: Path, fast_png: None) -> None:
    (run_dir / "verify.json").write_text("{not json")
    (run_dir / "thresholds.npz").write_bytes(b"garbage")
    (run_dir / "estimates.json").write_text("[1, 2]")
    build_report(run_dir)
    flow = {r["step"]: r for r in md_tables((run_dir / SUMMARY_NAME).read_text())["Flow"]}
    assert (
        flow["verify"]["status"] == flow["thresholds"]["status"] == flow["estimate"]["status"] == "unreadable"
    )
    assert flow["train"]["status"] == "done"
    run = load_run(run_dir)
    assert "verify.json" in run.errors["verify"] and "JSON object" in run.errors["estimate"]


def test_failures_are_flagged(run_dir: Path, fast_png: None) -> None:
    (run_dir / "verify.json").write_text(json.dumps(S.verify(mismatch=True)))
    (run_dir / "hls" / "csim.json").write_text(json.dumps(S.csim(ok=False)))
    md = (build_report(run_dir).parent / SUMMARY_NAME).read_text()
    tables = md_tables(md)
    flow = {r["step"]: r for r in tables["Flow"]}
    assert flow["verify"]["status"] == "failed" and flow["verify"]["key numbers"] == "3 pairs, 3 mismatches"
    assert flow["hls"]["status"] == "failed" and flow["hls"]["key numbers"].startswith("FAIL")
    first = tables["Level pairs"][2]["first mismatch"]
    assert first == "node b0_conv3x3, tensor b0_conv3x3_out, index [0, 3, 4, 7]: 12 vs 10"
    assert "LEVELS DIFFER" in md


def test_metrics_variants(run_dir: Path, fast_png: None) -> None:
    """``epochs`` as the list of records; a run still training; NaN losses."""
    m = S.metrics("epochs")
    m["done"] = False
    del m["final_test_acc"]
    m["epochs"][0]["test_loss"] = float("nan")
    (run_dir / "metrics.json").write_text(json.dumps(m))
    report = summarize(run_dir)
    train = report.sections[0]
    assert train.status == "incomplete"
    assert train.key_numbers == f"test acc {100 * m['epochs'][-1]['test_acc']:.2f} %, 5 epochs"
    md = (build_report(run_dir).parent / SUMMARY_NAME).read_text()
    assert md_tables(md)["Per epoch"][0]["test loss"] == "n/a"


def test_csim_in_a_project_subdirectory(run_dir: Path) -> None:
    (run_dir / "hls" / "csim.json").rename(run_dir / "hls" / "x.json")
    (run_dir / "hls" / "dybnn_tiny").mkdir()
    (run_dir / "hls" / "x.json").rename(run_dir / "hls" / "dybnn_tiny" / "csim.json")
    report = summarize(run_dir)
    hls = [s for s in report.sections if s.step == "hls"][0]
    assert hls.status == "done" and hls.source == "hls/dybnn_tiny/csim.json"


def test_thresholds_npz_roundtrip(run_dir: Path) -> None:
    run = load_run(run_dir)
    ref = S.thresholds()
    assert run.thresholds is not None
    assert list(run.thresholds["sites"]) == list(ref["sites"])
    for k, v in ref.items():
        np.testing.assert_array_equal(run.thresholds[k], v)


def _rtl_sim(ok: bool = True) -> dict:
    """An ``rtl_sim.json`` as ``dybnn rtl RUN_DIR --sim`` writes it (``RtlSimRecord``)."""
    from runfiles.records import RtlFifoRow, RtlSimRecord

    fifos = [RtlFifoRow("q", "inq", "conv0", 30, 30, "srl"), RtlFifoRow("s_b", "dup0", "add1", 340, 339, "block"),
             RtlFifoRow("y", "fc", None, 2, 1, "srl")]  # fmt: skip
    return RtlSimRecord(graph="dybnn-tiny", part="xc7z020clg400-1", clock_ns=10.0, frames=3,
                        mismatches=0 if ok else 5, ok=ok, cycles_per_frame=1854, model_cycles_per_frame=1854,
                        latency_cycles=4185, model_latency_cycles=4185, build_seconds=37.5, run_seconds=0.06,
                        cycles_per_second=2.3e5, fifos=fifos, stress_ok=ok).to_json()  # fmt: skip


def test_rtl_section_only_with_a_simulation(run_dir: Path) -> None:
    """No rtl_sim.json: no RTL section (it is not a flow step); with one: measured cycles, latency and every FIFO's
    occupancy beside the model's, the same numbers as the file; a malformed file names the field."""
    assert [s for s in summarize(run_dir).sections if s.step == "rtl"] == []
    doc = _rtl_sim()
    (run_dir / "rtl_sim.json").write_text(json.dumps(doc))
    report = summarize(run_dir)
    (rtl,) = [s for s in report.sections if s.step == "rtl"]
    assert rtl.status == "done" and rtl.source == "rtl_sim.json"
    cycles, fifos = rtl.tables
    assert cycles.rows[0][1:] == ("1,854", "1,854", "yes") and cycles.rows[1][1:] == ("4,185", "4,185", "yes")
    assert [(r[0], parse_number(r[3]), parse_number(r[4])) for r in fifos.rows] == [
        (f["tensor"], f["depth"], f["max_level"]) for f in doc["fifos"]
    ]
    assert "1 of 3 FIFOs were full" in " ".join(rtl.paragraphs)
    (run_dir / "rtl_sim.json").write_text(json.dumps(_rtl_sim(ok=False)))
    assert [s.status for s in summarize(run_dir).sections if s.step == "rtl"] == ["failed"]
    doc["fifos"][1]["max_level"] = "x"
    (run_dir / "rtl_sim.json").write_text(json.dumps(doc))
    (rtl,) = [s for s in summarize(run_dir).sections if s.step == "rtl"]
    assert (
        rtl.status == "unreadable"
        and "rtl_sim.json: field fifos[1].max_level: expected an integer" in (rtl.paragraphs[0])
    )
