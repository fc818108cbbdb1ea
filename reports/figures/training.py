"""Figure of a training record (``metrics.json``): loss and accuracy per epoch, train vs test, steps shaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.figures._common import STEP_COLORS, STEP_NAMES, empty_axes, new_figure, num
from reports.run import epoch_records


def run_title(metrics: Mapping[str, Any]) -> str:
    """``model on dataset`` from a metrics record, as far as it says."""
    model = metrics.get("model")
    ds = metrics.get("dataset")
    if isinstance(ds, Mapping):
        ds = ds.get("name")
    parts = [str(model)] if model else []
    if ds:
        parts.append(f"on {ds}")
    return " ".join(parts)


def step_spans(metrics: Mapping[str, Any]) -> list[tuple[float, float, int]]:
    """``(x0, x1, step)`` spans in epoch units (epoch ``e`` covers ``(e-1, e]``).

    From ``step_batches`` (``{"1": [first, end], ...}`` global batch indices) and ``batches_per_epoch`` when
    the record has them (exact, also when a step ends inside an epoch); else from each epoch's ``steps`` (or
    ``step``), an epoch split evenly between the steps it ran.
    """
    sb, nb = metrics.get("step_batches"), num(metrics.get("batches_per_epoch"))
    spans: list[tuple[float, float, int]] = []
    if isinstance(sb, Mapping) and nb > 0:
        for s, bounds in sb.items():
            try:
                first, end = (float(v) for v in bounds)
                step = int(s)
            except (TypeError, ValueError):
                continue
            if end > first:
                spans.append((first / nb, end / nb, step))
        return sorted(spans)
    for r in epoch_records(metrics):
        e = num(r.get("epoch"))
        steps = r.get("steps") or ([r["step"]] if r.get("step") is not None else [])
        steps = [int(s) for s in steps]
        for i, s in enumerate(steps):
            x0 = e - 1 + i / len(steps)
            x1 = e - 1 + (i + 1) / len(steps)
            if spans and spans[-1][2] == s and abs(spans[-1][1] - x0) < 1e-9:
                spans[-1] = (spans[-1][0], x1, s)
            else:
                spans.append((x0, x1, s))
    return spans


def plot_training(metrics: Mapping[str, Any]) -> Figure:
    """Training curves: loss (left) and accuracy in % (right) per epoch, train (solid) vs test (dashed), with
    the training steps 1/2/3 shaded.

    Args:
        metrics: a ``metrics.json`` record (``records`` or ``epochs`` list of ``{epoch, step, train_loss,
            train_acc, test_loss, test_acc}``, accuracies as fractions).
    """
    recs = epoch_records(metrics)
    fig = new_figure(11.0, 4.5)
    ax_loss, ax_acc = fig.subplots(1, 2, sharex=True)
    title = run_title(metrics)
    fig.suptitle("Training curves" + (f": {title}" if title else ""))
    ax_loss.set_title("loss", fontsize=10)
    ax_acc.set_title("accuracy", fontsize=10)
    ax_loss.set_ylabel("loss (cross-entropy / distillation)")
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
    if not recs:
        empty_axes(ax_loss, "no epochs recorded")
        empty_axes(ax_acc, "no epochs recorded")
        return fig
    x = np.array([num(r.get("epoch"), np.nan) for r in recs])

    def series(key: str, scale: float = 1.0) -> np.ndarray:
        return np.array([num(r.get(key), np.nan) * scale for r in recs])

    style = {"marker": "o", "markersize": 3.5, "linewidth": 1.6}
    ax_loss.plot(x, series("train_loss"), color="#4c72b0", label="train", **style)
    ax_loss.plot(x, series("test_loss"), color="#dd8452", linestyle="--", label="test", **style)
    ax_acc.plot(x, series("train_acc", 100.0), color="#4c72b0", label="train", **style)
    ax_acc.plot(x, series("test_acc", 100.0), color="#dd8452", linestyle="--", label="test", **style)
    spans = step_spans(metrics)
    seen: set[int] = set()
    for ax in (ax_loss, ax_acc):
        for x0, x1, s in spans:
            ax.axvspan(x0, x1, color=STEP_COLORS.get(s, "#eeeeee"), zorder=0, linewidth=0)
            seen.add(s)
        for x0, _, _ in spans[1:]:
            ax.axvline(x0, color="#999999", linewidth=0.8, linestyle=":", zorder=1)
        ax.grid(alpha=0.3)
        if spans:
            ax.set_xlim(min(spans[0][0], np.nanmin(x) - 0.5), max(spans[-1][1], np.nanmax(x)) + 0.1)
    handles, _ = ax_acc.get_legend_handles_labels()
    handles += [
        Patch(color=STEP_COLORS.get(s, "#eeeeee"), label=STEP_NAMES.get(s, f"step {s}")) for s in sorted(seen)
    ]
    ax_acc.legend(handles=handles, loc="lower right", fontsize=8)
    return fig
