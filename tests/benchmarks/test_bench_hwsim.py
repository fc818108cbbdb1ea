"""The hwsim benchmark script: its timing protocol and its layer cases on small shapes (outputs checked equal)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("numba")

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_hwsim.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_hwsim", PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def fake_clock(bench, durations):
    """A clock that advances by the duration of the call in progress (``durations`` keyed by side)."""
    state = {"t": 0.0}
    bench.CLOCK[0] = lambda: state["t"]
    calls = {"base": 0, "ours": 0}

    def side(name):
        def call():
            state["t"] += durations[name](calls[name])
            calls[name] += 1

        return call

    return side("base"), side("ours"), calls


def test_blocks_keep_switch_over_calls_apart(bench):
    # the first call of each side in a round is slow (caches full of the other side's data)
    base, ours, calls = fake_clock(
        bench, {"base": lambda i: 10.0, "ours": lambda i: 5.0 if i % 4 == 0 else 1.0}
    )
    try:
        t = bench.timed_pair(base, ours, repeats=3, warmup=0, block=4)
    finally:
        bench.CLOCK[0] = bench.time.perf_counter
    assert calls == {"base": 12, "ours": 12}
    assert (t.base, t.ours, t.ours_min) == (10.0, 1.0, 1.0)
    assert t.ours_switch == 5.0 and t.base_switch == 10.0
    rec = bench.record("x", "y", t)
    assert rec["speedup"] == 10.0 and rec["speedup_switch_over"] == 2.0


def test_block_of_one_alternates(bench):
    base, ours, calls = fake_clock(bench, {"base": lambda i: 2.0, "ours": lambda i: float(i + 1)})
    try:
        t = bench.timed_pair(base, ours, repeats=5, warmup=1, block=1)
    finally:
        bench.CLOCK[0] = bench.time.perf_counter
    assert calls == {"base": 6, "ours": 6}
    assert t.ours == 4.0 and math.isnan(t.ours_switch)  # calls 2..6 after the warm-up one
    assert "speedup_switch_over" not in bench.record("x", "y", t)


def test_small_layer_cases_check_torch(bench):
    rng = np.random.default_rng(0)
    conv = bench.bench_conv("c", 70, 65, 5, 3, 2, 2, rng)  # channel counts that are not multiples of 64
    dense = bench.bench_dense("d", 130, 70, 3, 2, rng)
    for rec in (conv, dense):
        assert rec["speedup"] > 0 and rec["baseline_ms"] > 0 and rec["hwsim_ms"] > 0
        assert {"name", "baseline", "baseline_ms", "hwsim_ms", "speedup"} <= rec.keys()
