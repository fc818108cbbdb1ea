"""Figures of the dynamic thresholds (``thresholds.npz``) and of the static vs dynamic study (``study.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from reports.figures._common import BAD, NEUTRAL, empty_axes, new_figure, num
from reports.run import is_dynamic_model, study_models, threshold_sites

THRESHOLD_UNITS = "threshold (residual-stream units)"
STATIC_COLOR = "#4c72b0"
DYNAMIC_COLOR = "#dd8452"


def _site_arrays(
    thresholds: Mapping[str, np.ndarray], site: str | None
) -> tuple[str, np.ndarray, np.ndarray | None]:
    sites = threshold_sites(thresholds)
    if site is None:
        if not sites:
            raise ValueError("the thresholds record has no DySign site")
        site = sites[0]
    key = f"{site}.thresholds"
    if key not in thresholds:
        raise KeyError(f"no site {site!r} in the thresholds record; sites: {', '.join(sites)}")
    thr = np.asarray(thresholds[key], dtype=np.float64)
    if thr.ndim != 2:
        raise ValueError(f"{key}: expected samples x channels, got shape {thr.shape}")
    tau = thresholds.get(f"{site}.tau")
    return site, thr, None if tau is None else np.asarray(tau, dtype=np.float64).reshape(-1)


def plot_threshold_distribution(
    thresholds: Mapping[str, np.ndarray], site: str | None = None, max_channels: int = 32
) -> Figure:
    """Distribution over samples of the dynamic threshold ``tau_c + delta_c(x)`` of each channel of one DySign
    site (box per channel, the first ``max_channels`` channels), with the static threshold ``tau_c`` marked.

    Args:
        thresholds: a ``thresholds.npz`` record (``sites``, ``<site>.thresholds`` (N, C), ``<site>.tau`` (C,)).
        site: the DySign site; default the first one.
        max_channels: channels shown (0 .. max_channels-1).
    """
    site, thr, tau = _site_arrays(thresholds, site)
    n, c = thr.shape
    k = min(c, max_channels)
    fig = new_figure(max(7.0, 1.5 + 0.3 * k), 4.8)
    ax = fig.subplots()
    shown = f"channels 0-{k - 1} of {c}" if k < c else f"{c} channels"
    ax.set_title(f"Dynamic thresholds of {site}: {shown}, {n} samples")
    ax.set_xlabel("channel")
    ax.set_ylabel(THRESHOLD_UNITS)
    if n == 0 or k == 0:
        empty_axes(ax, "no samples")
        return fig
    pos = np.arange(k)
    ax.boxplot(
        [thr[:, j] for j in range(k)],
        positions=pos,
        widths=0.6,
        patch_artist=True,
        manage_ticks=False,
        boxprops={"facecolor": "#c6d9ec", "edgecolor": STATIC_COLOR},
        medianprops={"color": STATIC_COLOR},
        whiskerprops={"color": STATIC_COLOR},
        capprops={"color": STATIC_COLOR},
        flierprops={"marker": ".", "markersize": 3, "markeredgecolor": "#888888"},
    )
    handles: list[Any] = [
        Patch(facecolor="#c6d9ec", edgecolor=STATIC_COLOR, label="tau_c + delta_c(x) over samples")
    ]
    if tau is not None:
        ax.scatter(pos, tau[:k], marker="_", s=260, linewidths=2.2, color=BAD, zorder=4)
        handles.append(
            Line2D(
                [],
                [],
                color=BAD,
                marker="_",
                linestyle="",
                markersize=14,
                markeredgewidth=2.2,
                label="static threshold tau_c",
            )
        )
    ax.set_xticks(pos)
    ax.set_xticklabels([str(j) for j in pos], fontsize=8)
    ax.set_xlim(-0.7, k - 0.3)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(handles=handles, loc="upper right", fontsize=8)
    return fig


def plot_threshold_heatmap(thresholds: Mapping[str, np.ndarray], site: str | None = None) -> Figure:
    """Samples x channels heat map of the thresholds of one DySign site, with a colorbar; next to it the dynamic
    part ``delta = threshold - tau`` on a diverging scale centred at 0 (when ``tau`` is recorded).

    Args:
        thresholds: a ``thresholds.npz`` record.
        site: the DySign site; default the first one.
    """
    site, thr, tau = _site_arrays(thresholds, site)
    n, c = thr.shape
    panels = 2 if tau is not None else 1
    fig = new_figure(6.0 * panels, 4.8)
    axes = np.atleast_1d(fig.subplots(1, panels))
    fig.suptitle(f"Thresholds of {site}: {n} samples x {c} channels")
    im = axes[0].imshow(thr, aspect="auto", interpolation="nearest", cmap="viridis")
    axes[0].set_title("threshold tau_c + delta_c(x)", fontsize=10)
    fig.colorbar(im, ax=axes[0], label=THRESHOLD_UNITS)
    if tau is not None:
        delta = thr - tau[None, :]
        lim = float(np.abs(delta).max()) or 1.0
        im2 = axes[1].imshow(
            delta, aspect="auto", interpolation="nearest", cmap="RdBu_r", vmin=-lim, vmax=lim
        )
        axes[1].set_title("dynamic part delta_c(x) = threshold - tau_c", fontsize=10)
        fig.colorbar(im2, ax=axes[1], label="delta (residual-stream units)")
    for ax in axes:
        ax.set_xlabel("channel")
        ax.set_ylabel("sample")
    return fig


#: hardware panels of the study figure: key in ``hw``, title, axis label
HW_PANELS: tuple[tuple[str, str, str], ...] = (
    ("lut", "LUTs", "LUTs (count)"),
    ("bram18", "BRAM18", "BRAM18 (blocks)"),
    ("latency_cycles", "latency", "latency (cycles per frame)"),
    ("fps", "throughput", "throughput (frames / s)"),
)


def plot_static_vs_dynamic(study: Mapping[str, Any]) -> Figure:
    """Static (RSign) vs dynamic (DySign) thresholds: test accuracy (mean +- std over seeds, each seed a dot)
    and hardware cost (LUT, BRAM18, latency, FPS) of each model of the study.

    Args:
        study: a ``study.json`` record ``{"models": {name: {"seeds", "acc", "mean", "std", "hw": {"lut",
            "bram18", "latency_cycles", "fps"}}}}``; accuracies as fractions.
    """
    models = study_models(study)
    fig = new_figure(15.0, 4.6)
    axes = fig.subplots(1, 1 + len(HW_PANELS))
    fig.suptitle("Static (RSign) vs dynamic (DySign) thresholds: accuracy and hardware cost")
    axes[0].set_title("test accuracy", fontsize=10)
    axes[0].set_ylabel("test accuracy (%, mean ± std over seeds)")
    for ax, (_, title, ylabel) in zip(axes[1:], HW_PANELS, strict=True):
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel)
    for ax in axes:
        ax.set_xlabel("model")
    if not models:
        for ax in axes:
            empty_axes(ax, "no models")
        return fig
    names = [n for n, _ in models]
    colors = [DYNAMIC_COLOR if is_dynamic_model(n, e) else STATIC_COLOR for n, e in models]
    x = np.arange(len(models))
    ax = axes[0]
    accs = [np.asarray([num(a, np.nan) for a in (e.get("acc") or [])], dtype=np.float64) for _, e in models]
    means = [
        num(e.get("mean"), np.nan) if e.get("mean") is not None else (np.nanmean(a) if a.size else np.nan)
        for (_, e), a in zip(models, accs, strict=True)
    ]
    stds = [
        num(e.get("std"), np.nan) if e.get("std") is not None else (np.nanstd(a) if a.size else np.nan)
        for (_, e), a in zip(models, accs, strict=True)
    ]
    if np.all(np.isnan(means)):
        empty_axes(ax, "no accuracy recorded")
    else:
        m100 = 100.0 * np.asarray(means)
        for xi, mi, si, col in zip(x, m100, stds, colors, strict=True):
            ax.errorbar(
                xi, mi, yerr=100.0 * num(si), fmt="o", color=col, markersize=9, capsize=8, elinewidth=2
            )
        for xi, a in zip(x, accs, strict=True):
            if a.size:
                jitter = np.linspace(-0.15, 0.15, a.size) if a.size > 1 else np.zeros(1)
                ax.scatter(
                    xi + 0.25 + jitter,
                    100.0 * a,
                    color="black",
                    s=12,
                    zorder=3,
                    label="one seed" if xi == 0 else None,
                )
        for xi, mi, si in zip(x, m100, stds, strict=True):
            if not np.isnan(mi):
                ax.annotate(
                    f"{mi:.2f} ± {100.0 * num(si):.2f}",
                    (xi, mi),
                    xytext=(0, 14),
                    textcoords="offset points",
                    ha="center",
                    fontsize=8,
                )
        ax.set_xlim(-0.6, len(models) - 0.2)
        if any(a.size for a in accs):
            ax.legend(loc="lower right", fontsize=8)
        lo = np.nanmin([np.nanmin(100.0 * a) if a.size else m for a, m in zip(accs, m100, strict=True)])
        hi = np.nanmax([np.nanmax(100.0 * a) if a.size else m for a, m in zip(accs, m100, strict=True)])
        pad = max(1.0, 0.5 * (hi - lo))
        ax.set_ylim(max(0.0, lo - 3 * pad), min(100.0, hi + 2 * pad))
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=15)
        ax.grid(axis="y", alpha=0.3)
    static_hw = next((e.get("hw") or {} for n, e in models if not is_dynamic_model(n, e)), {})
    for ax, (key, title, _) in zip(axes[1:], HW_PANELS, strict=True):
        vals = [(e.get("hw") or {}).get(key) for _, e in models]
        if all(v is None for v in vals):
            empty_axes(ax, f"no {title} recorded")
            continue
        v = np.array([num(val) for val in vals])
        ax.bar(x, v, 0.6, color=colors)
        base = num(static_hw.get(key))
        for xi, vi, (n, e), raw in zip(x, v, models, vals, strict=True):
            text = "n/a" if raw is None else (f"{vi:,.1f}" if key == "fps" else f"{vi:,.0f}")
            if is_dynamic_model(n, e) and base > 0 and raw is not None:
                text += f"\n({100.0 * (vi - base) / base:+.1f} %)"
            ax.annotate(
                text,
                (xi, vi),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_ylim(0, max(float(v.max()), 1.0) * 1.3)
        ax.set_xticks(x)
        ax.set_xticklabels(names, rotation=15)
        ax.grid(axis="y", alpha=0.3)
    handles = [
        Patch(color=STATIC_COLOR, label="static thresholds"),
        Patch(color=DYNAMIC_COLOR, label="dynamic thresholds"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9)
    return fig


#: x axes of the accuracy-vs-cost figure: key in ``hw``, axis label
COST_PANELS: tuple[tuple[str, str], ...] = (
    ("lut", "LUTs"),
    ("bram18", "BRAM18 (blocks)"),
    ("latency_cycles", "latency (cycles, first frame)"),
)
#: colours of the study's entries after the static and the dynamic (paper) one, in file order
VARIANT_COLORS: tuple[str, ...] = (
    "#55a868",
    "#8172b3",
    "#c44e52",
    "#937860",
    "#da8bc3",
    "#8c8c8c",
    "#ccb974",
)


def study_colors(models: list[tuple[str, Mapping[str, Any]]]) -> dict[str, str]:
    """One colour per study entry: the first static one blue, the first plain dynamic one orange, the others
    (variants, further models) from :data:`VARIANT_COLORS` in order."""
    colors: dict[str, str] = {}
    rest = iter(VARIANT_COLORS * (1 + len(models) // len(VARIANT_COLORS)))
    for name, e in models:
        kind = e.get("kind") or ("dynamic" if is_dynamic_model(name, e) else "static")
        if kind == "static" and STATIC_COLOR not in colors.values():
            colors[name] = STATIC_COLOR
        elif kind == "dynamic" and DYNAMIC_COLOR not in colors.values():
            colors[name] = DYNAMIC_COLOR
        else:
            colors[name] = next(rest)
    return colors


def plot_accuracy_vs_cost(study: Mapping[str, Any]) -> Figure:
    """Test accuracy against LUT, BRAM18 and latency: one point per study entry (static, dynamic and each
    variant) at its mean accuracy with the standard deviation over seeds as error bar, each seed a small dot.

    Args:
        study: a ``study.json`` record ``{"models": {name: {"kind", "seeds", "acc", "mean", "std", "hw": {"lut",
            "bram18", "latency_cycles"}}}, "dataset", "part"}``; accuracies as fractions.
    """
    models = study_models(study)
    fig = new_figure(15.0, 5.0)
    axes = fig.subplots(1, len(COST_PANELS), sharey=True)
    where = ", ".join(str(study[k]) for k in ("dataset", "part") if study.get(k))
    fig.suptitle(
        "Accuracy against hardware cost: static, dynamic and variants (mean ± std over seeds)"
        + (f" -- {where}" if where else "")
    )
    axes[0].set_ylabel("test accuracy (%)")
    for ax, (_, label) in zip(axes, COST_PANELS, strict=True):
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    pts = [
        (n, e, np.asarray([num(a, np.nan) for a in (e.get("acc") or [])], dtype=np.float64))
        for n, e in models
    ]
    pts = [(n, e, a) for n, e, a in pts if a.size and not np.all(np.isnan(a)) and e.get("hw")]
    if not pts:
        for ax in axes:
            empty_axes(ax, "no model with accuracy and hardware recorded")
        return fig
    colors = study_colors(models)
    for ax, (key, _) in zip(axes, COST_PANELS, strict=True):
        xs = []
        for name, e, a in pts:
            raw = (e.get("hw") or {}).get(key)
            if raw is None:
                continue
            x = num(raw)
            xs.append(x)
            mean = 100.0 * (num(e.get("mean"), np.nan) if e.get("mean") is not None else float(np.nanmean(a)))
            std = 100.0 * (num(e.get("std")) if e.get("std") is not None else float(np.nanstd(a)))
            col = colors[name]
            ax.errorbar(x, mean, yerr=std, fmt="o", color=col, markersize=8, capsize=6, elinewidth=2)
            ax.scatter(np.full(a.size, x), 100.0 * a, color=col, s=10, alpha=0.5, zorder=3)
        if not xs:
            empty_axes(ax, f"no {key} recorded")
            continue
        lo, hi = min(xs), max(xs)
        if hi > 0 and lo > 0 and hi / lo > 20:
            ax.set_xscale("log")
        else:
            pad = 0.1 * max(hi - lo, hi, 1.0)
            ax.set_xlim(max(0.0, lo - pad), hi + pad)
    handles = [
        Line2D([], [], marker="o", linestyle="", color=colors[n], label=f"{n} ({e.get('kind') or 'model'})")
        for n, e, _ in pts
    ]
    handles.append(Line2D([], [], marker="o", linestyle="", color=NEUTRAL, alpha=0.5, markersize=4,
                          label="one seed"))  # fmt: skip
    fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)), fontsize=9)
    return fig
