"""The RTL back end's numbers of docs/rtl.md: Verilator build time, simulation speed, cycles per frame and
first-frame latency (RTL beside the timing model), and the FIFOs whose measured maximum occupancy is at their
depth or far below it, for whole designs.

    python benchmarks/bench_rtl.py                      # tfc, reactnet-tiny, dybnn-tiny, cnv
    python benchmarks/bench_rtl.py cnv --frames 3       # one design
    python benchmarks/bench_rtl.py --json out.json      # machine-readable too

Designs (random weights; the simulation is exact against hwsim or the script fails):

* ``tfc``: BNN-PYNQ ``tfc_1w1a`` (Brevitas model zoo), folding search for Pynq-Z1 at 10 ns;
* ``reactnet-tiny``, ``dybnn-tiny``: ``training.export.export_random`` (4 calibration steps), lowered, folding
  search for ZCU104 at 10 ns;
* ``cnv``: the hand-built CNV of ``hls/estimate/designs.py`` at the folding finn-examples publishes for
  ``cnv_w1a1`` (the ``cnv_w1a1_finn_examples`` validation case), behind a float input quantizer.

Every design runs without gaps or back-pressure (the timed run). Projects go to ``--work`` (default: a temporary
directory, removed afterwards).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hls.folding import Fold  # noqa: E402
from hwsim.graph import HwGraph  # noqa: E402

DESIGNS = ("tfc", "reactnet-tiny", "dybnn-tiny", "cnv")


def _float_input(g: HwGraph) -> HwGraph:
    """``g`` behind an InputQuant from float32 (the top function takes floats)."""
    from hwsim import nodes as N
    from hwsim.graph import TensorSpec
    from hwsim.types import Bipolar, Float

    x = g.inputs[0]
    dt = g.spec(x).dtype
    if isinstance(dt, Float):
        return g
    q = N.InputQuant(name="inq", inputs=("xf",), outputs=(x,), out=None if isinstance(dt, Bipolar) else dt)
    tensors = {"xf": TensorSpec(g.spec(x).shape, Float()), **g.tensors}
    g2 = HwGraph(g.name, ["xf"], list(g.outputs), tensors, [q, *g.nodes], dict(g.metadata))
    g2.validate()
    return g2


def design(name: str, work: Path) -> tuple[HwGraph, dict[str, Fold], str]:
    """``(graph, folding, part)`` of a design of :data:`DESIGNS`."""
    from hls.estimate import folding_search

    if name == "tfc":
        from hwsim.lower import lower
        from tests.hwsim.foreign import BNN_PYNQ_SHAPES, bnn_pynq, export

        shape = BNN_PYNQ_SHAPES["tfc_1w1a"]
        g = lower(export(bnn_pynq("tfc_1w1a"), work / "tfc.onnx", shape))
        return g, folding_search(g, 10.0, fit="pynq-z1"), "pynq-z1"
    if name in ("reactnet-tiny", "dybnn-tiny"):
        from hwsim.lower import lower
        from training import export

        kw = {k: v for k, v in {"check": False, "calib_steps": 4}.items()
              if k in inspect.signature(export.export_random).parameters}  # fmt: skip
        g = lower(export.export_random(name, work / f"{name}-export", **kw))
        return g, folding_search(g, 10.0, fit="zcu104"), "zcu104"
    if name == "cnv":
        from hls.estimate.designs import VALIDATION

        case = VALIDATION["cnv_w1a1_finn_examples"]
        g = _float_input(case.build())
        return g, case.folding(g), case.part
    raise SystemExit(f"unknown design {name!r}; expected one of {', '.join(DESIGNS)}")


def run(name: str, work: Path, frames: int) -> dict:
    from rtl.project import write_rtl_project
    from rtl.sim import run_sim

    g, folding, part = design(name, work)
    t0 = time.perf_counter()
    prj = write_rtl_project(g, work / f"{name}-rtl", part, 10.0, folding)
    write_s = time.perf_counter() - t0
    x = np.random.default_rng(0).standard_normal((frames, *g.spec(g.inputs[0]).shape)).astype(np.float32)
    res = run_sim(prj, g, x, timeout=3600)
    if not res.ok:
        raise SystemExit(f"{name}: {res.total_mismatches} output values differ from hwsim\n{res.summary()}")
    full = [f for f in res.fifos if f["max_level"] >= f["depth"] and f["depth"] > 2]
    low = [f for f in res.fifos if f["depth"] >= 16 and f["max_level"] <= f["depth"] // 4]
    return {
        "design": name,
        "part": part,
        "nodes": len(g.nodes),
        "frames": frames,
        "write_s": round(write_s, 2),
        "build_s": round(res.build_s, 1),
        "run_s": round(res.run_s, 2),
        "cycles": res.cycles,
        "cycles_per_s": round(res.cycles_per_second),
        "cycles_per_frame": {"rtl": res.cycles_per_frame, "model": res.model_cycles_per_frame},
        "latency": {"rtl": res.latency, "model": res.model_latency},
        "fifos": len(res.fifos),
        "fifos_at_depth": [(f["tensor"], f["consumer"], f["max_level"], f["depth"]) for f in full],
        "fifos_far_below_depth": [(f["tensor"], f["consumer"], f["max_level"], f["depth"]) for f in low],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="*", default=list(DESIGNS), help=f"of {', '.join(DESIGNS)}")
    ap.add_argument("--frames", type=int, default=3, help="frames per run (default 3)")
    ap.add_argument("--work", type=Path, help="keep the projects here (default: a temporary directory)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    a = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in a.designs:
            r = run(name, work, a.frames)
            rows.append(r)
            cpf, lat = r["cycles_per_frame"], r["latency"]
            print(f"{name}: {r['nodes']} nodes, part {r['part']}; build {r['build_s']} s, {r['frames']} frames "
                  f"{r['cycles']} cycles in {r['run_s']} s ({r['cycles_per_s'] / 1e6:.2f} M cycles/s); "
                  f"cycles per frame RTL {cpf['rtl']} / model {cpf['model']}; latency RTL {lat['rtl']} / "
                  f"model {lat['model']}", flush=True)  # fmt: skip
            for t, c, m, d in r["fifos_at_depth"]:
                print(f"  full:      {t} -> {c}: {m} / {d}")
            for t, c, m, d in r["fifos_far_below_depth"]:
                print(f"  <= 1/4:    {t} -> {c}: {m} / {d}")
    if a.json:
        tmp_json = a.json.with_suffix(a.json.suffix + ".tmp")
        tmp_json.write_text(json.dumps(rows, indent=1))
        tmp_json.replace(a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
