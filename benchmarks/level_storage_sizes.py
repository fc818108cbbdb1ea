"""Issue 16 item 3 (design note in docs/results.md): the DynamicSign frame buffers if they stored levels (how many
of the ``2^b`` dynamic thresholds a value reaches, ``ceil(log2(2^b + 1))`` bits) instead of values, beside the
values, at the folding search's choice for a part. A site that forwards its frame to a residual shortcut
(``hls.timing.forward_frames``) needs the full values and keeps them in the "levels" total.

Usage::

    python benchmarks/level_storage_sizes.py MODEL.onnx PART [CLOCK_NS]    # a lowered export, e.g. dybnn-tiny
    python benchmarks/level_storage_sizes.py reactnet-a PART [CLOCK_NS] [LEVEL_BITS]   # hand-built 224x224
"""

from __future__ import annotations

import math
import sys

import numpy as np

from hls.devices import resolve_part
from hls.estimate import FitError, GraphModel, folding_search
from hls.estimate.memory import map_sequential_buffer
from hls.estimate.pipeline import config_for
from hls.estimate.registry import bits_of
from hls.timing import stream_graph
from hwsim import nodes as N


def level_sizes(g, part: str, clock_ns: float, level_bits: int | None = None) -> None:
    dev = resolve_part(part)
    m = GraphModel(g, config_for(dev, None))
    try:
        fold = folding_search(g, clock_ns, fit=dev, model=m)
    except FitError:
        fold = {}  # does not fit even fully folded: PE = SIMD = 1
    sg = stream_graph(g, fold)
    tot = {
        "values": [0.0, 0.0],
        "levels (forwarding sites keep values)": [0.0, 0.0],
        "levels everywhere": [0.0, 0.0],
    }
    sites = fwd = 0
    desc = ""
    for n in sg.graph.nodes:
        if not isinstance(n, N.DynamicSign):
            continue
        sites += 1
        f = sg.fold(n.name)
        h, w, c = sg.graph.spec(n.inputs[0]).shape
        a = bits_of(sg.graph, n.inputs[0])
        b = n.hyper.act.bits if n.hyper.act is not None else None
        lv = level_bits or (math.ceil(math.log2((1 << b) + 1)) if b else a)
        words = f.buffers * h * w * c // f.pe
        full = map_sequential_buffer(words, f.pe * a, "auto", has_uram=dev.uram > 0)
        lev = map_sequential_buffer(words, f.pe * min(lv, a), "auto", has_uram=dev.uram > 0)
        forwards = len(n.outputs) > 1
        fwd += forwards
        for k, mem in (("values", full), ("levels (forwarding sites keep values)", full if forwards else lev),
                       ("levels everywhere", lev)):  # fmt: skip
            tot[k][0] += mem.bram18
            tot[k][1] += mem.uram
        desc = f"input {a} bits, delta {b or 'not quantized'} bits, level {lv} bits"
    print(f"{g.name} on {part}: {sites} DynamicSign sites ({fwd} forward their frame to a shortcut), {desc}")
    for k, (br, ur) in tot.items():
        print(f"  DynamicSign frame buffers, {k}: {br:.0f} BRAM18, {ur:.0f} URAM")


def main(argv: list[str]) -> None:
    what, part = argv[0], argv[1]
    clock = float(argv[2]) if len(argv) > 2 else 10.0
    if what == "reactnet-a":
        from hls.estimate.designs import reactnet_a

        g = reactnet_a(np.random.default_rng(0))
        level_sizes(g, part, clock, int(argv[3]) if len(argv) > 3 else None)
    else:
        from hwsim.lower import lower

        level_sizes(lower(what), part, clock)


if __name__ == "__main__":
    main(sys.argv[1:])
