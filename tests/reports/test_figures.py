"""Every figure function returns a Figure with titles and axis labels, on full, partial and empty records."""

from __future__ import annotations

import dataclasses
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from reports import figures as F
from reports.figures.hardware import target_cycles_of
from reports.figures.training import step_spans
from runfiles.records import EstimatesRecord, VerifyReport
from tests.reports import synthetic as S

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _titles(fig: Figure) -> list[str]:
    out = [ax.get_title() for ax in fig.axes]
    if fig._suptitle is not None:
        out.append(fig._suptitle.get_text())
    return [t for t in out if t]


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=50)
    return buf.getvalue()


def _check(fig: Figure, xlabel: str | None = None, ylabel: str | None = None) -> None:
    assert isinstance(fig, Figure)
    assert _titles(fig), "figure without a title"
    main = fig.axes[0]
    if xlabel is not None:
        assert any(xlabel in ax.get_xlabel() for ax in fig.axes), [ax.get_xlabel() for ax in fig.axes]
    if ylabel is not None:
        assert any(ylabel in ax.get_ylabel() for ax in fig.axes), [ax.get_ylabel() for ax in fig.axes]
    assert main.get_xlabel() or main.get_ylabel()
    assert _png(fig).startswith(PNG_MAGIC)


def test_layer_resources() -> None:
    est = S.estimates()
    fig = F.plot_layer_resources(EstimatesRecord.from_json(est))
    _check(fig, "layer", "LUT")
    top, bot = fig.axes[:2]
    assert "BRAM18" in bot.get_ylabel() and "DSP" in bot.get_ylabel()
    # stacked: the top of each LUT+FF stack is the layer's LUT + FF
    heights = {}
    for p in top.patches:
        x = round(p.get_x() + p.get_width() / 2)
        heights[x] = max(heights.get(x, 0), p.get_y() + p.get_height())
    assert [heights[i] for i in range(len(est["layers"]))] == [r["lut"] + r["ff"] for r in est["layers"]]
    assert {t.get_text() for t in top.get_legend().get_texts()} >= {"LUT", "FF"}
    assert [t.get_text() for t in bot.get_xticklabels()] == [r["name"] for r in est["layers"]]


def test_layer_cycles_highlights_bottleneck_and_target() -> None:
    est = S.estimates()
    fig = F.plot_layer_cycles(EstimatesRecord.from_json(est), target_cycles=20_000)
    _check(fig, "layer", "cycles per frame")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    colors = [tuple(p.get_facecolor()) for p in ax.patches]
    names = [r["name"] for r in est["layers"]]
    bi = names.index(est["bottleneck"])
    assert colors.count(colors[bi]) == 1  # only the bottleneck has its colour
    assert any(list(line.get_ydata()) == [20_000, 20_000] for line in ax.get_lines())
    assert any("target" in t.get_text() for t in ax.get_legend().get_texts())


def test_layer_cycles_target_from_folding() -> None:
    est = EstimatesRecord.from_json(S.estimates())  # target_fps 5000 at 10 ns -> 20,000 cycles
    assert target_cycles_of(est) == pytest.approx(20_000)
    fig = F.plot_layer_cycles(est)
    assert any(line.get_ydata()[0] == pytest.approx(20_000) for line in fig.axes[0].get_lines())
    assert target_cycles_of(dataclasses.replace(est, target_fps=None)) is None


def test_utilization() -> None:
    est = S.estimates()
    fig = F.plot_utilization(EstimatesRecord.from_json(est))
    _check(fig, "% of the part", "resource")
    ax = fig.axes[0]
    assert any(line.get_xdata()[0] == 100.0 for line in ax.get_lines())
    texts = {t.get_text() for t in ax.texts}
    assert f"{100 * est['utilization']['lut']:.1f} %" in texts
    assert "n/a (none on the part)" in texts  # URAM on a part without URAM


def test_utilization_of_a_resource_the_part_lacks() -> None:
    """``hls.estimate`` writes inf when the design uses a resource the part has none of."""
    est = S.estimates()
    est["utilization"]["uram"] = float("inf")
    fig = F.plot_utilization(EstimatesRecord.from_json(est))
    assert "used, but none on the part" in {t.get_text() for t in fig.axes[0].texts}
    assert np.isfinite(fig.axes[0].get_xlim()[1])
    assert _png(fig).startswith(PNG_MAGIC)


def test_utilization_over_100_is_red() -> None:
    est = S.estimates()
    est["utilization"]["lut"] = 1.5
    fig = F.plot_utilization(EstimatesRecord.from_json(est))
    assert fig.axes[0].get_xlim()[1] >= 150.0


@pytest.mark.parametrize("mismatch", [False, True])
def test_verification(mismatch: bool) -> None:
    v = S.verify(mismatch)
    fig = F.plot_verification(VerifyReport.from_json(v))
    _check(fig, "elements", "level pair")
    assert ("MISMATCH" in fig._suptitle.get_text()) == mismatch
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == [f"{p['a']} vs {p['b']}" for p in v["pairs"]]
    greens = [p.get_facecolor() for p in fig.axes[2].patches]
    assert len(set(greens)) == (2 if mismatch else 1)


@pytest.mark.parametrize("key", ["records", "epochs"])
def test_training(key: str) -> None:
    m = S.metrics(key)
    fig = F.plot_training(m)
    _check(fig, "epoch", "accuracy (%)")
    assert "loss" in fig.axes[0].get_ylabel()
    acc = fig.axes[1]
    test_line = [ln for ln in acc.get_lines() if ln.get_label() == "test"][0]
    np.testing.assert_allclose(test_line.get_ydata(), [100 * r["test_acc"] for r in m[key]])
    legend = {t.get_text() for t in acc.get_legend().get_texts()}
    assert {"train", "test"} <= legend and sum("step" in t for t in legend) == 3


def test_step_spans_from_batches_and_records() -> None:
    assert step_spans(S.metrics("records")) == [(0.0, 2.0, 1), (2.0, 4.0, 2), (4.0, 5.0, 3)]
    assert step_spans(S.metrics("epochs")) == [(0.0, 2.0, 1), (2.0, 4.0, 2), (4.0, 5.0, 3)]
    one_epoch = {"records": [{"epoch": 1, "step": 3, "steps": [1, 2, 3]}]}
    assert [s for _, _, s in step_spans(one_epoch)] == [1, 2, 3]


def test_threshold_distribution() -> None:
    th = S.thresholds()
    fig = F.plot_threshold_distribution(th, max_channels=32)
    _check(fig, "channel", "residual-stream")
    ax = fig.axes[0]
    assert "blocks.0.sign" in ax.get_title() and "0-31 of 48" in ax.get_title()
    assert len(ax.get_xticks()) == 32
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("tau" in t for t in legend)
    fig2 = F.plot_threshold_distribution(th, site="blocks.1.sign")
    assert "16 channels" in fig2.axes[0].get_title()
    with pytest.raises(KeyError, match="blocks.9"):
        F.plot_threshold_distribution(th, site="blocks.9")


def test_threshold_heatmap_has_colorbar() -> None:
    th = S.thresholds()
    fig = F.plot_threshold_heatmap(th)
    _check(fig, "channel", "sample")
    # two maps, each with a colorbar axes labelled in threshold units
    assert len(fig.axes) == 4
    assert any("residual-stream" in ax.get_ylabel() for ax in fig.axes)
    img = fig.axes[0].get_images()[0]
    assert img.get_array().shape == (40, 48)
    no_tau = {k: v for k, v in th.items() if not k.endswith(".tau")}
    assert len(F.plot_threshold_heatmap(no_tau).axes) == 2


def test_static_vs_dynamic() -> None:
    st = S.study()
    fig = F.plot_static_vs_dynamic(st)
    _check(fig, "model", "test accuracy")
    ylabels = " ".join(ax.get_ylabel() for ax in fig.axes)
    for word in ("LUT", "BRAM18", "latency", "frames / s"):
        assert word in ylabels
    # static first
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["reactnet-tiny", "dybnn-tiny"]
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "97.10 ± 0.18" in texts


@pytest.mark.parametrize(
    "fn,record",
    [
        (F.plot_layer_resources, S.empty_estimates()),
        (F.plot_layer_cycles, S.empty_estimates()),
        (F.plot_utilization, S.empty_estimates()),
        (F.plot_verification, VerifyReport("dybnn-tiny", {}, [])),
        (F.plot_training, {}),
        (F.plot_static_vs_dynamic, {}),
    ],
)
def test_empty_records_give_a_labelled_figure(fn, record) -> None:
    _check(fn(record))


def test_no_pyplot_state() -> None:
    """Drawing every figure and building a report leaves no pyplot figure behind, and no module of ``reports``
    uses pyplot (matplotlib itself may import it to resolve the backend rcParam, e.g. in ``boxplot``)."""
    code = (
        "import sys, pathlib, tempfile\n"
        "from tests.reports import synthetic as S\n"
        "from reports.build import build_report\n"
        "d = S.write_run(pathlib.Path(tempfile.mkdtemp()) / 'run')\n"
        "build_report(d)\n"
        "import matplotlib.pyplot as plt\n"
        "assert plt.get_fignums() == [], plt.get_fignums()\n"
    )
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for src in (root / "reports").rglob("*.py"):
        text = src.read_text()
        assert "matplotlib.pyplot" not in text and "import pyplot" not in text and "plt." not in text, src


def test_accuracy_vs_cost() -> None:
    """One point per entry on each of the LUT, BRAM18 and latency panels, at the mean accuracy with the std as
    error bar; the variant gets its own colour and legend entry."""
    st = S.study()
    st["models"]["dybnn-tiny:hyper_delta_bits=4"] = {
        "kind": "variant",
        "dynamic": True,
        "seeds": [0, 1, 2],
        "acc": [0.95, 0.96, 0.97],
        "mean": 0.96,
        "std": 0.01,
        "hw": {"lut": 20_000, "bram18": 20, "latency_cycles": 31_000, "fps": 7_971.3},
    }
    fig = F.plot_accuracy_vs_cost(st)
    _check(fig, "LUT", "test accuracy")
    assert [ax.get_xlabel() for ax in fig.axes] == [
        "LUTs",
        "BRAM18 (blocks)",
        "latency (cycles, first frame)",
    ]
    for ax in fig.axes:
        bars = [c for c in ax.containers if c.__class__.__name__ == "ErrorbarContainer"]
        assert len(bars) == 3
        ys = sorted(float(b.lines[0].get_ydata()[0]) for b in bars)
        np.testing.assert_allclose(ys, [96.0, 96.38667, 97.10333])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert any("hyper_delta_bits=4 (variant)" in t for t in labels) and "one seed" in labels
    _check(F.plot_accuracy_vs_cost({}))  # empty: a labelled figure
