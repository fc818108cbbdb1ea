"""Reproduce the validation table of docs/estimation.md: our estimate vs published numbers vs FINN's formulas.

    python benchmarks/validate_estimates.py            # table
    python benchmarks/validate_estimates.py --layers   # plus per-layer tables
    python benchmarks/validate_estimates.py --json     # machine-readable
    python benchmarks/validate_estimates.py --memories # BNN-PYNQ: every memory, its style, LUTRAM and BRAM18

Also times the folding search + estimate of the hand-built dybnn-reactnet-a graph (and of the lowered QONNX
model
when ``--lowered DIR`` names a directory with hw/graph.json).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hls.devices import resolve_part  # noqa: E402
from hls.estimate import GraphModel, finn_reference_estimate, folding_search  # noqa: E402
from hls.estimate.designs import VALIDATION, reactnet_a, run_validation  # noqa: E402
from hls.estimate.pipeline import config_for  # noqa: E402
from hls.estimate.report import format_table, to_document  # noqa: E402


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:+.1%}"


def validation_rows() -> list[dict]:
    rows = []
    for key in VALIDATION:
        r = run_validation(key)
        pub = r["published"]
        ours, fin = r["ours_system"], r["finn"]
        for k in ("lut", "ff", "bram18", "dsp", "fps"):
            p = pub.fps if k == "fps" else getattr(pub, k)
            if p is None:
                continue
            o = r["fps"] if k == "fps" else ours[k]
            f = None if k in ("ff", "fps", "dsp") else fin[k]
            rows.append(
                {
                    "design": key,
                    "metric": k,
                    "ours": o,
                    "published": p,
                    "ours_error": o / p - 1,
                    "finn_formula": f,
                    "finn_error": None if f is None else f / p - 1,
                    "source": pub.source,
                }
            )
        rows.append({"design": key, "result": r})
    return rows


def time_reactnet(lowered: Path | None) -> list[tuple[str, int, float]]:
    from hwsim.graph import HwGraph

    out = []
    graphs = [("dybnn-reactnet-a (hand-built)", reactnet_a(None, dynamic=True))]
    if lowered is not None:
        graphs.append((f"dybnn-reactnet-a (lowered, {lowered})", HwGraph.load(lowered / "hw")))
    dev = resolve_part("u250")
    for name, g in graphs:
        t0 = time.perf_counter()
        m = GraphModel(g, config_for(dev))
        folding = folding_search(g, 5.0, target_fps=500, model=m)
        est = m.estimate(folding, 5.0, dev)
        to_document(est, folding, g, finn_reference_estimate(g, folding))
        out.append((name, len(g.nodes), time.perf_counter() - t0))
    return out


def memory_table(key: str) -> str:
    """Every memory of a BNN-PYNQ validation design as the estimator maps it (issue 14 item 3, docs/estimation.md):
    per-PE weights and thresholds (``WMEM x SIMD``, ``TMEM x 16`` bits), the sliding-window line buffers (``K/S
    + 1`` blocks), the stream FIFOs deeper than 2; the style the estimator's rule picks, the LUTs of those in
    LUTRAM, their BRAM18, and the BRAM18 they would take as block RAM; then the totals per kind."""
    from hls.estimate import estimate
    from hls.estimate.matrix import matrix_dims
    from hls.estimate.memory import bram18_tiles, fifo_cost, lutram_luts, map_memory
    from hwsim import nodes as N

    c = VALIDATION[key]
    g = c.build()
    f = c.folding(g)
    est = estimate(g, f, c.clock_ns, resolve_part(c.part), cfg=c.cfg)
    rows = []
    for n in g.nodes:
        if isinstance(n, N.XnorConv | N.XnorDense):
            mh, mw, _ = matrix_dims(g, n)
            pe, simd = f[n.name].pe, f[n.name].simd
            rows.append((n.name, "weights", pe, (mh // pe) * (mw // simd), simd))
            rows.append((n.name, "thresholds", pe, mh // pe, c.cfg.acc_bits or 16))
        if isinstance(n, N.XnorConv):
            win = n.window(g.spec(n.inputs[0]).shape)
            lanes, a = f[n.name].simd, g.spec(n.inputs[0]).dtype.bits
            rows.append(
                (n.name, "line buffer", win.kh // win.sh + 1, win.sh * win.pw * (win.c // lanes), lanes * a)
            )
    rows += [(x.name, "fifo", 1, x.depth, x.width) for x in est.fifos if x.depth > 2]
    out = [f"{key}: memory, kind, count x depth x width, style, LUTRAM LUTs, BRAM18, BRAM18 if block"]
    tot: dict[str, list[float]] = {}
    for name, what, k, d, w in rows:
        if what == "fifo":
            fc = fifo_cost(d, w)
            style, br = fc.style, fc.bram18
        else:
            m = map_memory(d, w, c.cfg.ram_style, writable=c.cfg.params == "ram")
            style, br = m.style, m.bram18
        lutram = k * lutram_luts(d, w, True) if style == "lutram" else 0
        block = k * bram18_tiles(d, w)
        out.append(f"  {name:22s} {what:12s} {k:3d} x {d:6d} x {w:4d}  {style:7s} {lutram:6.0f} {k * br:6.0f} "
                   f"{block:6.0f}")  # fmt: skip
        t = tot.setdefault(f"{what} ({style})", [0.0, 0.0, 0.0])
        t[0], t[1], t[2] = t[0] + lutram, t[1] + k * br, t[2] + block
    for what, (lut, br, block) in tot.items():
        out.append(f"  total {what:24s} LUTRAM {lut:6.0f}  BRAM18 {br:5.0f}  BRAM18 if block {block:5.0f}")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", action="store_true", help="print per-layer tables")
    ap.add_argument("--json", action="store_true", help="print JSON")
    ap.add_argument(
        "--lowered", type=Path, default=None, help="also time a lowered graph (directory with hw/)"
    )
    ap.add_argument(
        "--memories", action="store_true", help="BNN-PYNQ designs: every memory as the estimator maps it"
    )
    args = ap.parse_args()
    if args.memories:
        print("\n\n".join(memory_table(k) for k in ("lfc_w1a1", "cnv_w1a1_bnn_pynq")))
        return
    rows = validation_rows()
    timing = time_reactnet(args.lowered)
    if args.json:
        print(
            json.dumps(
                {"rows": [r for r in rows if "metric" in r], "timing_s": {n: t for n, _, t in timing}},
                indent=1,
            )
        )
        return
    print(
        f"{'design':<24} {'metric':<7} {'ours':>11} {'published':>11} {'error':>8} {'FINN formula':>13} "
        f"{'error':>8}"
    )
    print("-" * 88)
    for r in rows:
        if "metric" not in r:
            continue
        fmt = "{:>11,.1f}" if r["metric"] == "fps" else "{:>11,}"
        fin = "" if r["finn_formula"] is None else f"{r['finn_formula']:>13,}"
        print(
            f"{r['design']:<24} {r['metric']:<7} {fmt.format(r['ours'])} {fmt.format(r['published'])} "
            f"{_pct(r['ours_error']):>8} {fin:>13} {_pct(r['finn_error']):>8}"
        )
    print()
    for r in rows:
        if "result" in r:
            res = r["result"]
            print(
                f"{r['design']}: bottleneck {res['bottleneck']} {res['max_cycles']} cycles, "
                f"{res['fps']:,.1f} fps, latency {res['latency_cycles']} cycles "
                f"(FINN critical path {res['finn_critical_path_cycles']})"
            )
            if args.layers:
                fin = finn_reference_estimate(res["graph"], res["folding"])
                print(format_table(res["estimate"], fin))
                print()
    print()
    for name, n, t in timing:
        print(f"timing: {name}, {n} nodes: folding search + estimate + JSON document in {t:.3f} s")


if __name__ == "__main__":
    main()
