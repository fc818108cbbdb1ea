"""Estimate documents: the ``estimates.json`` record (:class:`runfiles.records.EstimatesRecord`), the CSV rows,
the text table, and the static-vs-dynamic comparison."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from hls.devices import Device
from hls.estimate.finn import FinnEstimate
from hls.estimate.pipeline import GraphModel, config_for
from hls.estimate.records import RESOURCE_KEYS, DesignEstimate, Resources
from hls.estimate.registry import EstimateConfig
from hls.estimate.static import has_dynamic, static_equivalent
from hls.folding import Fold, to_json
from hwsim import nodes as N
from hwsim.graph import HwGraph
from runfiles.records import (
    DesignSummary,
    DeviceRecord,
    DynamicNodeCost,
    EstimatesRecord,
    FifoRow,
    FinnReference,
    LayerRow,
    StaticVsDynamic,
)

LAYER_KEYS = ("name", "type", "pe", "simd", "cycles", *RESOURCE_KEYS)


def _summary(est: DesignEstimate) -> DesignSummary:
    return DesignSummary(
        totals=est.totals.rounded(),
        system_totals=est.system_totals.rounded(),
        fps=est.fps,
        max_cycles=est.max_cycles,
        latency_cycles=est.latency_cycles,
        bottleneck=est.bottleneck,
    )


def static_vs_dynamic(
    g: HwGraph,
    folding: dict[str, Fold],
    clock_ns: float,
    device: Device | None = None,
    cfg: EstimateConfig | None = None,
    dynamic_est: DesignEstimate | None = None,
    static_est: DesignEstimate | None = None,
) -> StaticVsDynamic:
    """The same network with static RSign/RPReLU (:func:`static_equivalent`) at the same folding, side by side
    with the dynamic one: totals, fps, latency, their differences, and what each dynamic node costs.
    ``static_est``: the static network's estimate, when another backend made it (``dybnn estimate --backend
    rtl``)."""
    cfg = config_for(device, cfg)
    dyn = dynamic_est or GraphModel(g, cfg).estimate(folding, clock_ns, device)
    sg = static_equivalent(g)
    # the static nodes have no frame buffer
    sta = static_est or GraphModel(sg, cfg).estimate(
        {k: replace(f, buffers=1, storage="values") for k, f in folding.items()}, clock_ns, device
    )
    d, s = dyn.totals.rounded(), sta.totals.rounded()
    nodes = []
    for n in g.nodes:
        if isinstance(n, N.HyperContext):  # hyper_context: stem: the one frame buffer; no static counterpart
            de = dyn.node(n.name)
            nodes.append(
                DynamicNodeCost(
                    name=n.name,
                    type=n.op_type,
                    static_type="-",
                    dynamic=de.resources.rounded(),
                    static=Resources().rounded(),
                    frame_buffer=de.parts.get("frame_buffer", Resources()).rounded(),
                    dynamic_cycles=de.cycles,
                    static_cycles=0,
                    extra_latency_cycles=de.fill,
                )
            )
        elif isinstance(n, (N.DynamicSign, N.DynamicPReLU)):
            de, se = dyn.node(n.name), sta.node(n.name)
            nodes.append(
                DynamicNodeCost(
                    name=n.name,
                    type=n.op_type,
                    static_type=se.op_type,
                    dynamic=de.resources.rounded(),
                    static=se.resources.rounded(),
                    frame_buffer=de.parts.get("frame_buffer", Resources()).rounded(),
                    dynamic_cycles=de.cycles,
                    static_cycles=se.cycles,
                    extra_latency_cycles=de.fill - se.fill,
                )
            )
    fifo_d = Resources.total(f.resources for f in dyn.fifos).rounded()
    fifo_s = Resources.total(f.resources for f in sta.fifos).rounded()
    return StaticVsDynamic(
        dynamic=_summary(dyn),
        static=_summary(sta),
        delta={
            **{k: d[k] - s[k] for k in RESOURCE_KEYS},
            "fps": dyn.fps - sta.fps,
            "latency_cycles": dyn.latency_cycles - sta.latency_cycles,
            "shortcut_fifos": {k: fifo_d[k] - fifo_s[k] for k in RESOURCE_KEYS},
        },
        dynamic_nodes=nodes,
    )


def to_document(
    est: DesignEstimate,
    folding: dict[str, Fold],
    g: HwGraph | None = None,
    finn: FinnEstimate | None = None,
    cfg: EstimateConfig | None = None,
) -> EstimatesRecord:
    """The ``estimates.json`` record (keys documented in docs/estimation.md); write ``record.to_json()``."""
    dev = est.device
    return EstimatesRecord(
        graph=est.graph,
        clock_ns=est.clock_ns,
        **vars(_summary(est)),
        latency_us=est.latency_us,
        layers=[LayerRow(**e.row()) for e in est.nodes],
        fifos=[
            FifoRow(name=f.name, depth=f.depth, width=f.width, **f.resources.rounded()) for f in est.fifos
        ],
        shortcut_fifos=est.shortcut_fifos,
        host_nodes=list(est.host),
        folding=to_json({n.name: folding.get(n.name, Fold()) for n in est.nodes if n.name not in est.forks}),
        device=None
        if dev is None
        else DeviceRecord(
            family=dev.family,
            part=dev.part,
            platform=dev.platform,
            capacity=dev.capacity(),
            source=dev.source,
            shell=est.shell_source,
        ),
        # a resource the part lacks but the design uses is reported as null utilization with fits = false
        utilization=None
        if dev is None
        else {k: (None if v == float("inf") else v) for k, v in est.utilization().items()},
        fits=est.fits,
        finn_reference=None
        if finn is None
        else FinnReference(
            totals=finn.totals.rounded() | {"ff": None},
            layers=[
                {"name": n.name, "type": n.op_type, **n.resources.rounded(), "ff": None} for n in finn.nodes
            ],
        ),
        static_vs_dynamic=static_vs_dynamic(g, folding, est.clock_ns, dev, cfg, dynamic_est=est)
        if g is not None and has_dynamic(g)
        else None,
    )


def to_csv(est: DesignEstimate) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(LAYER_KEYS), lineterminator="\n")
    w.writeheader()
    for e in est.nodes:
        w.writerow(e.row())
    fifo = Resources.total(f.resources for f in est.fifos).rounded()
    w.writerow({"name": "(fifos)", "type": "FIFO", "pe": "", "simd": "", "cycles": "", **fifo})
    w.writerow(
        {
            "name": "(total)",
            "type": "",
            "pe": "",
            "simd": "",
            "cycles": est.max_cycles,
            **est.totals.rounded(),
        }
    )
    w.writerow(
        {
            "name": "(system)",
            "type": "",
            "pe": "",
            "simd": "",
            "cycles": est.max_cycles,
            **est.system_totals.rounded(),
        }
    )
    return buf.getvalue()


def format_table(
    est: DesignEstimate, finn: FinnEstimate | None = None, comparison: StaticVsDynamic | None = None
) -> str:
    """A human-readable per-layer table, totals, performance, fit, and the static-vs-dynamic comparison."""
    finn_by = {n.name: n for n in finn.nodes} if finn else {}
    head = (
        f"{'layer':<22} {'type':<13} {'PE':>5} {'SIMD':>5} {'cycles':>9} {'LUT':>8} {'FF':>8} {'BRAM18':>7} "
        f"{'URAM':>5} {'DSP':>5}"
    )
    if finn:
        head += f" | {'FINN LUT':>8} {'FINN BRAM':>9}"
    lines = [head, "-" * len(head)]
    for e in est.nodes:
        r = e.resources.rounded()
        mark = "*" if e.name == est.bottleneck else " "
        line = (
            f"{e.name[:21]:<21}{mark} {e.op_type:<13} {e.pe:>5} {e.simd:>5} {e.cycles:>9} {r['lut']:>8} "
            f"{r['ff']:>8} {r['bram18']:>7} {r['uram']:>5} {r['dsp']:>5}"
        )
        if finn:
            fn = finn_by.get(e.name)
            has = fn is not None and fn.finn_has_model
            fr = fn.resources.rounded() if has else {"lut": "-", "bram18": "-"}
            line += f" | {fr['lut']:>8} {fr['bram18']:>9}"
        lines.append(line)
    fifo = Resources.total(f.resources for f in est.fifos).rounded()
    lines.append("-" * len(head))

    def tot(label: str, r: dict[str, int], extra: str = "") -> str:
        return (
            f"{label:<22} {'':<13} {'':>5} {'':>5} {'':>9} {r['lut']:>8} {r['ff']:>8} {r['bram18']:>7} "
            f"{r['uram']:>5} {r['dsp']:>5}{extra}"
        )

    lines.append(tot(f"FIFOs ({len(est.fifos)})", fifo))
    ft = finn.totals.rounded() if finn else None
    lines.append(
        tot("accelerator total", est.totals.rounded(), f" | {ft['lut']:>8} {ft['bram18']:>9}" if ft else "")
    )
    lines.append(tot("system (+ shell)", est.system_totals.rounded()))
    lines.append("")
    lines.append(
        f"bottleneck {est.bottleneck}: {est.max_cycles} cycles/frame -> {est.fps:,.1f} frames/s at "
        f"{1e3 / est.clock_ns:.1f} MHz; latency {est.latency_cycles} cycles ({est.latency_us:,.1f} us)"
    )
    dyn = [e for e in est.nodes if e.op_type in ("DynamicSign", "DynamicPReLU")]
    ctx = [e for e in est.nodes if e.op_type == "HyperContext"]
    if ctx:  # hyper_context: stem: the one frame buffer is the context node's; the dynamic units stream
        lines.append(
            f"frame buffers: {len(ctx)}, in the hyper context {', '.join(f'{e.name} (buffers = {e.buffers})' for e in ctx)}; "
            f"the {len(dyn)} dynamic units read its context and buffer no frame"
        )
    elif dyn:
        two = [e.name for e in dyn if e.buffers == 2]
        lines.append(
            f"frame buffers: {len(two)} of {len(dyn)} dynamic units ping-pong (buffers = 2)"
            + (f": {', '.join(two)}" if two and len(two) < len(dyn) else "")
        )
        lv = [e.name for e in dyn if e.storage == "levels"]
        if lv:
            lines.append(f"frame buffers storing levels (buffer_storage: levels): {', '.join(lv)}")
    if est.host:
        lines.append(f"host (software after the accelerator, not estimated): {', '.join(est.host)}")
    if est.device is not None:
        u = est.utilization()
        us = ", ".join(f"{k} {v:.1%}" if v is not None else f"{k} -" for k, v in u.items())
        verdict = "fits" if est.fits else "DOES NOT FIT"
        lines.append(f"{est.device.family} ({est.device.part}): {verdict}; utilization {us}")
    if est.shortcut_fifos:
        deep = sorted(
            ((d, f"{n}.{t}") for n, m in est.shortcut_fifos.items() for t, d in m.items() if d > 2),
            reverse=True,
        )
        if deep:
            shown = ", ".join(f"{k}={d}" for d, k in deep[:6])
            more = f" (+{len(deep) - 6} more in --json)" if len(deep) > 6 else ""
            lines.append(f"deepest shortcut FIFOs (stream words): {shown}{more}")
    if comparison:
        d, s, dd = comparison.dynamic, comparison.static, comparison.delta
        lines.append("")
        lines.append("static RSign/RPReLU vs dynamic thresholds (same folding):")
        lines.append(
            f"  {'':<10} {'LUT':>9} {'FF':>9} {'BRAM18':>7} {'URAM':>5} {'DSP':>5} {'frames/s':>11} "
            f"{'latency':>10}"
        )
        for label, x in (("static", s), ("dynamic", d)):
            r = x.totals
            lines.append(
                f"  {label:<10} {r['lut']:>9} {r['ff']:>9} {r['bram18']:>7} {r['uram']:>5} {r['dsp']:>5} "
                f"{x.fps:>11,.1f} {x.latency_cycles:>10}"
            )
        lines.append(
            f"  {'delta':<10} {dd['lut']:>+9} {dd['ff']:>+9} {dd['bram18']:>+7} {dd['uram']:>+5} "
            f"{dd['dsp']:>+5} {dd['fps']:>+11,.1f} {dd['latency_cycles']:>+10}"
        )
    return "\n".join(lines)
