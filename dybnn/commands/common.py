"""Helpers shared by several verbs."""

from __future__ import annotations

from pathlib import Path

from dybnn.errors import UserError
from runfiles import layout as L


def load_graph(path: Path):
    """A hardware graph from a QONNX file (lowered with :func:`hwsim.lower.lower`) or a directory holding
    ``hw/graph.json`` (or ``graph.json``)."""
    from hwsim.graph import GraphError, HwGraph

    if path.is_dir():
        for d in (path / L.HW_DIR, path):
            if (d / L.GRAPH_JSON).is_file():
                try:
                    return HwGraph.load(d)
                except GraphError as e:
                    raise UserError(str(e)) from None
        raise UserError(
            f"{path}: no hw/graph.json or graph.json (run `dybnn lower` first, or pass model.onnx)"
        )
    if not path.is_file():
        raise UserError(f"{path}: no such file or directory")
    from hwsim.lower import lower

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
    from hwsim.graph import GRAPH_OWNER, GraphError, HwGraph
    from hwsim.lower import LoweringError, lower
    from runfiles.outputs import file_sha256, made_from, owned_files_intact

    hw = onnx_path.parent / L.HW_DIR
    why = ""
    if (hw / L.GRAPH_JSON).is_file():
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


def load_folding(g, path: str | Path, cfg=None) -> tuple[dict, list[str]]:
    """A folding file for ``g`` with the nodes it does not name filled in; returns ``(folding, filled)``.

    A file that names only some nodes (BNN-PYNQ ``config.h`` style: the matrix layers) would leave every other
    node at PE = 1, which easily becomes the bottleneck. As FINN's SetFolding does, each unnamed node gets the
    smallest folding that keeps up with the slowest named node (:func:`hls.estimate.search.complete_folding`);
    ``filled`` lists them so that the caller can say so.

    Raises:
        UserError: the file is missing, a directory, not JSON, names an unknown node, or a factor does not divide.
    """
    from hls.folding import FoldingError, load

    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p}: is a directory, expected a folding JSON file")
    try:
        partial = load(g, p)
    except FoldingError as e:
        raise UserError(str(e)) from None
    except OSError as e:
        raise UserError(f"{p}: cannot read the folding file ({e.strerror or e})") from None
    filled = [n.name for n in g.nodes if n.name not in partial]
    if not filled or not partial:  # complete, or empty (then PE = SIMD = 1 everywhere, as written)
        return partial, []
    from hls.estimate.search import complete_folding

    try:
        return complete_folding(g, partial, cfg=cfg), filled
    except FoldingError as e:
        raise UserError(f"{p}: {e}") from None


def filled_note(filled: list[str], limit: int = 8) -> str:
    """One line naming the nodes a folding file left out and that were filled in."""
    names = ", ".join(filled[:limit]) + (f" and {len(filled) - limit} more" if len(filled) > limit else "")
    return (
        f"folding: {len(filled)} node(s) not in the file got the smallest folding that keeps up with the named "
        f"ones: {names}"
    )


def graph_provenance(model: Path) -> dict:
    """What a graph given as MODEL (a QONNX file, or a directory with ``hw/``) was made from, for ``made_from``."""
    from runfiles.outputs import file_sha256, graph_digest

    if model.is_file():
        return {"onnx_sha256": file_sha256(model)}
    for d in (model / L.HW_DIR, model):
        if (d / L.GRAPH_JSON).is_file():
            return {"graph_sha256": graph_digest(d)}
    return {}
