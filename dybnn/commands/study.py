"""``dybnn study``: static (ReActNet) vs dynamic (DyBNN) thresholds and variants, accuracy over seeds and
hardware cost."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runfiles import layout as L

#: the accuracy-vs-cost figure ``dybnn study`` writes beside ``study.json``
FIGURE_PNG = "study_accuracy_vs_cost.png"


@click.command(
    "study",
    help="Train static and dynamic models (and variants of them) with the same budget over several seeds, "
    "estimate their hardware, and write OUT/study.json, OUT/study.md and OUT/"
    + FIGURE_PNG
    + " (test accuracy "
    "against LUT, BRAM18 and latency, with the seeds' error bars). A model is a registry name, optionally with "
    "training-config fields that make it a variant: MODEL[:KEY=VALUE...], e.g. "
    "--models reactnet-tiny,dybnn-tiny,dybnn-tiny:hyper_delta_bits=4. Finished runs in OUT are reused when "
    "their settings match.",
)
@click.option("--models", default="reactnet-tiny,dybnn-tiny", show_default=True,
              help="Comma-separated MODEL[:KEY=VALUE...] entries.")  # fmt: skip
@click.option("--seeds", default="0,1,2", show_default=True, help="Comma-separated integer seeds.")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True)
@click.option("--dataset", default="mnist5k", show_default=True)
@click.option("--augment-shift", type=int, default=2, show_default=True, help="Random translation in pixels.")
@click.option("--jobs", type=click.IntRange(min=1), default=2, show_default=True,
              help="Training processes at once.")  # fmt: skip
@click.option("--part", default="xc7z020clg400-1", show_default=True)
@click.option("--clock-ns", type=float, default=10.0, show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path))
def command(models, seeds, epochs, dataset, augment_shift, jobs, part, clock_ns, out) -> None:
    from dybnn.errors import UserError
    from dybnn.progress import cli_progress
    from dybnn.study import collect, markdown, parse_entries, train_all, validate
    from runfiles.outputs import atomic_write_bytes, atomic_write_json, atomic_write_text

    entries = parse_entries(models)
    try:
        ss = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    validate(entries, ss, epochs, dataset, jobs, part, clock_ns, augment_shift)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    progress = cli_progress()
    failed = train_all(
        entries, ss, epochs, dataset, out, jobs, {"augment_shift": augment_shift}, progress=progress
    )
    doc = collect(entries, ss, out, part, clock_ns, progress=progress)
    progress.close()
    doc.update({"epochs": epochs, "dataset": dataset, "augment_shift": augment_shift})
    atomic_write_json(out / L.STUDY_JSON, doc)
    md = markdown(doc)
    atomic_write_text(out / "study.md", md + "\n")
    from reports.figures import plot_accuracy_vs_cost
    from reports.render import figure_png

    atomic_write_bytes(out / FIGURE_PNG, figure_png(plot_accuracy_vs_cost(doc)))
    click.echo(md)
    click.echo(f"figure: {out / FIGURE_PNG}")
    if failed:
        for d, why in failed:
            click.echo(f"error: training {d.name} failed: {why} (log: {d / 'train.log'})", err=True)
        sys.exit(1)
