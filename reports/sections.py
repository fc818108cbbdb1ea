"""The report as data: one :class:`Section` per step, tables of already formatted strings, figure makers.

Both renderers (:mod:`reports.render`: Markdown and HTML) write the same sections, so a number appears in the
same form in ``summary.md`` and ``report.html``; every number comes from the run directory's files through the
formatters of :mod:`reports.fmt`. Building sections draws nothing: figures are made only when rendered.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from reports import figures as F
from reports.fmt import (
    NA,
    fmt_acc,
    fmt_bool,
    fmt_float,
    fmt_fps,
    fmt_int,
    fmt_pct,
    fmt_sci,
    fmt_seconds,
    fmt_value,
)
from reports.run import (
    STEP_FILES,
    STEP_TITLES,
    RunRecords,
    epoch_records,
    final_test_acc,
    is_dynamic_model,
    step_command,
    study_models,
    threshold_sites,
)
from runfiles.records import Mismatch, StaticVsDynamic

#: resources in table order, with their column names
RESOURCES: tuple[tuple[str, str], ...] = (
    ("lut", "LUT"),
    ("ff", "FF"),
    ("bram18", "BRAM18"),
    ("uram", "URAM"),
    ("dsp", "DSP"),
)
#: figures drawn per DySign site, for at most this many sites
MAX_SITE_FIGURES = 3

#: step -> "No ... found" sentence start
MISSING: dict[str, str] = {
    "train": "No training metrics found",
    "export": "No QONNX model found",
    "lower": "No hardware graph found",
    "verify": "No verification found",
    "estimate": "No estimate found",
    "hls": "No HLS C-simulation result found",
    "thresholds": "No dynamic thresholds found",
    "study": "No static vs dynamic study found",
    "rtl": "No RTL simulation result found",
}


@dataclass(frozen=True)
class Table:
    """A table of formatted cells; ``align`` has one letter per column (``l``/``r``), default: first column
    left, the others right."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    align: str = ""

    def alignment(self) -> str:
        return self.align or ("l" + "r" * (len(self.header) - 1))


@dataclass(frozen=True)
class FigureRef:
    """A figure of the report: ``make()`` draws it (only the HTML renderer calls it)."""

    name: str
    caption: str
    make: Callable[[], Figure]


@dataclass(frozen=True)
class Section:
    """The part of the report that shows one step."""

    step: str
    title: str
    #: ``done``, ``failed`` (the step ran and reports a failure), ``incomplete``, ``missing``, ``unreadable`` or
    #: ``stale`` (made from another checkpoint, model or graph than the run holds)
    status: str
    #: file of the run directory it comes from (relative)
    source: str
    #: one line for the flow table
    key_numbers: str = ""
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    figures: tuple[FigureRef, ...] = ()


@dataclass(frozen=True)
class Report:
    title: str
    run_dir: str
    flow: Table
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _t(header: Sequence[str], rows: Sequence[Sequence[str]], title: str = "", align: str = "") -> Table:
    return Table(tuple(header), tuple(tuple(r) for r in rows), title, align)


def _absent(step: str, run: RunRecords) -> Section | None:
    """The section of a step whose file is missing or unreadable; ``None`` when the record is there."""
    source = run.files[step] if step in run.files else STEP_FILES[step]
    cmd = step_command(step, run.run_dir)
    if step in run.errors:
        return Section(
            step,
            STEP_TITLES[step],
            "unreadable",
            source,
            "unreadable",
            (f"Could not read `{source}`: {run.errors[step]}. Re-run `{cmd}`.",),
        )
    if run.record(step) is None:
        return Section(step, STEP_TITLES[step], "missing", source, "", (f"{MISSING[step]}: run `{cmd}`.",))
    return None


# ---- training


def _dataset_name(metrics: Mapping[str, Any], config: Mapping[str, Any] | None) -> str | None:
    ds = metrics.get("dataset")
    if isinstance(ds, Mapping):
        ds = ds.get("name")
    if ds is None and config:
        ds = config.get("dataset")
    return None if ds is None else str(ds)


def training_section(run: RunRecords) -> Section:
    if (s := _absent("train", run)) is not None:
        return s
    m = run.metrics
    assert m is not None
    recs = epoch_records(m)
    acc = final_test_acc(m)
    model = m.get("model") or (run.config or {}).get("model")
    ds = _dataset_name(m, run.config)
    status = "incomplete" if m.get("done") is False else "done"
    what = " ".join(p for p in (str(model) if model else "", f"on {ds}" if ds else "") if p) or "model"
    state = "training still running" if status == "incomplete" else "training done"
    paras = [
        f"{what}: {len(recs)} epochs recorded, final test accuracy {fmt_acc(acc)} ({state}; accuracies as % of "
        "the test split)."
    ]
    tables: list[Table] = []
    if run.config:
        rows = [(str(k), fmt_value(v)) for k, v in run.config.items()]
        tables.append(_t(("field", "value"), rows, "Configuration (`config.json`)", "ll"))
    elif "config" in run.errors:
        paras.append(f"Could not read `config.json`: {run.errors['config']}.")
    by_step: dict[Any, list[Mapping[str, Any]]] = {}
    for r in recs:
        by_step.setdefault(r.get("step"), []).append(r)
    if by_step:
        rows = []
        for step, rs in by_step.items():
            last = rs[-1]
            secs = sum(float(r.get("seconds") or 0.0) for r in rs)
            rows.append(
                (
                    fmt_value(step),
                    fmt_int(len(rs)),
                    fmt_float(last.get("train_loss")),
                    fmt_acc(last.get("train_acc")),
                    fmt_float(last.get("test_loss")),
                    fmt_acc(last.get("test_acc")),
                    fmt_seconds(secs),
                )
            )
        tables.append(
            _t(
                ("step", "epochs", "train loss", "train acc", "test loss", "test acc", "time"),
                rows,
                "Per step (last epoch of each step)",
            )
        )
        rows = [
            (
                fmt_value(r.get("epoch")),
                fmt_value(r.get("step")),
                fmt_float(r.get("train_loss")),
                fmt_acc(r.get("train_acc")),
                fmt_float(r.get("test_loss")),
                fmt_acc(r.get("test_acc")),
                fmt_sci(r.get("lr")),
                fmt_seconds(r.get("seconds")),
            )
            for r in recs
        ]
        tables.append(
            _t(
                ("epoch", "step", "train loss", "train acc", "test loss", "test acc", "lr", "time"),
                rows,
                "Per epoch",
            )
        )
    figs = (
        FigureRef(
            "training", "Loss and accuracy per epoch; training steps shaded.", lambda: F.plot_training(m)
        ),
    )
    key = f"test acc {fmt_acc(acc)}, {len(recs)} epochs"
    return Section(
        "train", STEP_TITLES["train"], status, run.files["train"], key, tuple(paras), tuple(tables), figs
    )


# ---- export and lowering


def export_section(run: RunRecords) -> Section:
    if (s := _absent("export", run)) is not None:
        return s
    assert run.model_onnx is not None
    size = run.model_onnx.stat().st_size
    return Section(
        "export",
        STEP_TITLES["export"],
        "done",
        run.files["export"],
        f"{fmt_int(size)} bytes",
        (f"QONNX model `{run.files['export']}`: {fmt_int(size)} bytes.",),
    )


def lower_section(run: RunRecords) -> Section:
    if (s := _absent("lower", run)) is not None:
        return s
    g = run.graph or {}
    nodes = [n for n in (g.get("nodes") or []) if isinstance(n, Mapping)]
    counts: dict[str, int] = {}
    for n in nodes:
        t = str(n.get("op_type", "?"))
        counts[t] = counts.get(t, 0) + 1
    dyn = sum(v for k, v in counts.items() if k.startswith("Dynamic"))
    rows = [(k, fmt_int(v)) for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    held = (
        "they read the context of the HyperContext node, which holds the one frame"
        if counts.get("HyperContext")
        else "each holds a whole frame"
    )
    return Section(
        "lower",
        STEP_TITLES["lower"],
        "done",
        run.files["lower"],
        f"{fmt_int(len(nodes))} nodes, {fmt_int(dyn)} dynamic",
        (f"{fmt_int(len(nodes))} hardware nodes, {fmt_int(dyn)} of them dynamic-threshold units ({held}).",),
        (_t(("node type", "count"), rows, "Node types"),),
    )


# ---- verification


def _first_mismatch(fm: Mismatch | None) -> str:
    if fm is None:
        return "-"
    return f"node {fm.node}, tensor {fm.tensor}, index {fmt_value(fm.index)}: {fmt_value(fm.a)} vs {fmt_value(fm.b)}"


def verify_section(run: RunRecords) -> Section:
    if (s := _absent("verify", run)) is not None:
        return s
    v = run.verify
    assert v is not None
    pairs = v.pairs
    total = sum(p.mismatches for p in pairs)
    ok = v.ok
    levels = " -> ".join(v.levels)
    verdict = "every level pair is identical" if ok else "LEVELS DIFFER"
    rows = [
        (p.label, fmt_int(p.tensors), fmt_int(p.elements), fmt_int(p.mismatches), _first_mismatch(p.first))
        for p in pairs
    ]
    return Section(
        "verify",
        STEP_TITLES["verify"],
        "done" if ok else "failed",
        run.files["verify"],
        f"{fmt_int(len(pairs))} pairs, {fmt_int(total)} mismatches",
        (
            f"Levels {levels or NA}, {fmt_int(v.max_samples)} samples: {verdict} ({fmt_int(total)} mismatching "
            "elements in total; exact integer equality, no tolerance).",
        ),
        (_t(("pair", "tensors", "elements", "mismatches", "first mismatch"), rows, "Level pairs", "lrrrl"),),
        (
            FigureRef(
                "verification",
                "Tensors and elements compared per level pair, and mismatches.",
                lambda: F.plot_verification(v),
            ),
        ),
    )


# ---- estimate


def _change(static: Any, dynamic: Any) -> str:
    try:
        s, d = float(static), float(dynamic)
    except (TypeError, ValueError):
        return NA
    if s == 0:
        return "+0.0 %" if d == 0 else NA
    return f"{100.0 * (d - s) / s:+.1f} %"


def _svd_table(svd: StaticVsDynamic) -> Table:
    st, dy = svd.static, svd.dynamic
    rows = []
    for key, label in RESOURCES:  # the system totals (accelerator + shell)
        a, b = st.system_totals[key], dy.system_totals[key]
        rows.append((label, fmt_int(a), fmt_int(b), _change(a, b)))
    for key, label, f in (("latency_cycles", "latency (cycles)", fmt_int), ("fps", "FPS", fmt_fps)):
        a, b = getattr(st, key), getattr(dy, key)
        rows.append((label, f(a), f(b), _change(a, b)))
    return _t(
        ("metric", "static (RSign)", "dynamic (DySign)", "change"),
        rows,
        "Cost of dynamic thresholds (`static_vs_dynamic`)",
    )


def estimate_section(run: RunRecords) -> Section:
    if (s := _absent("estimate", run)) is not None:
        return s
    e = run.estimates
    assert e is not None
    dev = e.device
    part = dev.part if dev is not None else NA
    totals, system, util = e.totals, e.system_totals, e.utilization or {}
    clock, lat, fits = e.clock_ns, e.latency_cycles, e.fits
    lat_us = f"{float(lat) * float(clock) / 1000.0:,.1f} µs"
    paras = [
        f"Part {part}, clock {fmt_value(clock)} ns: {fmt_fps(e.fps)} frames/s, latency {fmt_int(lat)} cycles "
        f"({lat_us}), bottleneck {e.bottleneck}; fits the part: {fmt_bool(fits)}."
    ]
    if e.target_fps is not None:
        paras.append(f"Target: {fmt_fps(e.target_fps)} frames/s, met: {fmt_bool(e.target_met)}.")
    rows = []
    for key, label in RESOURCES:
        rows.append(
            (
                label,
                fmt_int(totals[key]),
                fmt_int(system[key]),
                fmt_int(dev.capacity.get(key) if dev is not None else None),
                fmt_pct(util.get(key)),
            )
        )
    tables = [
        _t(
            ("resource", "accelerator (totals)", "system (system_totals)", "available", "utilization"),
            rows,
            "Totals",
        )
    ]
    layers = e.layers
    if layers:
        rows = [
            (
                r.name,
                r.type,
                fmt_int(r.pe),
                fmt_int(r.simd),
                fmt_int(r.cycles),
                *(fmt_int(getattr(r, k)) for k, _ in RESOURCES),
            )
            for r in layers
        ]
        tables.append(
            _t(
                ("layer", "type", "PE", "SIMD", "cycles", *(lab for _, lab in RESOURCES)),
                rows,
                "Per layer (cycles per frame)",
                "ll" + "r" * 8,
            )
        )
    if e.static_vs_dynamic is not None:
        tables.append(_svd_table(e.static_vs_dynamic))
        if any(d.type == "HyperContext" for d in e.static_vs_dynamic.dynamic_nodes):
            paras.append(
                "The hyper functions read one context vector that the HyperContext node pools from the stem "
                "(hyper_context: stem): that node buffers the one frame, the dynamic units stream; the last table "
                "compares the same network with static thresholds."
            )
        else:
            paras.append(
                "A dynamic-threshold unit buffers a whole frame (BRAM) while its statistics and hyper function "
                "are computed, which adds a frame of latency per dynamic site; the last table compares the same "
                "network with static thresholds."
            )
    figs = (
        FigureRef("layer_resources", "Per-layer resources (stacked).", lambda: F.plot_layer_resources(e)),
        FigureRef(
            "layer_cycles",
            "Per-layer cycles per frame; the bottleneck in red.",
            lambda: F.plot_layer_cycles(e),
        ),
        FigureRef("utilization", "Device utilization per resource.", lambda: F.plot_utilization(e)),
    )
    key = (
        f"LUT {fmt_int(totals['lut'])}, BRAM18 {fmt_int(totals['bram18'])}, DSP {fmt_int(totals['dsp'])}, "
        f"{fmt_fps(e.fps)} FPS, fits {part}: {fmt_bool(fits)}"
    )
    return Section(
        "estimate",
        STEP_TITLES["estimate"],
        "done",
        run.files["estimate"],
        key,
        tuple(paras),
        tuple(tables),
        figs,
    )


# ---- HLS C-simulation


def hls_section(run: RunRecords) -> Section:
    if (s := _absent("hls", run)) is not None:
        return s
    c = run.csim
    assert c is not None
    ok = c.get("ok")
    verdict = "passed" if ok else ("FAILED" if ok is not None else "result unknown")
    paras = [
        f"C-simulation (g++) {verdict}: {fmt_int(c.get('samples'))} samples, {fmt_int(c.get('mismatches'))} mismatches "
        f"against the simulator; build {fmt_seconds(c.get('build_seconds'))}, run {fmt_seconds(c.get('run_seconds'))}."
    ]
    tables = []
    cyc, exp = c.get("cycles") or {}, c.get("expected_cycles") or {}
    if cyc or exp:
        names = list(cyc) + [k for k in exp if k not in cyc]
        rows = []
        for n in names:
            a, b = cyc.get(n), exp.get(n)
            same = NA if a is None or b is None else ("yes" if a == b else "NO")
            rows.append((n, fmt_int(a), fmt_int(b), same))
        agree = sum(1 for r in rows if r[3] == "yes")
        paras.append(
            f"Loop-iteration counters agree with the estimator's cycle model for {agree} of {len(rows)} nodes."
        )
        tables.append(
            _t(
                ("node", "counted cycles (C-sim)", "expected cycles (estimate)", "equal"),
                rows,
                "Cycles per frame",
            )
        )
    key = f"{'pass' if ok else 'FAIL'}, {fmt_int(c.get('samples'))} samples, {fmt_int(c.get('mismatches'))} mismatches"
    return Section(
        "hls",
        STEP_TITLES["hls"],
        "done" if ok else "failed",
        run.files["hls"],
        key,
        tuple(paras),
        tuple(tables),
    )


# ---- dynamic thresholds


def threshold_stats(thresholds: Mapping[str, np.ndarray], site: str) -> dict[str, float | int]:
    """Summary statistics of one site: shape, range of tau and of the thresholds, mean over channels of the
    standard deviation over samples, largest ``|threshold - tau|``."""
    thr = np.asarray(thresholds[f"{site}.thresholds"], dtype=np.float64)
    tau = thresholds.get(f"{site}.tau")
    out: dict[str, float | int] = {
        "samples": int(thr.shape[0]),
        "channels": int(thr.shape[1]),
        "thr_min": float(thr.min()) if thr.size else float("nan"),
        "thr_max": float(thr.max()) if thr.size else float("nan"),
        "spread": float(thr.std(axis=0).mean()) if thr.size else float("nan"),
    }
    if tau is not None:
        tau = np.asarray(tau, dtype=np.float64)
        out["tau_min"], out["tau_max"] = float(tau.min()), float(tau.max())
        out["max_delta"] = float(np.abs(thr - tau[None, :]).max()) if thr.size else float("nan")
    return out


def thresholds_section(run: RunRecords) -> Section:
    if (s := _absent("thresholds", run)) is not None:
        return s
    th = run.thresholds
    assert th is not None
    sites = threshold_sites(th)
    rows = []
    for site in sites:
        st = threshold_stats(th, site)
        rows.append(
            (
                site,
                fmt_int(st["samples"]),
                fmt_int(st["channels"]),
                fmt_float(st.get("tau_min")),
                fmt_float(st.get("tau_max")),
                fmt_float(st["thr_min"]),
                fmt_float(st["thr_max"]),
                fmt_float(st["spread"]),
                fmt_float(st.get("max_delta")),
            )
        )
    paras = [
        f"{fmt_int(len(sites))} DySign sites. A channel binarizes to +1 iff x >= tau_c + delta_c(x); values are on "
        "the residual-stream scale. 'spread' is the standard deviation over samples, averaged over channels."
    ]
    figs: list[FigureRef] = []
    for site in sites[:MAX_SITE_FIGURES]:
        figs.append(
            FigureRef(
                f"thresholds_{site}",
                f"{site}: per-channel distribution over samples, static tau marked.",
                lambda site=site: F.plot_threshold_distribution(th, site),
            )
        )
        figs.append(
            FigureRef(
                f"threshold_map_{site}",
                f"{site}: samples x channels.",
                lambda site=site: F.plot_threshold_heatmap(th, site),
            )
        )
    if len(sites) > MAX_SITE_FIGURES:
        paras.append(f"Figures for the first {MAX_SITE_FIGURES} of {len(sites)} sites.")
    n = rows[0][1] if rows else NA
    return Section(
        "thresholds",
        STEP_TITLES["thresholds"],
        "done",
        run.files["thresholds"],
        f"{fmt_int(len(sites))} sites, {n} samples",
        tuple(paras),
        (
            _t(
                (
                    "site",
                    "samples",
                    "channels",
                    "tau min",
                    "tau max",
                    "threshold min",
                    "threshold max",
                    "spread",
                    "max abs(delta)",
                ),
                rows,
                "Per site",
            ),
        ),
        tuple(figs),
    )


# ---- static vs dynamic study


def study_section(run: RunRecords) -> Section:
    if (s := _absent("study", run)) is not None:
        return s
    st = run.study
    assert st is not None
    models = study_models(st)
    rows = []
    for name, m in models:
        hw = m.get("hw") or {}
        accs = m.get("acc") or []
        rows.append(
            (
                name,
                m.get("kind") or ("dynamic" if is_dynamic_model(name, m) else "static"),
                fmt_value(list(m.get("seeds") or [])),
                ", ".join(fmt_acc(a) for a in accs) or NA,
                fmt_acc(m.get("mean")),
                fmt_acc(m.get("std")),
                fmt_int(hw.get("lut")),
                fmt_int(hw.get("bram18")),
                fmt_int(hw.get("latency_cycles")),
                fmt_fps(hw.get("fps")),
            )
        )
    tables = [
        _t(
            (
                "model",
                "thresholds",
                "seeds",
                "test acc per seed",
                "mean",
                "std",
                "LUT",
                "BRAM18",
                "latency (cycles)",
                "FPS",
            ),
            rows,
            "Models",
            "llllrrrrrr",
        )
    ]
    statics = [(n, m) for n, m in models if not is_dynamic_model(n, m)]
    dynamics = [(n, m) for n, m in models if is_dynamic_model(n, m)]
    paras = []
    key = ", ".join(f"{n} {fmt_acc(m.get('mean'))}" for n, m in models)
    if statics and dynamics:
        (sn, sm), (dn, dm) = statics[0], dynamics[0]
        if sm.get("mean") is not None and dm.get("mean") is not None:
            diff = 100.0 * (float(dm["mean"]) - float(sm["mean"]))
            paras.append(f"{dn} vs {sn}: {diff:+.2f} points of mean test accuracy.")
        shw, dhw = sm.get("hw") or {}, dm.get("hw") or {}
        rows = []
        for k, label in (
            ("lut", "LUT"),
            ("bram18", "BRAM18"),
            ("latency_cycles", "latency (cycles)"),
            ("fps", "FPS"),
        ):
            f = fmt_fps if k == "fps" else fmt_int
            rows.append((label, f(shw.get(k)), f(dhw.get(k)), _change(shw.get(k), dhw.get(k))))
        tables.append(_t(("metric", sn, dn, "change"), rows, "Hardware cost"))
    return Section(
        "study",
        STEP_TITLES["study"],
        "done",
        run.files["study"],
        key,
        tuple(paras),
        tuple(tables),
        (
            FigureRef(
                "static_vs_dynamic",
                "Accuracy over seeds and hardware cost, static vs dynamic thresholds.",
                lambda: F.plot_static_vs_dynamic(st),
            ),
            FigureRef(
                "accuracy_vs_cost",
                "Test accuracy (mean ± std over seeds) against LUT, BRAM18 and latency: static, dynamic and each "
                "variant of the study.",
                lambda: F.plot_accuracy_vs_cost(st),
            ),
        ),
    )


def rtl_section(run: RunRecords) -> Section | None:
    """The RTL simulation's measurements beside the timing model's; no section when the run has none."""
    if "rtl" not in run.errors and run.rtl_sim is None:
        return None
    if (s := _absent("rtl", run)) is not None:
        return s
    r = run.rtl_sim
    assert r is not None
    verdict = "exact" if r.ok else f"FAILED ({fmt_int(r.mismatches)} output values differ from the simulator)"
    stress = {True: "; with random input gaps and output back-pressure: exact, no stall",
              False: "; with random input gaps and output back-pressure: FAILED", None: ""}[r.stress_ok]  # fmt: skip
    paras = [
        f"Verilator simulation of the RTL design ({r.part}, {fmt_float(r.clock_ns)} ns), {fmt_int(r.frames)} "
        f"frames: {verdict}{stress}. Build {fmt_seconds(r.build_seconds)}, run {fmt_seconds(r.run_seconds)} "
        f"({fmt_sci(r.cycles_per_second)} cycles/s)."
    ]
    same = lambda a, b: NA if a is None or b is None else ("yes" if a == b else "NO")  # noqa: E731
    timing = _t(
        ("", "RTL (measured)", "timing model", "equal"),
        [
            (
                "cycles per frame",
                fmt_int(r.cycles_per_frame),
                fmt_int(r.model_cycles_per_frame),
                same(r.cycles_per_frame, r.model_cycles_per_frame),
            ),
            (
                "first-frame latency (cycles)",
                fmt_int(r.latency_cycles),
                fmt_int(r.model_latency_cycles),
                same(r.latency_cycles, r.model_latency_cycles),
            ),
        ],  # fmt: skip
        "Cycles",
    )
    fifos = _t(
        ("stream", "producer", "consumer", "depth (model)", "max occupancy (RTL)"),
        [
            (f.tensor, f.producer, f.consumer or "output", fmt_int(f.depth), fmt_int(f.max_level))
            for f in r.fifos
        ],
        "FIFO occupancy",
        "lllrr",
    )
    full = sum(1 for f in r.fifos if f.max_level >= f.depth)
    paras.append(f"{full} of {len(r.fifos)} FIFOs were full at some point (a full FIFO stalls its producer).")
    key = (f"{'exact' if r.ok else 'FAIL'}, {fmt_int(r.cycles_per_frame)} / {fmt_int(r.model_cycles_per_frame)} "
           "cycles per frame (RTL / model)")  # fmt: skip
    return Section("rtl", STEP_TITLES["rtl"], "done" if r.ok else "failed", run.files["rtl"], key, tuple(paras),
                   (timing, fifos))  # fmt: skip


SECTION_BUILDERS: tuple[Callable[[RunRecords], Section | None], ...] = (
    training_section,
    export_section,
    lower_section,
    verify_section,
    estimate_section,
    hls_section,
    thresholds_section,
    study_section,
    rtl_section,
)


def _mark_stale(s: Section, run: RunRecords) -> Section:
    """A section whose record was made from other products than the run holds becomes ``stale``."""
    why = run.stale.get(s.step)
    if why is None or s.status in ("missing", "unreadable"):
        return s
    note = f"Stale: `{s.source}` was {why}; its numbers do not describe this run. Re-run `{step_command(s.step, run.run_dir)}`."
    return dataclasses.replace(s, status="stale", paragraphs=(note, *s.paragraphs))


def build_sections(run: RunRecords) -> Report:
    """Every section of the report of ``run``, and the flow table (step, status, key numbers, file)."""
    sections = tuple(_mark_stale(s, run) for b in SECTION_BUILDERS if (s := b(run)) is not None)
    flow = _t(
        ("step", "status", "key numbers", "file"),
        [(s.step, s.status, s.key_numbers or "-", f"`{s.source}`") for s in sections],
        "Flow",
        "llll",
    )
    name = run.run_dir.resolve().name or str(run.run_dir)
    return Report(f"dybnn run report: {name}", str(run.run_dir), flow, sections)
