"""``dybnn sim``: run the bit-exact hardware simulator on a dataset's test split."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from dybnn.errors import UserError


def load_or_lower(onnx_path: Path):
    """``hw/`` next to the model when it is at least as new as the model, else a fresh lowering."""
    from hwsim.graph import GraphError, HwGraph
    from hwsim.lower import LoweringError, lower

    hw = onnx_path.parent / "hw"
    gj = hw / "graph.json"
    try:
        if gj.is_file() and gj.stat().st_mtime >= onnx_path.stat().st_mtime:
            return HwGraph.load(hw), str(hw)
        return lower(onnx_path), "lowered now"
    except (LoweringError, GraphError) as e:
        raise UserError(f"{onnx_path}: {e}") from None


@click.command(
    "sim", help="Simulate the hardware graph (numba, else ref) on a test split: accuracy and images/s."
)
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--dataset", "-d", required=True, help="Dataset name (see training.data).")
@click.option("--root", type=click.Path(path_type=Path), default=None, help="Dataset root directory.")
@click.option("--level", type=click.Choice(["auto", "numba", "ref"]), default="auto", show_default=True)
@click.option("--max-samples", type=click.IntRange(min=1), default=None, help="Use at most N test images.")
@click.option("--batch", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON record.")
def command(model: Path, dataset: str, root: Path | None, level: str, max_samples: int | None, batch: int,
            as_json: bool) -> None:  # fmt: skip
    from hwsim.simulate import simulate

    onnx_path = model / "model.onnx" if model.is_dir() else model
    if not onnx_path.is_file():
        raise UserError(f"{onnx_path}: no such ONNX file")
    g, source = load_or_lower(onnx_path)
    if level == "auto":
        try:
            from hwsim.kernels import KERNELS  # noqa: F401

            level = "numba"
        except Exception:  # noqa: BLE001 - fall back to the numpy reference
            level = "ref"
    try:
        from training.data import get_dataset
    except ImportError as e:
        raise UserError(f"datasets are unavailable: {e}") from None
    shape = tuple(g.metadata.get("input_shape") or ())
    try:
        ds = get_dataset(dataset, root=root, input_size=tuple(shape[1:]) if len(shape) == 3 else None,
                         max_test_samples=max_samples)  # fmt: skip
    except (ValueError, RuntimeError) as e:
        raise UserError(str(e)) from None
    x_all, y_all = (t.numpy() for t in ds.test.tensors[:2])
    if tuple(x_all.shape[1:]) != shape:
        raise UserError(
            f"dataset {dataset!r} gives images {tuple(x_all.shape[1:])}, the model expects {shape}"
        )
    label_t = next(
        (t for t in g.outputs if g.producer(t) is not None and g.producer(t).op_type == "LabelSelect"), None
    )
    logits_t = g.metadata.get("logits") or g.outputs[0]
    correct, n = 0, int(x_all.shape[0])
    t0 = time.perf_counter()
    for s in range(0, n, batch):
        out = simulate(g, x_all[s : s + batch].astype(np.float32), level=level)
        if label_t is not None:
            pred = out[label_t][:, 0]
        else:  # argmax with ties to the lower index, like torch.argmax
            pred = np.argmax(out[logits_t if logits_t in out else g.outputs[0]], axis=-1)
        correct += int((pred == y_all[s : s + batch]).sum())
    dt = time.perf_counter() - t0
    rec = {
        "model": g.name, "graph": source, "dataset": dataset, "level": level, "samples": n,
        "correct": correct, "accuracy": correct / n if n else 0.0, "seconds": dt,
        "images_per_s": n / dt if dt > 0 else float("inf"),
    }  # fmt: skip
    if as_json:
        click.echo(json.dumps(rec, indent=1))
        return
    click.echo(
        f"{g.name} on {dataset} (test, {n} images, level {level}, graph {source}): accuracy {100 * rec['accuracy']:.2f} % "
        f"({correct}/{n}), {rec['images_per_s']:.1f} images/s"
    )
