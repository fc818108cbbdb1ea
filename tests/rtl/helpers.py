"""Shared helpers of the RTL tests: write a design, simulate it with Verilator and check it against hwsim and
the timing model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hls.folding import Fold
from hwsim.graph import HwGraph
from rtl.project import write_rtl_project
from rtl.sim import SimResult, run_sim

PART = "xc7z020clg400-1"


def needs_verilator() -> None:
    try:
        from rtl.sim import verilator_root

        verilator_root()
    except Exception as e:  # noqa: BLE001 - any reason means "cannot run here"
        pytest.skip(f"verilator: {e}")


def check_design(
    tmp: Path,
    g: HwGraph,
    folding: dict[str, Fold],
    x: np.ndarray,
    *,
    gaps: bool = True,
    timed: bool = True,
    seed: int = 0,
    probes: str | None = None,
) -> SimResult:
    """Write ``g`` at ``folding``, simulate ``x``: every output exact; without gaps or back-pressure the
    steady-state cycles per frame equal the timing model; with random gaps and back-pressure still exact.
    ``probes="all"`` makes every intermediate tensor an output port too (compared as well)."""
    needs_verilator()
    prj = write_rtl_project(g, tmp / "prj", PART, 10.0, folding, probes=probes)
    res = run_sim(prj, g, x)
    for t, m in res.mismatches.items():
        np.testing.assert_array_equal(res.outputs[t], res.expected[t], err_msg=f"output {t}")
        assert m == 0
    if timed and len(x) >= 3:
        assert res.cycles_per_frame == res.model_cycles_per_frame, res.summary()
    if timed:  # first-frame latency within 5 % of the timing model's (the estimator's)
        assert abs(res.latency - res.model_latency) <= 0.05 * res.model_latency, res.summary()
    if gaps:
        res2 = run_sim(prj, g, x, gaps=0.4, backpressure=0.4, seed=seed + 1, build_s=0.0)
        for t in res2.mismatches:
            np.testing.assert_array_equal(res2.outputs[t], res2.expected[t], err_msg=f"output {t} with gaps")
    return res
