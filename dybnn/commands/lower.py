"""``dybnn lower``: QONNX model -> hardware graph (``graph.json`` + ``params.npz``)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dybnn.errors import UserError
from runfiles import layout as L


def lower_to_dir(onnx_path: Path, out: Path, label_select: bool = True):
    """Lower ``onnx_path`` and save the graph to ``out`` (only ``graph.json``, ``params.npz`` and their
    manifest are written; other files in ``out`` stay); user errors become :class:`UserError`."""
    from hwsim.graph import GraphError
    from hwsim.lower import LoweringError, lower

    try:
        g = lower(onnx_path, label_select=label_select)
    except (LoweringError, GraphError) as e:
        raise UserError(f"{onnx_path}: {e}") from None
    try:
        g.save(out, made_from=graph_made_from(onnx_path, label_select))
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror or e}") from None
    return g


def graph_made_from(onnx_path: Path, label_select: bool = True) -> dict:
    """The provenance a lowered graph records: the QONNX file's SHA-256 and the lowering option."""
    from runfiles.outputs import file_sha256

    return {"onnx_sha256": file_sha256(onnx_path), "label_select": label_select}


@click.command(
    "lower",
    help="Lower a QONNX model to the hardware graph (graph.json + params.npz): dybnn exports and Brevitas W1A1 "
    "exports written by others (BNN-PYNQ style; supported patterns and errors: docs/qonnx-support.md).",
)
@click.argument("model", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Output directory (default: hw/ next to MODEL). Only graph.json, params.npz and their manifest "
    ".dybnn-lower.json are written there; other files stay.",
)  # fmt: skip
@click.option("--no-label-select", is_flag=True, help="Do not add the top-1 LabelSelect output.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def command(model: Path, out: Path | None, no_label_select: bool, as_json: bool) -> None:
    if not model.is_file():
        raise UserError(f"{model}: no such ONNX file")
    out = out if out is not None else model.parent / L.HW_DIR
    g = lower_to_dir(model, out, label_select=not no_label_select)
    summary = {
        "model": g.name,
        "out": str(out),
        "nodes": g.count(),
        "inputs": {t: str(g.spec(t).shape) for t in g.inputs},
        "outputs": {t: f"{g.spec(t).shape} {g.spec(t).dtype}" for t in g.outputs},
    }
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(f"lowered {model} -> {out} ({len(g.nodes)} nodes)")
    for op, n in sorted(g.count().items()):
        click.echo(f"  {op:14s} {n}")
    for t in g.outputs:
        click.echo(f"  output {t}: {g.spec(t).shape} {g.spec(t).dtype}")
