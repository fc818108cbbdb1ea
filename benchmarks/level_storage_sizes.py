"""Issue 16 item 3: level storage in the DynamicSign frame buffers (``buffer_storage: levels``, hls/levels.py), per
site and for the whole design, from the HLS estimate.

Per DynamicSign site, at the folding search's choice without levels (``levels=False``): its frame, the value and
level widths, its frame buffer storing values and storing levels, and -- at a site that forwards its frame to a
residual shortcut when it stores values -- what the forwarding saves (the shortcut FIFOs with the shortcut forked
in front of the unit, as levels there have it, against those it writes from its frame buffer). Then the whole
design: the folding search without and with levels (the search stores levels where the design's memory is
smaller; at a forwarding site levels fork the shortcut, ``hls.timing.forward_frames``), and the sites it picks.

Usage::

    python benchmarks/level_storage_sizes.py MODEL.onnx PART [CLOCK_NS]     # a lowered export, e.g. dybnn-tiny
    python benchmarks/level_storage_sizes.py reactnet-a PART [CLOCK_NS] [DELTA_BITS]   # hand-built 224x224
    python benchmarks/level_storage_sizes.py dybnn-cnv PART [CLOCK_NS] [DELTA_BITS]    # CNV with DynamicSigns
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np

from hls.devices import resolve_part
from hls.estimate import FitError, GraphModel, folding_search
from hls.estimate.pipeline import config_for
from hls.estimate.registry import bits_of
from hls.estimate.search import shortcut_fifos
from hls.folding import Fold, forwarding_sites, level_sites
from hls.levels import level_bits
from hls.timing import stream_graph
from hwsim import nodes as N


def _mem(r) -> str:
    return (
        f"{r.bram18:.0f} BRAM18"
        + (f" {r.uram:.0f} URAM" if r.uram else "")
        + (f" {r.lut:.0f} LUT" if r.lut else "")
    )


def _blocks(r) -> tuple[int, int]:
    """(memory blocks as BRAM18, URAM counted as 16; LUT), the folding search's measure of smaller."""
    return round(r.bram18 + 16 * r.uram), round(r.lut)


def _search(g, m, dev, clock_ns, levels):
    try:
        return folding_search(g, clock_ns, fit=dev, model=m, levels=levels)
    except FitError:
        return {n.name: Fold() for n in g.nodes}  # does not fit even fully folded: PE = SIMD = 1


def level_sizes(g, part: str, clock_ns: float) -> None:
    dev = resolve_part(part)
    m = GraphModel(g, config_for(dev, None))
    g = m.g
    fold = _search(g, m, dev, clock_ns, False)
    fwd = forwarding_sites(g)
    allowed = level_sites(g)
    # shortcut FIFOs per forwarding site: forked in front of the unit (forward=False) vs written by it
    unfwd = m.estimate(fold, clock_ns, dev, forward=False)
    sg0 = stream_graph(g, fold, forward=False).graph
    on = m.estimate(fold, clock_ns, dev)
    on_g = stream_graph(g, fold).graph
    print(
        f"{g.name} on {dev.part}, {clock_ns:g} ns; per DynamicSign site at the search's folding without levels:"
    )
    print("| site | frame | pe, buffers | value / level bits | frame buffer: values -> levels | "
          "shortcut FIFOs: forked -> forwarded | winner |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for n in g.nodes:
        if not isinstance(n, N.DynamicSign) or n.hyper.context:
            continue
        f = fold.get(n.name, Fold())
        vals = m.node(n, replace(f, storage="values")).parts["frame_buffer"]
        levs = m.node(n, replace(f, storage="levels")).parts["frame_buffer"]
        shape = "x".join(str(d) for d in g.spec(n.inputs[0]).shape)
        a, lb = bits_of(g, n.inputs[0]), level_bits(n)
        if n.name in fwd:
            dup = next(d for d in sg0.nodes if isinstance(d, N.Duplicate) and n.inputs[0] in d.outputs)
            before = shortcut_fifos(unfwd, sg0, dup.name, {n.name})
            main = g.consumers(n.outputs[0])[0].name
            after = shortcut_fifos(on, on_g, n.name, {main})
            sc = f"{_mem(before)} -> {_mem(after)}"
            # values + forwarding against levels + the shortcut's own frame-deep FIFO (forked in front)
            keep, alt = _blocks(vals + after), _blocks(levs + before)
            k, o = (f"{v[0]}" if keep[0] != alt[0] else f"{v[0]} ({v[1]} LUT)" for v in (keep, alt))
            win = (
                f"forwarding ({k} against {o} BRAM18-eq. for levels + a forked shortcut)"
                if keep <= alt
                else f"levels + forked shortcut ({o} against {k} BRAM18-eq.)"
            )
        else:
            sc = "no shortcut"
            win = "levels" if n.name in allowed and (levs.bram18 + 16 * levs.uram, levs.lut) < (
                vals.bram18 + 16 * vals.uram, vals.lut) else "values"  # fmt: skip
        print(
            f"| {n.name} | {shape} | {f.pe}, {f.buffers} | {a} / {lb} | {_mem(vals)} -> {_mem(levs)} | {sc} | {win} |"
        )
    same = {k: replace(f, storage="levels") if k in allowed else f for k, f in fold.items()}
    for k in allowed - set(same):
        same[k] = Fold(storage="levels")
    for what, fo in (("search without levels", fold), ("the same folding, levels wherever allowed", same),
                     ("search with levels", _search(g, m, dev, clock_ns, True))):  # fmt: skip
        e = m.estimate(fo, clock_ns, dev)
        t = e.system_totals.rounded()
        dyn = [x for x in e.nodes if x.op_type == "DynamicSign"]
        fb = [x.parts.get("frame_buffer") for x in dyn if "frame_buffer" in x.parts]
        nlv = sum(x.storage == "levels" for x in dyn)
        fk = sorted(x.name for x in dyn if x.storage == "levels" and x.name in fwd)
        print(
            f"{what}: {nlv} of {len(dyn)} DynamicSign frame buffers store levels "
            f"({len(fk)} with a forked shortcut{': ' + ', '.join(fk) if fk else ''}); "
            f"their frame buffers {sum(r.bram18 for r in fb):.0f} BRAM18 {sum(r.uram for r in fb):.0f} URAM; "
            f"system LUT {t['lut']:,} BRAM18 {t['bram18']:,} URAM {t['uram']:,} DSP {t['dsp']:,}; "
            f"{e.fps:,.1f} frames/s, latency {e.latency_cycles:,} cycles; fits {e.fits}"
        )


def main(argv: list[str]) -> None:
    what, part = argv[0], argv[1]
    clock = float(argv[2]) if len(argv) > 2 else 10.0
    bits = int(argv[3]) if len(argv) > 3 else None
    if what == "reactnet-a":
        from hls.estimate.designs import reactnet_a

        g = reactnet_a(np.random.default_rng(0), delta_bits=bits)
    elif what == "dybnn-cnv":
        from hls.estimate.designs import dybnn_cnv

        g = dybnn_cnv(np.random.default_rng(0), delta_bits=bits or 8)
    else:
        from hwsim.lower import lower

        g = lower(what)
    level_sizes(g, part, clock)


if __name__ == "__main__":
    main(sys.argv[1:])
