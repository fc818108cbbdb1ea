"""Figures of an estimate record (``estimates.json``): per-layer resources, per-layer cycles, utilization."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.figures._common import (
    BAD,
    DYNAMIC_LABEL_COLOR,
    DYNAMIC_TYPES,
    HIGHLIGHT,
    RESOURCE_COLORS,
    RESOURCE_LABELS,
    RESOURCES,
    empty_axes,
    label_layers,
    layer_figure_width,
    new_figure,
    num,
)
from runfiles.records import EstimatesRecord, LayerRow


def _part(estimate: EstimatesRecord) -> str:
    return estimate.device.part if estimate.device is not None else "no part"


def _clock(estimate: EstimatesRecord) -> str:
    return f"{estimate.clock_ns:g} ns clock"


def _dynamic_legend(layers: list[LayerRow]) -> list[Patch]:
    if any(r.type in DYNAMIC_TYPES for r in layers):
        return [
            Patch(color=DYNAMIC_LABEL_COLOR, label="dynamic-threshold unit\n(holds a frame; purple label)")
        ]
    return []


def plot_layer_resources(estimate: EstimatesRecord) -> Figure:
    """Per-layer resources as stacked bars: LUT and FF on the top axes, BRAM18, URAM and DSP on the bottom one.

    Args:
        estimate: an ``estimates.json`` record (uses ``layers``, ``device.part``, ``clock_ns``).
    """
    layers = estimate.layers
    fig = new_figure(layer_figure_width(len(layers)), 7.0)
    ax_top, ax_bot = fig.subplots(2, 1, sharex=True)
    fig.suptitle(f"Per-layer resources ({_part(estimate)}, {_clock(estimate)})")
    ax_top.set_title("logic: LUT + FF (stacked)", fontsize=10)
    ax_bot.set_title("memory and arithmetic: BRAM18 + URAM + DSP (stacked)", fontsize=10)
    ax_top.set_ylabel("LUTs / flip-flops (count)")
    ax_bot.set_ylabel("BRAM18 / URAM / DSP (blocks)")
    ax_bot.set_xlabel("layer (hardware node, stream order)")
    if not layers:
        empty_axes(ax_top, "no per-layer estimates in this record")
        empty_axes(ax_bot, "no per-layer estimates in this record")
        return fig
    x = np.arange(len(layers))
    for ax, keys in ((ax_top, ("lut", "ff")), (ax_bot, ("bram18", "uram", "dsp"))):
        bottom = np.zeros(len(layers))
        for k in keys:
            v = np.array([float(getattr(r, k)) for r in layers])
            ax.bar(x, v, 0.75, bottom=bottom, color=RESOURCE_COLORS[k], label=RESOURCE_LABELS[k])
            bottom += v
        ax.set_ylim(0, max(float(bottom.max()), 1.0) * 1.12)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(
            handles=handles + (_dynamic_legend(layers) if ax is ax_top else []),
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=8,
        )
    label_layers(ax_bot, layers)
    return fig


def target_cycles_of(estimate: EstimatesRecord) -> float | None:
    """The cycles-per-frame target, if the record states one (``target_fps``, written by ``dybnn estimate
    --target-fps``, converted at ``clock_ns``: ``1e9 / (clock_ns * fps)``)."""
    fps, clk = num(estimate.target_fps), estimate.clock_ns
    if fps > 0 and clk > 0:
        return 1e9 / (clk * fps)
    return None


def plot_layer_cycles(estimate: EstimatesRecord, target_cycles: float | None = None) -> Figure:
    """Cycles per frame of each layer on a log scale; the bottleneck in red; the target as a horizontal line.

    Args:
        estimate: an ``estimates.json`` record (``layers[].cycles``, ``bottleneck``, ``fps``, ``clock_ns``).
        target_cycles: cycles-per-frame target; default: the folding's target if the record has one.
    """
    layers = estimate.layers
    if target_cycles is None:
        target_cycles = target_cycles_of(estimate)
    fig = new_figure(layer_figure_width(len(layers)), 5.0)
    ax = fig.subplots()
    ax.set_xlabel("layer (hardware node, stream order)")
    ax.set_ylabel("cycles per frame (log scale)")
    if not layers:
        ax.set_title("Per-layer cycles per frame")
        empty_axes(ax, "no per-layer estimates in this record")
        return fig
    cycles = np.array([max(float(r.cycles), 0.0) for r in layers])
    names = [r.name for r in layers]
    b = estimate.bottleneck
    bi = names.index(b) if b in names else int(np.argmax(cycles))
    colors = ["#4c72b0"] * len(layers)
    colors[bi] = HIGHLIGHT
    ax.bar(np.arange(len(layers)), np.maximum(cycles, 1.0), 0.75, color=colors)
    ax.set_yscale("log")
    ax.grid(axis="y", which="both", alpha=0.25)
    ax.set_axisbelow(True)
    handles = [
        Patch(color="#4c72b0", label="layer"),
        Patch(color=HIGHLIGHT, label=f"bottleneck: {names[bi]} ({int(cycles[bi]):,} cycles)"),
    ]
    ax.annotate(
        f"{int(cycles[bi]):,}",
        (bi, max(cycles[bi], 1.0)),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=8,
        color=HIGHLIGHT,
    )
    if target_cycles is not None and target_cycles > 0:
        line = ax.axhline(target_cycles, color="black", linestyle="--", linewidth=1.2)
        line.set_label(f"target: {target_cycles:,.0f} cycles per frame")
        handles.append(line)
    handles += _dynamic_legend(layers)
    top = max(float(cycles.max()), target_cycles or 0.0, 1.0)
    ax.set_ylim(top=top * 2.5)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.set_title(f"Per-layer cycles per frame ({_clock(estimate)} -> {estimate.fps:,.1f} FPS)")
    label_layers(ax, layers)
    return fig


def plot_utilization(estimate: EstimatesRecord) -> Figure:
    """Device utilization per resource in % of the part, with the 100 % line.

    Args:
        estimate: an ``estimates.json`` record (``utilization``: resource -> fraction; ``fits``; ``device``).
    """
    util = estimate.utilization or {}
    keys = [k for k in RESOURCES if k in util] + [k for k in util if k not in RESOURCES]
    fig = new_figure(7.0, 0.6 * max(len(keys), 3) + 1.6)
    ax = fig.subplots()
    fits = estimate.fits
    verdict = "" if fits is None else (": fits" if fits else ": does NOT fit")
    ax.set_title(f"Device utilization ({_part(estimate)}{verdict})")
    ax.set_xlabel("utilization (% of the part)")
    ax.set_ylabel("resource")
    if not keys:
        empty_axes(ax, "no utilization in this record")
        return fig
    # None: the part has none of this resource and the design uses none; inf: the design uses some anyway
    pct = [None if util[k] is None else 100.0 * num(util[k]) for k in keys]
    y = np.arange(len(keys))[::-1]
    finite = [p for p in pct if p is not None and np.isfinite(p)]
    xmax = max([115.0] + [p * 1.3 for p in finite])  # room for the label right of the bar
    vals = [0.0 if p is None else min(p, xmax) for p in pct]
    colors = [
        BAD if v > 100.0 else RESOURCE_COLORS.get(k, "#4c72b0") for k, v in zip(keys, vals, strict=True)
    ]
    ax.barh(y, vals, 0.6, color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels([RESOURCE_LABELS.get(k, k) for k in keys])
    ax.set_xlim(0, xmax)
    ax.axvline(100.0, color=BAD, linestyle="--", linewidth=1.2, label="100 % of the part")
    for yi, p, v in zip(y, pct, vals, strict=True):
        if p is None:
            text = "n/a (none on the part)"
        elif not np.isfinite(p):
            text, v = "used, but none on the part", 0.0
        else:
            text = f"{p:.1f} %"
        ax.text(v + xmax * 0.01, yi, text, va="center", fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.legend(loc="lower right", fontsize=8)
    return fig
