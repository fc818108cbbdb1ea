"""``dybnn estimate``: table, JSON schema, CSV, folding files, errors."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dybnn.cli import COMMANDS, cli
from dybnn.errors import UserError
from hls.estimate.designs import cnv_w1a1
from tests.hwsim.graphs import resblock_graph


@pytest.fixture
def run_dir(tmp_path, rng):
    resblock_graph(rng, c=16, hw=8).save(tmp_path / "run" / "hw")
    return tmp_path / "run"


def _invoke(*args: str):
    return CliRunner().invoke(cli, ["estimate", *args], catch_exceptions=True)


def test_registered() -> None:
    assert COMMANDS["estimate"][0] == "estimate"


def test_table_with_static_vs_dynamic(run_dir) -> None:
    r = _invoke(str(run_dir), "--part", "zcu104", "--clock-ns", "5", "--target-fps", "20000")
    assert r.exit_code == 0, r.output
    assert "bottleneck" in r.output and "static RSign/RPReLU vs dynamic" in r.output
    assert "FINN LUT" in r.output


def test_json_schema_and_folding_file(run_dir, tmp_path) -> None:
    out, fold = tmp_path / "est.json", tmp_path / "fold.json"
    r = _invoke(str(run_dir), "--part", "kv260", "--json", "--out", str(out), "--write-folding", str(fold))
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    for k in ("totals", "system_totals", "fps", "latency_cycles", "bottleneck", "layers", "folding", "device",
              "utilization", "fits", "static_vs_dynamic"):  # fmt: skip
        assert k in doc, k
    assert set(doc["totals"]) == {"lut", "ff", "bram18", "uram", "dsp"}
    assert {"name", "type", "pe", "simd", "cycles", "lut", "ff", "bram18", "uram", "dsp"} == set(
        doc["layers"][0]
    )
    assert doc["fits"] is True and doc["device"]["family"] == "xck26"
    # the written folding reproduces the same estimate when passed back
    r2 = _invoke(str(run_dir), "--part", "kv260", "--json", "--folding", str(fold))
    assert r2.exit_code == 0, r2.output
    assert json.loads(r2.output)["totals"] == doc["totals"]


def test_csv(tmp_path, rng) -> None:
    cnv_w1a1(rng).save(tmp_path / "hw")
    r = _invoke(str(tmp_path), "--csv", "--target-fps", "3000")
    assert r.exit_code == 0, r.output
    lines = r.output.strip().splitlines()
    assert lines[0] == "name,type,pe,simd,cycles,lut,ff,bram18,uram,dsp"
    assert lines[-1].startswith("(system)")


def test_unknown_part_is_a_user_error_listing_aliases(run_dir) -> None:
    r = _invoke(str(run_dir), "--part", "zcu999")
    assert isinstance(r.exception, UserError)
    assert "pynq-z1" in str(r.exception) and "u280" in str(r.exception)


def test_bad_folding_file_is_a_user_error(run_dir, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"conv1": {"pe": 3, "simd": 1}}))
    r = _invoke(str(run_dir), "--folding", str(bad))
    assert isinstance(r.exception, UserError) and "conv1" in str(r.exception)


def test_missing_graph_is_a_user_error(tmp_path) -> None:
    r = _invoke(str(tmp_path))
    assert isinstance(r.exception, UserError)


@pytest.mark.slow
def test_qonnx_input_through_the_lowering(tmp_path) -> None:
    """A real exported DyBNN (random init) goes through ``hwsim.lower`` into the estimate (skipped when the
    training/lowering stack is not importable)."""
    pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    export = pytest.importorskip("training.export")
    pytest.importorskip("hwsim.lower")
    onnx_path = export.export_random("dybnn-tiny", tmp_path, calib_steps=1)
    r = _invoke(str(onnx_path), "--part", "pynq-z1", "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["static_vs_dynamic"]["delta"]["bram18"] > 0
    assert any(layer["type"] == "DynamicSign" for layer in doc["layers"])
