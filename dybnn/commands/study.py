"""``dybnn study``: static (ReActNet) vs dynamic (DyBNN) thresholds, accuracy over seeds and hardware cost."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from runfiles import layout as L


@click.command(
    "study",
    help="Train static and dynamic models with the same budget over several seeds, estimate "
    "their hardware, and write OUT/study.json and OUT/study.md.",
)
@click.option("--models", default="dybnn-tiny,reactnet-tiny", show_default=True)
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
    from dybnn.study import collect, markdown, train_all, validate
    from runfiles.outputs import atomic_write_json, atomic_write_text

    ms = [m.strip() for m in models.split(",") if m.strip()]
    try:
        ss = [int(s) for s in seeds.split(",") if s.strip()]
    except ValueError:
        raise UserError(f"--seeds must be comma-separated integers, got {seeds!r}") from None
    validate(ms, ss, epochs, dataset, jobs, part, clock_ns, augment_shift)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    progress = cli_progress()
    failed = train_all(
        ms, ss, epochs, dataset, out, jobs, {"augment_shift": augment_shift}, progress=progress
    )
    doc = collect(ms, ss, out, part, clock_ns, progress=progress)
    progress.close()
    doc.update({"epochs": epochs, "dataset": dataset, "augment_shift": augment_shift})
    atomic_write_json(out / L.STUDY_JSON, doc)
    md = markdown(doc)
    atomic_write_text(out / "study.md", md + "\n")
    click.echo(md)
    if failed:
        for d, why in failed:
            click.echo(f"error: training {d.name} failed: {why} (log: {d / 'train.log'})", err=True)
        sys.exit(1)
