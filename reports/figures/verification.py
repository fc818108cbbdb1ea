"""Figure of a verification record (``verify.json``): what each pair of levels compared and how many differ."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from reports.figures._common import BAD, OK, empty_axes, new_figure
from runfiles.records import VerifyReport


def plot_verification(verify: VerifyReport) -> Figure:
    """Per pair of levels: tensors compared, elements compared (log scale) and mismatches; green where a pair
    has no mismatch, red otherwise.

    Args:
        verify: a ``verify.json`` record.
    """
    pairs = verify.pairs
    fig = new_figure(11.0, 0.55 * max(len(pairs), 3) + 1.8)
    axes = fig.subplots(1, 3, sharey=True)
    verdict = "all levels identical" if verify.ok else "MISMATCH"
    fig.suptitle(f"Bit-exact verification ({verify.max_samples:,} samples): {verdict}")
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
    bad = [p.mismatches > 0 for p in pairs]
    colors = [BAD if b else OK for b in bad]
    for ax, key in zip(axes, ("tensors", "elements", "mismatches"), strict=True):
        v = np.array([float(getattr(p, key)) for p in pairs])
        ax.barh(y, np.maximum(v, 1.0) if key == "elements" else v, 0.6, color=colors)
        if key == "elements":
            ax.set_xscale("log")
        top = max(float(v.max()), 1.0)
        if key == "elements":
            ax.set_xlim(1.0, top * 30.0)
        else:
            ax.set_xlim(0.0, top * 1.35)
        for yi, vi in zip(y, v, strict=True):
            ax.annotate(
                f"{int(vi):,}",
                (max(vi, 1.0 if key == "elements" else 0.0), yi),
                xytext=(3, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    axes[0].set_yticks(y)
    axes[0].set_yticklabels([p.label for p in pairs])
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
