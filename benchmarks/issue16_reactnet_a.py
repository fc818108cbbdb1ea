"""Issue 16 (docs/results.md): the hand-built 224x224 DyBNN-ReActNet-A (``hls.estimate.designs.reactnet_a``) on a
part, estimated with the fastest folding that fits (PE = SIMD = 1 where none does), split into what the dynamic
sites cost: their frame buffers, their ``delta`` buffers and the residual shortcut FIFOs.

Usage::

    python benchmarks/issue16_reactnet_a.py PART [CLOCK_NS] [[stem:]DELTA_BITS|none ...]

``DELTA_BITS``: the hyper functions' outputs requantized to that many bits (a trained model's
``hyper_delta_bits``); ``none`` (the default): the clipped ``z`` unquantized, the design as hand-built before
the field existed. The script also runs on code older than that field (``none`` only), so the same command gives
the numbers before issue 16 in an export of an older commit (``git archive <commit> | tar -x -C DIR``).
``stem:`` builds the ``hyper_context: stem`` variant (issue 16 item 4, ``reactnet_a(context="stem")``).
"""

from __future__ import annotations

import inspect
import sys
import time

import numpy as np

from hls.devices import resolve_part
from hls.estimate import FitError, GraphModel, folding_search
from hls.estimate.designs import reactnet_a
from hls.estimate.pipeline import config_for
from hls.estimate.records import Resources

DYNAMIC = ("DynamicSign", "DynamicPReLU")


def measure(part: str, clock_ns: float, delta_bits: int | None, stem: bool = False) -> dict[str, object]:
    dev = resolve_part(part)
    kw: dict[str, object] = {} if delta_bits is None else {"delta_bits": delta_bits}
    if stem:
        kw["context"] = "stem"
    if kw and "delta_bits" not in inspect.signature(reactnet_a).parameters:
        raise SystemExit("this code has no delta_bits: run with 'none'")
    g = reactnet_a(np.random.default_rng(0), **kw)
    m = GraphModel(g, config_for(dev, None))
    t0 = time.perf_counter()
    try:
        fold, fits = folding_search(g, clock_ns, fit=dev, model=m), True
    except FitError:
        fold, fits = {}, False  # does not fit even fully folded: PE = SIMD = 1
    est = m.estimate(fold, clock_ns, dev)
    secs = time.perf_counter() - t0
    dyn = [n for n in est.nodes if n.op_type in DYNAMIC + ("HyperContext",)]
    frame = Resources.total([n.parts["frame_buffer"] for n in dyn if "frame_buffer" in n.parts])
    delta = Resources.total([n.parts["delta_buffer"] for n in dyn if "delta_buffer" in n.parts])
    types = {n.name: n.op_type for n in est.nodes}
    shortcut = Resources.total([f.resources for f in est.fifos if types.get(f.consumer) == "Add"])
    tot = est.system_totals
    return {
        "fits": fits,
        "pingpong": sum(getattr(n, "buffers", 1) == 2 for n in dyn),
        "sites": len(dyn),
        "lut": tot.lut,
        "bram18": tot.bram18,
        "uram": tot.uram,
        "dsp": tot.dsp,
        "frame": frame,
        "delta": delta,
        "shortcut": shortcut,
        "cycles": est.max_cycles,
        "latency": est.latency_cycles,
        "fps": est.fps,
        "seconds": secs,
    }


def main(argv: list[str]) -> None:
    part = argv[0]
    clock = float(argv[1]) if len(argv) > 1 else 5.0
    runs = [(a.startswith("stem:"), a.removeprefix("stem:")) for a in argv[2:]] or [(False, "none")]
    print(
        "| delta bits | fits | ping-pong sites | LUT | DSP | BRAM18 | URAM | frame buffers (BRAM18 / URAM) "
        "| delta buffers (BRAM18 / URAM, LUT) | shortcut FIFOs (BRAM18 / URAM) | cycles/frame | latency | frames/s |"
    )
    for stem, arg in runs:
        b = None if arg == "none" else int(arg)
        r = measure(part, clock, b, stem)
        ctx = "stem context, " if stem else ""
        fr, de, sc = r["frame"], r["delta"], r["shortcut"]
        print(
            f"| {ctx}{b or 'none (16-bit clipped z)'} | {'yes' if r['fits'] else 'no (PE = SIMD = 1)'} "
            f"| {r['pingpong']} of {r['sites']} | {r['lut']:,.0f} | {r['dsp']:,.0f} | {r['bram18']:,.0f} "
            f"| {r['uram']:,.0f} | {fr.bram18:,.0f} / {fr.uram:,.0f} | {de.bram18:,.0f} / {de.uram:,.0f}, "
            f"{de.lut:,.0f} | {sc.bram18:,.0f} / {sc.uram:,.0f} | {r['cycles']:,} | {r['latency']:,} "
            f"| {r['fps']:,.1f} |",
            flush=True,
        )
        print(f"  ({part}, {clock} ns, search + estimate {r['seconds']:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
