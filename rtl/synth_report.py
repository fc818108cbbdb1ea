"""The ``dybnn synth`` table: post-synthesis resources (Yosys) beside the estimator's, per layer and in total."""

from __future__ import annotations

from typing import Any

from rtl.synth import LIMITS, SynthRecord, SynthResources

#: the key of the estimate entry that holds the FIFOs and width converters
STREAMS = "(streams)"
#: the key of the estimate entry that holds the accelerator totals
TOTAL = "(total)"
EST_KEYS = ("lut", "ff", "bram18", "uram", "dsp")


def estimate_columns(est: Any) -> dict[str, dict[str, float]]:
    """The estimator's numbers (:class:`hls.estimate.DesignEstimate`) per node, for the FIFOs and width converters
    together (:data:`STREAMS`) and in total (:data:`TOTAL`): what ``synth.json`` records beside Yosys's."""
    out = {n.name: {k: round(float(getattr(n.resources, k)), 2) for k in EST_KEYS} for n in est.nodes}
    streams = dict.fromkeys(EST_KEYS, 0.0)
    for f in est.fifos:
        for k in EST_KEYS:
            streams[k] += float(getattr(f.resources, k))
    out[STREAMS] = {k: round(v, 2) for k, v in streams.items()}
    out[TOTAL] = {k: round(float(getattr(est.totals, k)), 2) for k in EST_KEYS}
    return out


def _ys(r: SynthResources, k: str) -> int:
    return r.lut_total if k == "lut" else getattr(r, k)


def _cell(e: dict[str, float] | None, r: SynthResources, k: str) -> str:
    y = _ys(r, k)
    if e is None:
        return f"{y}"
    return f"{round(e[k])}/{y}"


def _estimate_name(rec: SynthRecord) -> str:
    if rec.estimate_backend == "rtl":
        return "estimate of this RTL (--estimate rtl)"
    if rec.estimate_backend == "hls":
        return "estimate of the HLS implementation (--estimate hls, a different design)"
    return "estimate"


def format_table(rec: SynthRecord) -> str:
    """One row per node (estimate/Yosys for LUT, FF, BRAM18, URAM, DSP), one for the streams (FIFOs and width
    converters), the totals, Yosys's LUT breakdown and the limits."""
    est = rec.estimate
    rows = []
    for u in rec.by_kind("node"):
        rows.append((u.name, u.op_type, None if est is None else est.get(u.name), u.resources))
    streams = SynthResources()
    for u in rec.units:
        if u.kind != "node":
            streams = streams + u.resources
    n_streams = len(rec.units) - len(rec.by_kind("node"))
    rows.append(
        (f"{n_streams} FIFOs/converters", "streams", None if est is None else est.get(STREAMS), streams)
    )
    rows.append(("total", "", None if est is None else est.get(TOTAL), rec.totals))
    head = ("layer", "type", "LUT", "FF", "BRAM18", "URAM", "DSP", "LUTRAM", "SRL", "CARRY")
    body = [
        (name, op, *(_cell(e, r, k) for k in EST_KEYS), str(r.lutram), str(r.srl), str(r.carry))
        for name, op, e, r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]

    def line(cells: tuple) -> str:
        return "  ".join(
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [
        f"{rec.graph} ({rec.top}): Yosys {rec.yosys} synth_xilinx -family {rec.family}, part {rec.part}, "
        f"per instance out of context",
        (
            f"columns: {_estimate_name(rec)}/Yosys (LUT = logic + LUTRAM + SRL)"
            if est is not None
            else "columns: Yosys (no estimate: pass --graph with the project's run directory or model)"
        ),  # fmt: skip
        line(head),
        line(tuple("-" * w for w in widths)),
    ]
    out += [line(b) for b in body[:-1]]
    out.append(line(tuple("-" * w for w in widths)))
    out.append(line(body[-1]))
    t = rec.totals
    out.append(
        f"Yosys LUTs: {t.lut} logic + {t.lutram} LUTRAM + {t.srl} SRL = {t.lut_total}; {t.carry} CARRY cells"
    )
    out.append(f"limits: {LIMITS}")
    return "\n".join(out)


__all__ = ["STREAMS", "TOTAL", "estimate_columns", "format_table"]
