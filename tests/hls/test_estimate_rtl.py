"""The RTL backend of the estimator (hls/estimate/rtl.py, ``dybnn estimate --backend rtl``): the structural rules
Yosys's mapping follows, configurations of the sweep pinned to the Yosys counts recorded by
``benchmarks/bench_rtl_estimate.py`` (docs/estimation.md), one small module synthesized, and the CLI."""

from __future__ import annotations

import json

import pytest

from hls.estimate.rtl import RomContents, dsp_of, estimate_rtl, estimate_unit, lutram_luts
from tests.cli_helpers import run_cli

PYNQ = "xc7z020clg400-1"
ZCU = "xczu7ev-ffvc1156-2-e"


def test_dsp_rule():
    # mul2dsp: both operands at least 2 bits, the kept product at least 9 bits; 25x18 (xc7) / 27x18 (xcup) tiles
    assert dsp_of(8, 8, "xc7") == 1
    assert dsp_of(5, 4, "xc7", 8) == 0  # an 8-bit result stays in LUTs
    assert dsp_of(8, 1, "xc7") == 0
    assert dsp_of(33, 4, "xc7") == 2 and dsp_of(33, 4, "xcup") == 2
    assert dsp_of(26, 8, "xcup") == 1 and dsp_of(26, 8, "xc7") == 2


def test_rom_columns_constant_and_shared():
    words = [
        0b0101,
        0b0111,
        0b0101,
        0b0111,
    ]  # bit 0 constant 1, bit 1 varies, bit 2 = bit 0, bit 3 constant 0
    assert RomContents.of(words, 4, 4).columns == 1
    assert RomContents.of(None, 4, 4).columns == 4


def test_lutram_primitives():
    assert lutram_luts(32, 6, "xc7") == 4  # one RAM32M
    assert lutram_luts(64, 3, "xc7") == 4  # one RAM64M
    assert lutram_luts(32, 14, "xcup") == 8  # one RAM32M16


def test_unknown_module_is_named():
    with pytest.raises(ValueError, match="dybnn_nosuch"):
        estimate_unit("dybnn_nosuch", {}, PYNQ)


def test_estimate_rtl_sums_its_instances(rng):
    from hls.devices import resolve_part
    from tests.rtl.cases_d2 import dynamic_graph, varied_folding

    g = dynamic_graph(rng, c=6, hw=4)
    f = varied_folding(g, rng)
    est = estimate_rtl(g, f, 10.0, resolve_part("pynq-z1"))
    parts = [n.resources for n in est.nodes] + [x.resources for x in est.fifos]
    assert est.totals.rounded() == sum((r for r in parts[1:]), parts[0]).rounded()
    assert {n.name for n in est.nodes} >= {n.name for n in g.nodes}
    # every dynamic unit has its hyper function's multipliers in DSP48s (8-bit statistics x 8-bit weights)
    for n in est.nodes:
        if n.op_type.startswith("Dynamic"):
            assert n.resources.dsp >= 1, n.name


def test_cli_backend_rtl(tmp_path, rng, monkeypatch, capsys):
    from hls.folding import to_json
    from tests.rtl.cases_d2 import dynamic_graph, varied_folding

    g = dynamic_graph(rng, c=6, hw=4)
    g.save(tmp_path / "run" / "hw")
    (tmp_path / "fold.json").write_text(json.dumps(to_json(varied_folding(g, rng))))
    args = ("estimate", str(tmp_path / "run"), "--folding", str(tmp_path / "fold.json"), "--json")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--backend", "rtl")
    assert code == 0, err
    rtl = json.loads(out)
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    hls = json.loads(out)
    assert rtl["backend"] == "rtl" and hls["backend"] == "hls"
    assert rtl["fps"] == hls["fps"] and rtl["latency_cycles"] == hls["latency_cycles"]  # one timing model
    assert rtl["totals"] != hls["totals"]
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path / "run"), "--backend", "rtl")
    assert code == 0 and "backend rtl" in out and "static RSign/RPReLU vs dynamic" in out
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path / "run"), "--backend", "rtl",
                             "--params", "ram")  # fmt: skip
    assert code == 2 and err.splitlines()[-1].startswith("error: --backend rtl")
