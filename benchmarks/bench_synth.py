"""Yosys synthesis of whole designs (``dybnn synth``): wall and CPU time with a cold cache, totals beside the
estimate; with ``--dynamic-cost`` the per-site cost of the DyBNN dynamic threshold units.

Designs (random weights; the folding search's choice for the part at 10 ns):

* ``dybnn-tiny``, ``reactnet-tiny``, ``dybnn-tiny-stem`` (``hyper_context: stem``):
  ``training.export.export_random(name, calib_steps=4)``, lowered; zcu104 (``--part`` for another);
* ``dybnn-tiny-static``: dybnn-tiny with every dynamic unit replaced by its static equivalent
  (``hls.estimate.static_equivalent``: Sign on ``tau``, PReLU on ``gamma``/``zeta``/``beta``), same folding;
* ``tfc``, ``lfc``: Brevitas ``bnn_pynq`` ``tfc_1w1a`` / ``lfc_1w1a`` exported to QONNX and lowered; pynq-z1;
* ``run:PATH``: a trained run directory (its ``hw/graph.json``, else its ``model.onnx``) or a ``model.onnx``;
  pynq-z1 unless ``--part``;
* the RTL tests' fuzz designs ``matrix-a/-b``, ``elementwise``, ``dynamic-a/-b`` and ``context-a/-b`` (the
  ``hyper_context: stem`` units and HyperContext, ``tests.rtl.cases_d2.context_graph``).

Usage::

    python benchmarks/bench_synth.py dybnn-tiny tfc --jobs 2            # cold cache (a fresh temp dir) each
    python benchmarks/bench_synth.py dybnn-tiny reactnet-tiny dybnn-tiny-static --dynamic-cost --cache DIR
    python benchmarks/bench_synth.py dybnn-tiny-stem dybnn-tiny reactnet-tiny --part pynq-z1 --context-cost \
        --types DynamicSign,DynamicPReLU,HyperContext,Sign,PReLU --cache DIR
    python benchmarks/bench_synth.py run:RUN_DIR --part pynq-z1 --node-errors --cache DIR  # trained weights
    python benchmarks/bench_synth.py ... --json out.json

Timing is the whole ``rtl.synth.synthesize`` call (project writing excluded); CPU = the Yosys child processes'
user + system time.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PARTS = {"dybnn-tiny": "zcu104", "reactnet-tiny": "zcu104", "dybnn-tiny-static": "zcu104", "tfc": "pynq-z1",
         "lfc": "pynq-z1", "matrix-a": "pynq-z1", "matrix-b": "zcu104", "elementwise": "pynq-z1",
         "dynamic-a": "pynq-z1", "dynamic-b": "zcu104", "dybnn-tiny-stem": "zcu104", "context-a": "pynq-z1",
         "context-b": "zcu104"}  # fmt: skip


def build(name: str, work: Path, _cache: dict = {}):  # noqa: B006 - a per-process memo of lowered graphs
    """(graph, folding, part) of a benchmark design."""
    from hls.estimate import folding_search, static_equivalent
    from hwsim.lower import lower

    if name in _cache:
        return _cache[name]
    if name in ("dybnn-tiny", "reactnet-tiny", "dybnn-tiny-stem"):
        from training.export import export_random

        g = lower(export_random(name, work / f"export-{name}", calib_steps=4))
        folding = folding_search(g, 10.0, fit=PARTS[name], levels=False)  # the RTL stores values
    elif name == "dybnn-tiny-static":
        from dataclasses import replace

        from hwsim import nodes as N

        g0, folding0, _ = build("dybnn-tiny", work)
        g = static_equivalent(g0)
        # the static Sign / PReLU have no frame buffer: a ping-pong site's folding keeps its PE, one buffer
        dyn = {n.name for n in g0.nodes if isinstance(n, N.DynamicSign | N.DynamicPReLU)}
        folding = {k: replace(f, buffers=1) if k in dyn else f for k, f in folding0.items()}
    elif name in ("tfc", "lfc"):
        from tests.hwsim.foreign import BNN_PYNQ_SHAPES, bnn_pynq, export

        key = f"{name}_1w1a"
        g = lower(export(bnn_pynq(key), work / f"{key}.onnx", BNN_PYNQ_SHAPES[key]))
        folding = folding_search(g, 10.0, fit=PARTS[name], levels=False)  # the RTL stores values
    elif name.startswith(("matrix", "elementwise", "dynamic", "context")):
        # the RTL tests' fuzz designs (every node type): random kernels, strides, padding, foldings
        import numpy as np

        from tests.hls.cases import random_folding
        from tests.rtl.cases import matrix_graph
        from tests.rtl.cases_d2 import context_graph, dynamic_graph, elementwise_graph, varied_folding

        seed = {"matrix-a": 0, "matrix-b": 1, "elementwise": 2, "dynamic-a": 3, "dynamic-b": 4, "context-a": 5,
                "context-b": 6}[name]  # fmt: skip
        rng = np.random.default_rng(seed)
        if name.startswith("matrix"):
            g = matrix_graph(rng, c=4 if seed == 0 else 8, hw=6, co=4 if seed == 0 else 16, streaming=True)
            folding = random_folding(g, rng)
        elif name.startswith("context"):
            g = context_graph(rng, c0=4 if seed == 5 else 16, hw=4 if seed == 5 else 6)
            folding = varied_folding(g, rng)
        elif name == "elementwise":
            g = elementwise_graph(rng, c=10, hw=4, dynamic=False)
            folding = varied_folding(g, rng)
        else:
            g = dynamic_graph(rng, c=6 if seed == 3 else 16, hw=4 if seed == 3 else 6)
            folding = varied_folding(g, rng)
    elif name.startswith("run:"):  # a trained run directory (hw/graph.json or model.onnx) or a model.onnx
        from dybnn.commands.common import load_graph

        path = Path(name[4:])
        if path.is_dir() and not (path / "hw" / "graph.json").is_file() and (path / "model.onnx").is_file():
            path = path / "model.onnx"
        g = load_graph(path)
        PARTS.setdefault(name, "pynq-z1")
        folding = folding_search(g, 10.0, fit=PARTS[name], levels=False)  # the RTL stores values
    else:
        raise SystemExit(f"unknown design {name!r} (known: {', '.join(PARTS)}, run:DIR)")
    _cache[name] = (g, folding, PARTS[name])
    return _cache[name]


def run(
    name: str, work: Path, jobs: int, cache: Path | None, types: set[str] | None = None, backend: str = "rtl"
) -> dict:
    from hls.devices import resolve_part
    from hls.estimate import estimate
    from hwsim.partition import accelerator_part
    from rtl.project import write_rtl_project
    from rtl.synth import synthesize, write_synth
    from rtl.synth_report import estimate_columns, format_table

    g, folding, part = build(name, work)
    dev = resolve_part(part)
    prj = write_rtl_project(g, work / f"prj-{label(name)}", dev.part, 10.0, folding)
    cold = cache is None
    cache_dir = Path(tempfile.mkdtemp(prefix="synth-cache-", dir=work)) if cold else cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    n = [0]

    def on_unit(u, done, total):
        n[0] = total
        print(f"  [{done}/{total}] {u.instance} {'cached' if u.cached else f'{u.seconds:.1f} s'}", flush=True)

    units = None
    if types:  # only the nodes of these types, and every stream (FIFOs, width converters)
        from rtl.synth import project_units

        units = [u.instance for u in project_units(prj)[1] if u.kind != "node" or u.op_type in types]
    rec = synthesize(prj, jobs=jobs, cache=cache_dir, on_unit=on_unit, units=units)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if backend == "rtl":  # the estimate of this RTL design (rtl/estimate.py)
        from rtl.estimate import estimate_rtl

        rec.estimate = estimate_columns(estimate_rtl(g, folding, 10.0, dev))
        rec.estimate_backend = "rtl"
    else:  # the HLS implementation's estimate, beside Yosys's synthesis of the RTL
        rec.estimate = estimate_columns(estimate(accelerator_part(g), folding, 10.0, dev))
        rec.estimate_backend = "hls"
    write_synth(prj / "synth.json", rec)
    print(format_table(rec))
    distinct = len({u.key for u in rec.units})
    print(f"{name}: {len(rec.units)} instances ({distinct} distinct), {wall:.0f} s wall, {cpu:.0f} s CPU, "
          f"jobs {jobs}, {'cold' if cold else 'given'} cache")  # fmt: skip
    return {"design": label(name), "part": dev.part, "instances": len(rec.units), "distinct": distinct, "wall_s": wall,
            "cpu_s": cpu, "jobs": jobs, "cold": cold, "synth": rec.to_json()}  # fmt: skip


def dynamic_cost(results: dict[str, dict]) -> str:
    """Per site: the DyBNN dynamic unit (dybnn-tiny), the static unit at the same place (dybnn-tiny-static) and
    reactnet-tiny's unit at the same position; LUT (logic + LUTRAM + SRL), FF, BRAM18, DSP from Yosys."""
    from rtl.synth import SynthRecord

    recs = {k: SynthRecord.from_json(v["synth"]) for k, v in results.items()}
    dyn = recs["dybnn-tiny"]
    sites = [u for u in dyn.by_kind("node") if u.op_type in ("DynamicSign", "DynamicPReLU")]
    static = (
        {u.name: u for u in recs["dybnn-tiny-static"].by_kind("node")} if "dybnn-tiny-static" in recs else {}
    )
    react = []
    if "reactnet-tiny" in recs:
        react = [u for u in recs["reactnet-tiny"].by_kind("node") if u.op_type in ("Sign", "PReLU")]

    def cols(u) -> str:
        if u is None:
            return "- | - | - | -"
        r = u.resources
        return f"{r.lut_total:,} | {r.ff:,} | {r.bram18} | {r.dsp}"

    lines = ["| site | dybnn-tiny unit | LUT | FF | BRAM18 | DSP | static equivalent | LUT | FF | BRAM18 | DSP "
             "| reactnet-tiny unit | LUT | FF | BRAM18 | DSP |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    kinds = {"DynamicSign": "Sign", "DynamicPReLU": "PReLU"}
    count = {"Sign": 0, "PReLU": 0}
    for u in sites:
        s = static.get(u.name)
        k = kinds[u.op_type]
        same = [x for x in react if x.op_type == k]
        r = same[count[k]] if count[k] < len(same) else None
        count[k] += 1
        lines.append(f"| {u.name} | {u.op_type} | {cols(u)} | {s.op_type if s else '-'} | {cols(s)} | "
                     f"{r.name + ' ' + r.op_type if r else '-'} | {cols(r)} |")  # fmt: skip
    tot = {}
    for key, rec in recs.items():
        t = rec.totals
        tot[key] = f"{t.lut_total:,} LUT, {t.ff:,} FF, {t.bram18} BRAM18, {t.dsp} DSP"
    lines.append("")
    lines += [f"- {k} total: {v}" for k, v in tot.items()]
    return "\n".join(lines)


def context_cost(results: dict[str, dict]) -> str:
    """``hyper_context: stem`` against the paper's DyBNN and the static network: per dynamic site (in order) the
    dybnn-tiny unit beside the dybnn-tiny-stem unit, the HyperContext node, and per design the threshold units
    (with the HyperContext), the forks, the streams and every synthesized unit (with ``--types``, the matrix
    units and pools are not among them); LUT (logic + LUTRAM + SRL), FF, BRAM18, DSP from Yosys."""
    from rtl.synth import SynthRecord

    recs = {k: SynthRecord.from_json(v["synth"]) for k, v in results.items()}
    kinds = ("DynamicSign", "DynamicPReLU", "HyperContext", "Sign", "PReLU")

    def units(key: str) -> list:
        return [u for u in recs[key].by_kind("node") if u.op_type in kinds] if key in recs else []

    def cols(u) -> str:
        if u is None:
            return "- | - | - | - | -"
        r = u.resources
        return f"{u.op_type} | {r.lut_total:,} | {r.ff:,} | {r.bram18} | {r.dsp}"

    dyn = [u for u in units("dybnn-tiny") if u.op_type != "HyperContext"]
    stem = units("dybnn-tiny-stem")
    ctx = [u for u in stem if u.op_type == "HyperContext"]
    stem = [u for u in stem if u.op_type != "HyperContext"]
    lines = ["| site | dybnn-tiny | LUT | FF | BRAM18 | DSP | dybnn-tiny-stem | LUT | FF | BRAM18 | DSP |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for i in range(max(len(dyn), len(stem))):
        d = dyn[i] if i < len(dyn) else None
        s = stem[i] if i < len(stem) else None
        lines.append(f"| {(d or s).name} | {cols(d)} | {cols(s)} |")
    for u in ctx:
        lines.append(f"| {u.name} | - | - | - | - | - | {cols(u)} |")
    lines += ["", "| design | threshold units (+ HyperContext) | forks (Duplicate) | FIFOs and width converters | "
              "all synthesized units |", "|---|---|---|---|---|"]  # fmt: skip

    def tot(us) -> str:
        r = [u.resources for u in us]
        return (f"{sum(x.lut_total for x in r):,} LUT, {sum(x.ff for x in r):,} FF, {sum(x.bram18 for x in r)} "
                f"BRAM18, {sum(x.dsp for x in r)} DSP")  # fmt: skip

    for key, rec in recs.items():
        forks = [u for u in rec.by_kind("node") if u.op_type == "Duplicate"]
        streams = [u for u in rec.units if u.kind != "node"]
        lines.append(f"| {key} | {tot(units(key))} | {tot(forks)} ({len(forks)}) | {tot(streams)} ({len(streams)}) "
                     f"| {tot(rec.units)} ({len(rec.units)}) |")  # fmt: skip
    return "\n".join(lines)


def node_errors(results: dict[str, dict]) -> str:
    """Per node instance of every design: the estimate beside Yosys (LUT = logic + LUTRAM + SRL), the relative
    errors, and per node type the median and largest absolute LUT and FF error."""
    from statistics import median

    from rtl.synth import SynthRecord

    rows, by_type = [], {}
    for d, v in results.items():
        rec = SynthRecord.from_json(v["synth"])
        for u in rec.by_kind("node"):
            e = (rec.estimate or {}).get(u.name)
            if e is None:
                continue
            r = u.resources

            def err(est: float, ys: int) -> float | None:
                return None if ys == 0 and est == 0 else (est - ys) / max(ys, 1)

            el, ef = err(e["lut"], r.lut_total), err(e["ff"], r.ff)
            rows.append(f"| {d} | {u.name} | {u.op_type} | {round(e['lut']):,} / {r.lut_total:,} | "
                        f"{el:+.0%} | {round(e['ff']):,} / {r.ff:,} | {ef:+.0%} | {e['bram18']:g} / {r.bram18} | "
                        f"{e['dsp']:g} / {r.dsp} |")  # fmt: skip
            by_type.setdefault(u.op_type, []).append((abs(el or 0), abs(ef or 0), e["bram18"] == r.bram18,
                                                      e["dsp"] == r.dsp))  # fmt: skip
    out = ["| design | node | type | LUT est / Yosys | err | FF est / Yosys | err | BRAM18 | DSP |",
           "|---|---|---|---|---|---|---|---|---|", *rows, "",
           "| type | instances | LUT median / max abs err | FF median / max abs err | BRAM18 equal | DSP equal |",
           "|---|---|---|---|---|---|"]  # fmt: skip
    for t, v in sorted(by_type.items()):
        lut, ff = [x[0] for x in v], [x[1] for x in v]
        out.append(f"| {t} | {len(v)} | {median(lut):.0%} / {max(lut):.0%} | {median(ff):.0%} / {max(ff):.0%} | "
                   f"{sum(x[2] for x in v)}/{len(v)} | {sum(x[3] for x in v)}/{len(v)} |")  # fmt: skip
    # issue 14's targets per node: LUT within 15 %, FF within 20 %, BRAM18 and DSP equal
    allv = [x for v in by_type.values() for x in v]
    ok = [(x[0] <= 0.15, x[1] <= 0.20, x[2] and x[3]) for x in allv]
    out.append(f"\n{len(allv)} nodes: LUT within 15 % {sum(o[0] for o in ok)}, FF within 20 % {sum(o[1] for o in ok)}, "
               f"BRAM18 and DSP equal {sum(o[2] for o in ok)}, all {sum(all(o) for o in ok)}")  # fmt: skip
    return "\n".join(out)


def label(name: str) -> str:
    """A design's name in tables and paths: run:PATH is named by its run directory (run-<dir>)."""
    if not name.startswith("run:"):
        return name
    p = Path(name[4:])
    return f"run-{(p.parent if p.is_file() else p).name}"


def _design(v: str) -> str:
    if v in PARTS or (v.startswith("run:") and Path(v[4:]).exists()):
        return v
    raise argparse.ArgumentTypeError(
        f"{v!r}: not a known design ({', '.join(PARTS)}) nor run:PATH of an existing path"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "designs",
        nargs="+",
        type=_design,
        help=f"{', '.join(PARTS)}, or run:PATH (a trained run directory or a model.onnx; pynq-z1 unless --part)",
    )
    ap.add_argument("--part", default=None, help="Synthesize every design for this part (default: PARTS).")
    ap.add_argument(
        "--types",
        default=None,
        help="Only the nodes of these op types (comma-separated) and every stream, e.g. "
        "DynamicSign,DynamicPReLU,HyperContext,Sign,PReLU.",
    )
    ap.add_argument(
        "--context-cost",
        action="store_true",
        help="Print the hyper_context: stem table (dybnn-tiny, dybnn-tiny-stem, reactnet-tiny).",
    )
    ap.add_argument(
        "--backend",
        choices=("rtl", "hls"),
        default="rtl",
        help="The estimate beside Yosys: of the RTL design (rtl, default) or of the HLS implementation (hls).",
    )
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--cache", type=Path, default=None, help="Cache directory (default: a fresh one per design)."
    )
    ap.add_argument("--work", type=Path, default=None, help="Where the projects go (default: a temp dir).")
    ap.add_argument(
        "--dynamic-cost", action="store_true", help="Print the per-site table of the dynamic units."
    )
    ap.add_argument("--json", type=Path, default=None, help="Write the results here.")
    ap.add_argument(
        "--node-errors", action="store_true", help="Per node: estimate beside Yosys, errors by type."
    )
    a = ap.parse_args()
    if a.part:
        PARTS.update(dict.fromkeys(a.designs, a.part))
    work = a.work or Path(tempfile.mkdtemp(prefix="bench-synth-"))
    work.mkdir(parents=True, exist_ok=True)
    results = {}
    for d in a.designs:
        results[label(d)] = run(
            d, work, a.jobs, a.cache, set(a.types.split(",")) if a.types else None, a.backend
        )
        if a.json:  # after every design, so that a long sweep stopped early keeps what it measured
            a.json.write_text(json.dumps(results, indent=1))
    if a.dynamic_cost:
        print(dynamic_cost(results))
    if a.context_cost:
        print(context_cost(results))
    if a.node_errors:
        print(node_errors(results))
    for r in results.values():
        print(f"{r['design']}: {r['wall_s']:.0f} s wall, {r['cpu_s']:.0f} s CPU ({r['instances']} instances, "
              f"{r['distinct']} distinct, jobs {r['jobs']}, {'cold' if r['cold'] else 'given'} cache)")  # fmt: skip


if __name__ == "__main__":
    main()
