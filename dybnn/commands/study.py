"""``dybnn study``: static (ReActNet) vs dynamic (DyBNN) thresholds, accuracy over seeds and hardware cost."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command(
    "study",
    help="Train static and dynamic models with the same budget over several seeds, estimate "
    "their hardware, and write OUT/study.json and OUT/study.md.",
)
@click.option("--models", default="dybnn-tiny,reactnet-tiny", show_default=True)
@click.option("--seeds", default="0,1,2", show_default=True)
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--dataset", default="mnist5k", show_default=True)
@click.option("--augment-shift", type=int, default=2, show_default=True, help="Random translation in pixels.")
@click.option("--jobs", type=int, default=2, show_default=True, help="Training processes at once.")
@click.option("--part", default="xc7z020clg400-1", show_default=True)
@click.option("--clock-ns", type=float, default=10.0, show_default=True)
@click.option("--out", required=True, type=click.Path(path_type=Path))
def command(models, seeds, epochs, dataset, augment_shift, jobs, part, clock_ns, out) -> None:
    from dybnn.study import collect, markdown, train_all

    ms = [m.strip() for m in models.split(",") if m.strip()]
    ss = [int(s) for s in seeds.split(",")]
    out.mkdir(parents=True, exist_ok=True)
    train_all(ms, ss, epochs, dataset, out, jobs, {"augment_shift": augment_shift})
    doc = collect(ms, ss, out, part, clock_ns)
    doc.update({"epochs": epochs, "dataset": dataset, "augment_shift": augment_shift})
    (out / "study.json").write_text(json.dumps(doc, indent=1) + "\n")
    md = markdown(doc)
    (out / "study.md").write_text(md + "\n")
    click.echo(md)
