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


def graph_for_onnx(onnx_path: Path):
    """The hardware graph of ``onnx_path``: ``hw/`` next to it when its manifest says it was lowered from this
    very file (same SHA-256) and its files are intact, else a fresh lowering; returns ``(graph, source)``.

    An mtime says nothing about which model a graph belongs to (a copied or restored file, another model
    exported later), so only the recorded content hash counts.
    """
    from dybnn.outputs import file_sha256, made_from, owned_files_intact
    from hwsim.graph import GRAPH_OWNER, GraphError, HwGraph
    from hwsim.lower import LoweringError, lower

    hw = onnx_path.parent / "hw"
    why = ""
    if (hw / "graph.json").is_file():
        rec = made_from(hw, GRAPH_OWNER)
        if rec is None:
            why = f" ({hw} records no source model)"
        elif rec.get("onnx_sha256") != file_sha256(onnx_path):
            why = f" ({hw} was lowered from another model.onnx)"
        elif not owned_files_intact(hw, GRAPH_OWNER):
            why = f" ({hw} was changed after it was written)"
        else:
            try:
                return HwGraph.load(hw), str(hw)
            except GraphError as e:
                raise UserError(str(e)) from None
    try:
        return lower(onnx_path), "lowered now" + why
    except (LoweringError, GraphError) as e:
        raise UserError(f"{onnx_path}: {e}") from None
