"""``dybnn export``: QONNX export of a trained checkpoint, or of a random-init calibrated model."""

from __future__ import annotations

from pathlib import Path

import click

from dybnn.errors import UserError
from runfiles import layout as L


@click.command(
    "export",
    help="Export DIR's checkpoint to DIR/model.onnx (QONNX, TorchScript exporter), or with --model NAME "
    "--random-init --out DIR an untrained, calibrated model (DIR/model.onnx and its DIR/checkpoint.pt, so that "
    "`dybnn verify DIR` also compares with PyTorch). Fails, naming the tensor, if an intermediate of the "
    "real-valued path leaves float32's exact integer range (2^24 units).",
)
@click.argument("run_dir", required=False, type=click.Path(path_type=Path))
@click.option("--model", "model", default=None, help="Model name for --random-init.")
@click.option(
    "--random-init", is_flag=True, help="Export an untrained model (calibrated on synthetic inputs)."
)
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory (random init) or ONNX file (checkpoint; default DIR/model.onnx).",
)
@click.option("--input-shape", default=None, help="C,H,W for --random-init (default: the published shape).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch", type=int, default=1, show_default=True, help="Batch size baked into the ONNX graph.")
@click.option(
    "--calib-data",
    default=None,
    help="--random-init: calibrate on this dataset's training images (e.g. digits, mnist5k), resized to the "
    "model's input, one channel repeated; default: standard-normal images.",
)
@click.option(
    "--calib-images", type=int, default=8, show_default=True, help="Images of --calib-data to calibrate on."
)
def command(run_dir, model, random_init, out, input_shape, seed, batch, calib_data, calib_images) -> None:
    from dybnn.progress import cli_progress
    from runfiles.outputs import record_export
    from training.export import export_checkpoint, export_random

    try:
        if random_init:
            if model is None or out is None:
                raise UserError("--random-init needs --model NAME and --out DIR")
            if run_dir is not None:
                raise UserError("give either a run directory or --random-init --model NAME, not both")
            shape = None
            if input_shape:
                try:
                    shape = tuple(int(v) for v in input_shape.split(","))
                except ValueError:
                    raise UserError(f"--input-shape must be C,H,W integers, got {input_shape!r}") from None
            data = None
            if calib_data is not None:
                from training.data import calibration_images
                from training.models import get_spec

                if calib_images < 1:
                    raise UserError(f"--calib-images must be >= 1, got {calib_images}")
                data = calibration_images(calib_data, shape or get_spec(model).input_shape, calib_images)
            with cli_progress() as prog:
                path = export_random(
                    model, out, input_shape=shape, seed=seed, batch=batch, calib_data=data, progress=prog
                )
            if (path.parent / L.CHECKPOINT).is_file():
                record_export(path, path.parent / L.CHECKPOINT)
        else:
            if run_dir is None:
                raise UserError("give a training run directory, or --random-init --model NAME --out DIR")
            if calib_data is not None:
                raise UserError("--calib-data applies to --random-init only")
            with cli_progress() as prog:
                path = export_checkpoint(run_dir, out, batch=batch, progress=prog)
            ckpt = run_dir / L.CHECKPOINT if run_dir.is_dir() else run_dir
            record_export(path, ckpt)
    except (ValueError, OSError, RuntimeError) as e:
        raise UserError(str(e)) from None
    click.echo(f"wrote {path}")
