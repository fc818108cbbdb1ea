"""Figure of a verification record (``verify.json``): what each pair of levels compared and how many differ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.figures._common import BAD, OK, empty_axes, new_figure, num


def pair_label(p: Mapping[str, Any]) -> str:
    return f"{p.get('a', '?')} vs {p.get('b', '?')}"


def plot_verification(verify: Mapping[str, Any]) -> Figure:
    """Per pair of levels: tensors compared, elements compared (log scale) and mismatches; green where a pair
    has no mismatch, red otherwise.

    Args:
        verify: a ``verify.json`` record (``pairs`` with ``a``, ``b``, ``tensors``, ``elements``,
            ``mismatches``; ``samples``; ``ok``).
    """
    pairs = list(verify.get("pairs") or [])
    fig = new_figure(11.0, 0.55 * max(len(pairs), 3) + 1.8)
    axes = fig.subplots(1, 3, sharey=True)
    ok = verify.get("ok")
    verdict = "all levels identical" if ok else ("MISMATCH" if ok is not None else "result unknown")
    fig.suptitle(f"Bit-exact verification ({num(verify.get('samples')):,.0f} samples): {verdict}")
    titles = ("tensors compared", "elements compared", "mismatching elements")
    xlabels = ("tensors (count)", "elements (count, log scale)", "mismatches (count)")
    for ax, t, xl in zip(axes, titles, xlabels, strict=True):
        ax.set_title(t, fontsize=10)
        ax.set_xlabel(xl)
    axes[0].set_ylabel("level pair")
    if not pairs:
        for ax in axes:
            empty_axes(ax, "no pairs")
        return fig
    y = np.arange(len(pairs))[::-1]
    bad = [num(p.get("mismatches")) > 0 or p.get("mismatches") is None for p in pairs]
    colors = [BAD if b else OK for b in bad]
    for ax, key in zip(axes, ("tensors", "elements", "mismatches"), strict=True):
        v = np.array([num(p.get(key)) for p in pairs])
        ax.barh(y, np.maximum(v, 1.0) if key == "elements" else v, 0.6, color=colors)
        if key == "elements":
            ax.set_xscale("log")
        top = max(float(v.max()), 1.0)
        if key == "elements":
            ax.set_xlim(1.0, top * 30.0)
        else:
            ax.set_xlim(0.0, top * 1.35)
        for yi, vi, p in zip(y, v, pairs, strict=True):
            text = "n/a" if p.get(key) is None else f"{int(vi):,}"
            ax.annotate(
                text,
                (max(vi, 1.0 if key == "elements" else 0.0), yi),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([pair_label(p) for p in pairs])
    fig.legend(
        handles=[
            Patch(color=OK, label="pair identical (0 mismatches)"),
            Patch(color=BAD, label="pair differs"),
        ],
        loc="outside lower center",
        ncols=2,
        fontsize=8,
    )
    return fig
