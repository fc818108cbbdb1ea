"""Validation against published designs (docs/estimation.md; reproduce with benchmarks/validate_estimates.py).

Targets (issue "Estimators and folding"): system LUT and BRAM within 15 % of published numbers, frames per
second within 3 %. The pinned values keep docs/estimation.md honest: change them together.
"""

from __future__ import annotations

import time

import pytest

from hls.estimate.designs import VALIDATION, run_validation


@pytest.fixture(scope="module")
def results() -> dict:
    return {k: run_validation(k) for k in VALIDATION}


def test_lfc_within_targets(results) -> None:
    r = results["lfc_w1a1"]
    assert abs(r["error"]["lut"]) <= 0.15
    assert abs(r["error"]["bram18"]) <= 0.15
    # pinned (docs/estimation.md): 24,215 LUT, 220 BRAM18, 4 DSP vs published 28,360 / 220 / 4
    assert r["ours_system"]["lut"] == pytest.approx(24_215, rel=0.01)
    assert r["ours_system"]["bram18"] == 220
    assert r["ours_system"]["dsp"] == 4
    # FINN's formulas on the same design: +56 % LUT, -20 % BRAM against the published numbers
    assert r["finn_matrix"]["lut"] == 44_301 and r["finn_matrix"]["bram18"] == 175
    # throughput: the slowest layer is 512 cycles (config.h "Ext Latency")
    assert r["max_cycles"] == 512


def test_cnv_finn_examples_fps_within_3_percent(results) -> None:
    r = results["cnv_w1a1_finn_examples"]
    assert r["max_cycles"] == 32_768  # the FC layers: 512 * 256/4 and 512 * 512/8
    assert r["bottleneck"] in ("fc0", "fc1")
    assert abs(r["error"]["fps"]) <= 0.03
    assert r["fps"] == pytest.approx(3051.76, rel=1e-4)
    est = r["estimate"]
    cyc = {e.name: e.cycles for e in est.nodes}
    # the convolutions the issue asked about: conv0 (64/16)*(27/3)*900 and conv1 (64/32)*(576/32)*784
    assert cyc["conv0"] == 32_400 and cyc["conv1"] == 28_224


def test_cnv_bnn_pynq_documented_gap(results) -> None:
    """Informative case (not an acceptance target): LUT close, BRAM about half of the published count -- the
    gap docs/estimation.md explains. Pinned so the documentation stays in sync."""
    r = results["cnv_w1a1_bnn_pynq"]
    assert abs(r["error"]["lut"]) <= 0.15
    assert r["ours_system"]["lut"] == pytest.approx(23_724, rel=0.01)
    assert r["ours_system"]["bram18"] == pytest.approx(123, abs=3)
    assert -0.55 <= r["error"]["bram18"] <= -0.45


def test_big_graph_estimate_time() -> None:
    """dybnn-reactnet-a (hand-built at 224x224, 158 nodes): folding search + estimate + FINN reference +
    static
    comparison. The issue asks for < 2 s; asserted generously, the real number is printed."""
    from hls.devices import resolve_part
    from hls.estimate import GraphModel, finn_reference_estimate, folding_search
    from hls.estimate.designs import reactnet_a
    from hls.estimate.pipeline import config_for
    from hls.estimate.report import to_document

    g = reactnet_a(None, dynamic=True)
    dev = resolve_part("u250")
    t0 = time.perf_counter()
    m = GraphModel(g, config_for(dev))
    folding = folding_search(g, 5.0, target_fps=500, model=m)
    est = m.estimate(folding, 5.0, dev)
    doc = to_document(est, folding, g, finn_reference_estimate(g, folding)).to_json()
    elapsed = time.perf_counter() - t0
    print(f"\ndybnn-reactnet-a ({len(g.nodes)} nodes): search + estimate + document in {elapsed:.3f} s")
    assert "static_vs_dynamic" in doc
    assert elapsed < 5.0
