"""Shared figure helpers: a figure without pyplot, colours, and record access that tolerates missing keys."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from runfiles.records import LayerRow

#: one colour per resource, the same in every figure
RESOURCE_COLORS: dict[str, str] = {
    "lut": "#4c72b0",
    "ff": "#8fb0d8",
    "bram18": "#dd8452",
    "uram": "#c44e52",
    "dsp": "#55a868",
}
RESOURCE_LABELS: dict[str, str] = {"lut": "LUT", "ff": "FF", "bram18": "BRAM18", "uram": "URAM", "dsp": "DSP"}
RESOURCES: tuple[str, ...] = ("lut", "ff", "bram18", "uram", "dsp")

OK = "#2ca02c"
BAD = "#d62728"
NEUTRAL = "#7f7f7f"
HIGHLIGHT = "#d62728"
#: node types that hold a whole frame (the dynamic-threshold units); labelled in per-layer figures
DYNAMIC_TYPES: frozenset[str] = frozenset({"DynamicSign", "DynamicPReLU"})
DYNAMIC_LABEL_COLOR = "#9467bd"
STEP_COLORS: dict[int, str] = {1: "#fdf1d6", 2: "#dbeaf7", 3: "#e3f1dd"}
STEP_NAMES: dict[int, str] = {
    1: "step 1: binary act., real weights",
    2: "step 2: binary weights",
    3: "step 3: integer fine-tune",
}


def new_figure(width: float, height: float) -> Figure:
    """A figure with constrained layout, independent of pyplot's global state (renders with Agg on save)."""
    return Figure(figsize=(width, height), layout="constrained")


def num(v: Any, default: float = 0.0) -> float:
    """A JSON number as float; ``None``/missing/NaN -> ``default``."""
    if v is None or isinstance(v, bool):
        return default
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(f) else f


def label_layers(ax: Axes, layers: Sequence[LayerRow]) -> None:
    """Layer names as rotated x tick labels; dynamic-threshold layers in their own colour."""
    names = [r.name for r in layers]
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8 if len(names) < 40 else 6)
    for tick, r in zip(ax.get_xticklabels(), layers, strict=True):
        if r.type in DYNAMIC_TYPES:
            tick.set_color(DYNAMIC_LABEL_COLOR)
            tick.set_fontweight("bold")
    ax.set_xlim(-0.6, len(names) - 0.4)


def layer_figure_width(n_layers: int) -> float:
    """Width that keeps per-layer labels readable (legend on the right): 0.28 in per layer, 9 to 30 in."""
    return min(30.0, max(9.0, 4.0 + 0.28 * n_layers))


def empty_axes(ax: Axes, message: str) -> None:
    """An axes that says what is missing instead of an empty plot."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color=NEUTRAL)
    ax.set_xticks([])
    ax.set_yticks([])
