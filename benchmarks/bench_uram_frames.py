"""The paper's network on a part with URAM: DyBNN-ReActNet-A at 224x224 (``hls.estimate.designs.reactnet_a``, the
hand-built graph of its topology, random parameters), the folding search for the Alveo U250 at 200 MHz with a
500 frames/s target and no level storage (the RTL stores values). Prints

* the RTL backend's estimate of the whole design beside the HLS backend's (totals, fit on the U250), and the
  frame buffers' memory (style, words per row, URAM288 / RAMB18) per dynamic unit;
* with ``--synth UNIT ...`` (instance names, e.g. ``b0_sign0 b0_prelu1 b5_prelu0 b11_sign0``): those instances
  synthesized by Yosys (``synth_xilinx -family xcup -uram``, out of context, as ``dybnn synth`` does, through
  its cache) beside their RTL estimate. The whole design is not synthesized here: its matrix units at 224x224 are
  hours of Yosys on two cores.

Usage::

    python benchmarks/bench_uram_frames.py [--synth b0_sign0 b5_prelu0 ...] [--cache DIR] [--work DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synth", nargs="*", default=[], help="Instances to synthesize with Yosys.")
    ap.add_argument("--cache", type=Path, default=None, help="Synthesis cache (default: dybnn synth's).")
    ap.add_argument(
        "--work", type=Path, default=None, help="Where the RTL project goes (default: a temp dir)."
    )
    a = ap.parse_args()

    from hls.devices import resolve_part
    from hls.estimate import designs, estimate, folding_search
    from hwsim.partition import accelerator_part
    from rtl.estimate import estimate_rtl, estimate_unit
    from rtl.project import make_rtl_plan, write_rtl_project
    from rtl.synth import classify, default_cache, project_units, synth_unit, unit_key, yosys_version

    dev = resolve_part("u250")
    t0 = time.perf_counter()
    g = designs.reactnet_a()
    folding = folding_search(g, 5.0, target_fps=500, fit=dev, levels=False)
    rtl = estimate_rtl(g, folding, 5.0, dev)
    hls = estimate(g, folding, 5.0, dev)
    print(f"DyBNN-ReActNet-A 224x224, {len(g.nodes)} nodes, U250 ({dev.part}), folding search 500 frames/s, "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    print("| backend | LUT | FF | BRAM18 | URAM | DSP | fits the U250 |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, e in (("rtl", rtl), ("hls", hls)):
        r = e.system_totals
        print(f"| {name} | {r.lut:,.0f} | {r.ff:,.0f} | {r.bram18:,.0f} | {r.uram:,.0f} | {r.dsp:,.0f} | "
              f"{'yes' if e.fits else 'NO'} |")  # fmt: skip
    print(f"device: {dev.lut:,} LUT, {dev.bram18:,} BRAM18, {dev.uram:,} URAM288, {dev.dsp:,} DSP")
    rp = make_rtl_plan(accelerator_part(g), folding, dev.part)
    frames = []
    for n, inst in rp.instances.items():
        p = inst.params
        if "FRAME_STYLE" in p:
            frames.append((n, p["BUFFERS"] * p["CF"] * p["PIXELS"], p["PE"] * p["X_BITS"], p["FRAME_STYLE"],
                           p.get("FRAME_PACK", 1)))  # fmt: skip
    styles = sorted({(s, k) for *_, s, k in frames})
    print(
        f"frame buffers: {len(frames)}; (style, words per row): "
        + ", ".join(f"{s} x{k}: {sum(1 for *_, s2, k2 in frames if (s2, k2) == (s, k))}" for s, k in styles)
    )
    if not a.synth:
        return
    work = a.work or Path(tempfile.mkdtemp(prefix="dybnn-uram-"))
    prj = work / "prj-reactnet-a"
    t0 = time.perf_counter()
    write_rtl_project(g, prj, dev.part, 5.0, folding)
    print(f"project written in {time.perf_counter() - t0:.0f} s: {prj}")
    _, units = project_units(prj)
    by_name = {u.name: u for u in units}
    missing = [n for n in a.synth if n not in by_name]
    if missing:
        raise SystemExit(f"no instance {', '.join(missing)} in the design")
    cache = a.cache or default_cache()
    ys = yosys_version()
    print(
        "| instance | type | words x bits (per row) | LUT est / Yosys | err | FF est / Yosys | BRAM18 | URAM | DSP |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in a.synth:
        u = by_name[n]
        key = unit_key(prj, u, "xcup", True, ys)
        cells, _ = synth_unit(prj, u, "xcup", True, cache, key)
        y, _ = classify(cells)
        e = estimate_unit(u.module, u.params, dev.part, prj)
        p = u.params
        shape = (
            f"{p['BUFFERS'] * p['CF'] * p['PIXELS']:,} x {p['PE'] * p['X_BITS']} ({p.get('FRAME_PACK', 1)})"
        )
        lut = y["lut"] + y["lutram"] + y["srl"]
        print(f"| {n} | {u.op_type} | {shape} | {e.lut:,} / {lut:,} | {(e.lut - lut) / lut:+.0%} | "
              f"{e.ff:,} / {y['ff']:,} | {e.bram18} / {y['bram18']} | {e.uram} / {y['uram']} | "
              f"{e.dsp} / {y['dsp']} |")  # fmt: skip


if __name__ == "__main__":
    main()
