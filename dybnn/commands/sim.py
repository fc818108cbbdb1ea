"""``dybnn sim``: run the bit-exact hardware simulator on a dataset's test split."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click
import numpy as np

from dybnn.commands.common import graph_for_onnx
from dybnn.errors import UserError
from dybnn.progress import cli_progress
from runfiles import layout as L


def load_or_lower(onnx_path: Path):
    """``hw/`` next to the model when it was lowered from this file (recorded hash), else a fresh lowering."""
    return graph_for_onnx(onnx_path)


@click.command(
    "sim",
    help="Simulate the hardware graph (numba; --level ref: the numpy reference) on a test split: accuracy and images/s. Images are "
    "resized to the model's input; a grayscale dataset feeds a 3-channel model by repeating its channel.",
)
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--dataset", "-d", required=True, help="Dataset name (see training.data).")
@click.option("--root", type=click.Path(path_type=Path), default=None, help="Dataset root directory.")
@click.option("--level", type=click.Choice(["auto", "numba", "ref"]), default="auto", show_default=True,
              help="auto: numba.")  # fmt: skip
@click.option("--max-samples", type=click.IntRange(min=1), default=None, help="Use at most N test images.")
@click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--torch/--no-torch", "with_torch", default=None,
              help="Also run the PyTorch model of checkpoint.pt on the same images and compare logits and "
                   "predictions (exit 1 on any difference). Default: when checkpoint.pt is next to the model.")  # fmt: skip
@click.option("--unit-range", is_flag=True,
              help="Feed the images in [0, 1] without the dataset's mean/std normalization (models that "
                   "normalize inside, e.g. Brevitas' BNN-PYNQ with its 2x - 1).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print a JSON record.")
def command(model: Path, dataset: str, root: Path | None, level: str, max_samples: int | None, batch: int,
            with_torch: bool | None, unit_range: bool, as_json: bool) -> None:  # fmt: skip
    from hwsim.simulate import fixed_to_float, simulate

    onnx_path = model / L.MODEL_ONNX if model.is_dir() else model
    if not onnx_path.is_file():
        raise UserError(f"{onnx_path}: no such ONNX file")
    g, source = load_or_lower(onnx_path)
    ckpt = onnx_path.parent / L.CHECKPOINT
    if with_torch is None:
        with_torch = ckpt.is_file()
    torch_model = load_torch(ckpt) if with_torch else None
    if level == "auto":
        level = "numba"
    from training.data import get_dataset

    shape = tuple(g.metadata.get("input_shape") or ())
    try:
        ds = get_dataset(dataset, root=root, input_size=tuple(shape[1:]) if len(shape) == 3 else None,
                         max_test_samples=max_samples)  # fmt: skip
    except (ValueError, RuntimeError) as e:
        raise UserError(str(e)) from None
    x_all, y_all = (t.numpy() for t in ds.test.tensors[:2])
    if unit_range:  # undo the dataset's normalization: images in [0, 1]
        mean, std = (np.float32(v).reshape(1, -1, 1, 1) for v in (ds.info.mean, ds.info.std))
        x_all = x_all * std + mean
    if len(shape) == 3 and x_all.shape[1] == 1 and shape[0] > 1 and tuple(x_all.shape[2:]) == shape[1:]:
        x_all = np.repeat(x_all, shape[0], axis=1)  # a grayscale dataset for an RGB model (e.g. BNN-PYNQ CNV)
    if tuple(x_all.shape[1:]) != shape:
        raise UserError(
            f"dataset {dataset!r} gives images {tuple(x_all.shape[1:])}, the model expects {shape}"
        )
    label_t = next(
        (t for t in g.outputs if g.producer(t) is not None and g.producer(t).op_type == "LabelSelect"), None
    )
    logits_t = g.metadata.get("logits") or g.outputs[0]
    need_logits = torch_model is not None and logits_t not in g.outputs
    correct, n = 0, int(x_all.shape[0])
    preds, logits = [], []
    progress = cli_progress()
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        progress(f"simulating ({level})", s, n)
        out = simulate(
            g, x_all[s : s + batch].astype(np.float32), level=level, return_intermediates=need_logits
        )
        if label_t is not None:
            pred = out[label_t][:, 0]
        else:  # argmax with ties to the lower index, like torch.argmax
            pred = np.argmax(out[logits_t if logits_t in out else g.outputs[0]], axis=-1)
        correct += int((pred == y_all[s : s + batch]).sum())
        if torch_model is not None:
            preds.append(pred)
            logits.append(out[logits_t])
    dt = time.perf_counter() - t0
    progress(f"simulating ({level})", n, n)
    progress.close()
    rec = {
        "model": g.name, "graph": source, "dataset": dataset, "level": level, "samples": n,
        "correct": correct, "accuracy": correct / n if n else 0.0, "seconds": dt,
        "images_per_s": n / dt if dt > 0 else float("inf"),
    }  # fmt: skip
    if torch_model is not None:
        frac = getattr(g.spec(logits_t).dtype, "frac", 0)
        hw_logits = fixed_to_float(np.concatenate(logits), frac).astype(np.float32)
        t_logits, t_pred = torch_outputs(torch_model, x_all, batch)
        t_correct = int((t_pred == y_all).sum())
        rec["torch"] = {
            "checkpoint": str(ckpt), "correct": t_correct, "accuracy": t_correct / n if n else 0.0,
            "predictions_differ": int((t_pred != np.concatenate(preds)).sum()),
            "logits_differ": int((t_logits.reshape(hw_logits.shape) != hw_logits).sum()),
            "logit_elements": int(hw_logits.size),
        }  # fmt: skip
    if as_json:
        click.echo(json.dumps(rec, indent=1))
    else:
        click.echo(
            f"{g.name} on {dataset} (test, {n} images, level {level}, graph {source}): "
            f"accuracy {100 * rec['accuracy']:.2f} % ({correct}/{n}), {rec['images_per_s']:.1f} images/s"
        )
        if "torch" in rec:
            t = rec["torch"]
            same = t["predictions_differ"] == 0 and t["logits_differ"] == 0
            click.echo(
                f"PyTorch ({ckpt.name}): accuracy {100 * t['accuracy']:.2f} % ({t['correct']}/{n}); "
                f"{'EQUAL' if same else 'DIFFERENT'}: {t['predictions_differ']} predictions and "
                f"{t['logits_differ']} of {t['logit_elements']} logits differ"
            )
    if "torch" in rec and (rec["torch"]["predictions_differ"] or rec["torch"]["logits_differ"]):
        sys.exit(1)


def load_torch(ckpt: Path):
    """The deployed PyTorch model of a training directory's ``checkpoint.pt`` (eval mode)."""
    if not ckpt.is_file():
        raise UserError(f"{ckpt}: no such checkpoint (--torch needs the training directory's checkpoint.pt)")
    from verify.levels import load_torch_model

    try:
        model = load_torch_model(ckpt.parent)
    except Exception as e:  # noqa: BLE001 - any failure to rebuild the model is the checkpoint's problem
        raise UserError(f"{ckpt}: cannot rebuild the model ({type(e).__name__}: {e})") from None
    return model.eval()


def torch_outputs(model, x: np.ndarray, batch: int) -> tuple[np.ndarray, np.ndarray]:
    """Float32 logits and ``argmax`` predictions of the PyTorch model on ``x``."""
    import torch

    outs = []
    with torch.inference_mode():
        for s in range(0, x.shape[0], batch):
            outs.append(model(torch.from_numpy(np.ascontiguousarray(x[s : s + batch], np.float32))).numpy())
    logits = np.concatenate(outs)
    return logits, logits.argmax(axis=-1)
