"""Helpers shared by several verbs."""

from __future__ import annotations

from pathlib import Path

from dybnn.errors import UserError


def load_graph(path: Path):
    """A hardware graph from a QONNX file (lowered with :func:`hwsim.lower.lower`) or a directory holding
    ``hw/graph.json`` (or ``graph.json``)."""
    from hwsim.graph import GraphError, HwGraph

    if path.is_dir():
        for d in (path / "hw", path):
            if (d / "graph.json").is_file():
                try:
                    return HwGraph.load(d)
                except GraphError as e:
                    raise UserError(str(e)) from None
        raise UserError(
            f"{path}: no hw/graph.json or graph.json (run `dybnn lower` first, or pass model.onnx)"
        )
    if not path.is_file():
        raise UserError(f"{path}: no such file or directory")
    try:
        from hwsim.lower import lower
    except ImportError as e:
        raise UserError(
            f"{path}: lowering a QONNX file needs hwsim.lower and its dependencies ({e})"
        ) from None
    try:
        return lower(path)
    except ValueError as e:  # LoweringError, GraphError, InferError are ValueErrors naming the node
        raise UserError(f"{path}: {e}") from None
