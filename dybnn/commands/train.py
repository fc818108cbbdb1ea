"""``dybnn train``: ReActNet's two-step recipe plus the integer fine-tune step, with checkpoints and resume."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import click

from dybnn.errors import UserError
from runfiles import layout as L


@click.command(
    "train",
    help="Train a model: step 1 binary activations with real weights, step 2 binary weights, step 3 integer "
    "fine-tune with BatchNorm folded. Writes DIR/checkpoint.pt after every epoch, DIR/metrics.json and "
    "DIR/config.json, and exports DIR/model.onnx at the end. Multi-process data parallel under torchrun (gloo).",
)
@click.option("--model", "model", default=None, help="Model name (see `dybnn models`).")
@click.option(
    "--dataset", default=None, help="mnist5k, digits, synthetic, or mnist/cifar10/imagefolder (torchvision)."
)
@click.option("--epochs", type=int, default=None, help="Epochs over the training split, all steps together.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Output directory.")
@click.option("--seed", type=int, default=None, help="Seed of the initialization and the data order.")
@click.option("--teacher", default=None, help="Distillation teacher: a run directory or checkpoint of ours.")
@click.option("--batch-size", type=int, default=None, help="Images per batch and process.")
@click.option("--lr", type=float, default=None, help="Adam learning rate (linear decay to 0 in each step).")
@click.option("--input-size", type=int, default=None, help="Resize images to this size (square).")
@click.option(
    "--max-steps-per-epoch", type=int, default=None, help="Stop each epoch after this many batches."
)
@click.option(
    "--config",
    "config",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML/JSON training config; command-line options override its fields.",
)
@click.option("--resume", is_flag=True, help="Continue a killed run from its last completed epoch.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run in DIR.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option(
    "--export/--no-export",
    "do_export",
    default=True,
    show_default=True,
    help="Export DIR/model.onnx (QONNX) when training ends.",
)
def command(
    model,
    dataset,
    epochs,
    out,
    seed,
    teacher,
    batch_size,
    lr,
    input_size,
    max_steps_per_epoch,
    config,
    resume,
    overwrite,
    quiet,
    do_export,
) -> None:
    from training.train import TrainConfig, load_config, run_config, train

    root = click.get_current_context().find_root().obj
    quiet = quiet or bool(isinstance(root, dict) and root.get("quiet"))
    overrides = {
        "model": model,
        "dataset": dataset,
        "epochs": epochs,
        "seed": seed,
        "teacher": teacher,
        "batch_size": batch_size,
        "lr": lr,
        "input_size": input_size,
        "max_steps_per_epoch": max_steps_per_epoch,
    }
    overrides = {k: v for k, v in overrides.items() if v is not None}
    try:
        if config is not None:
            cfg = dataclasses.replace(load_config(config), **overrides)
        elif resume and run_config(out) is not None:
            # the run's own configuration (config.json, else the checkpoint's), with the options given; a
            # changed setting that matters is refused by train(), naming it
            cfg = dataclasses.replace(run_config(out), **overrides)
        else:
            if "model" not in overrides or "dataset" not in overrides:
                raise UserError(
                    f"--model and --dataset are required (or --config FILE, or --resume on a run; {out} holds "
                    "no run)"
                    if resume
                    else "--model and --dataset are required (or --config FILE, or --resume on a run)"
                )
            cfg = TrainConfig(**overrides)
        result = train(cfg, out, resume=resume, quiet=quiet, overwrite=overwrite)
    except (ValueError, OSError) as e:
        raise UserError(str(e)) from None
    if os.environ.get("RANK", "0") != "0":
        return  # under torchrun only rank 0 reports and exports
    acc = result.get("final_test_acc")
    if acc is not None:
        click.echo(f"final test accuracy {100 * acc:.2f} % -> {out}")
    if do_export and acc is not None:
        from runfiles.outputs import record_export
        from training.export import export_checkpoint

        try:
            path = export_checkpoint(out, out / L.MODEL_ONNX)
        except (ValueError, OSError, RuntimeError) as e:
            raise UserError(f"training finished, but the export failed: {e}") from None
        record_export(path, out / L.CHECKPOINT)
        click.echo(f"wrote {path}")
