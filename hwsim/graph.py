"""The hardware graph: typed nodes over named, typed tensors; saved as ``graph.json`` + ``params.npz``.

The graph module imports no back end (no simulator, no code generator, no estimator).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwsim.nodes import NODE_TYPES, HyperFunction, Node, OutputStage
from hwsim.types import Fixed, TensorSpec, dtype_from_json
from runfiles.layout import GRAPH_JSON, PARAMS_NPZ

FORMAT = "dybnn-hwgraph"
VERSION = 1
#: owner name of the files :meth:`HwGraph.save` writes (manifest ``.dybnn-lower.json``)
GRAPH_OWNER = "lower"


class GraphError(ValueError):
    """The graph is inconsistent or a file does not hold a valid hardware graph."""


@dataclass
class HwGraph:
    """Nodes in topological order over named tensors with per-sample, channels-last shapes."""

    name: str
    inputs: list[str]
    outputs: list[str]
    tensors: dict[str, TensorSpec]
    nodes: list[Node]
    metadata: dict[str, Any] = field(default_factory=dict)

    # ---------------------------------------------------------------------------------------------- queries
    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node named {name!r} in graph {self.name!r}")

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def spec(self, tensor: str) -> TensorSpec:
        try:
            return self.tensors[tensor]
        except KeyError:
            raise GraphError(f"graph {self.name!r}: tensor {tensor!r} has no spec") from None

    def count(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.op_type] = out.get(n.op_type, 0) + 1
        return out

    # ---------------------------------------------------------------------------------------------- checks
    def validate(self) -> None:
        """Every tensor is produced once before use, has a spec, and node names are unique."""
        seen = set(self.inputs)
        names = set()
        for t in self.inputs:
            self.spec(t)
        for n in self.nodes:
            if n.name in names:
                raise GraphError(f"graph {self.name!r}: duplicate node name {n.name!r}")
            names.add(n.name)
            for t in n.inputs:
                if t not in seen:
                    raise GraphError(
                        f"graph {self.name!r}: node {n.name!r} ({n.op_type}) reads {t!r} before it is produced"
                    )
            for t in n.outputs:
                if t in seen:
                    raise GraphError(f"graph {self.name!r}: tensor {t!r} is produced twice (node {n.name!r})")
                self.spec(t)
                seen.add(t)
        for t in self.outputs:
            if t not in seen:
                raise GraphError(f"graph {self.name!r}: output {t!r} is never produced")

    # ---------------------------------------------------------------------------------------------- I/O
    def save(self, directory: str | os.PathLike, made_from: dict[str, Any] | None = None) -> Path:
        """Write ``graph.json`` and ``params.npz`` into ``directory``, replacing only those two files.

        The files are written to a temporary directory and renamed in (:func:`runfiles.outputs.write_owned`);
        other files in ``directory`` are left alone. ``made_from`` (e.g. the SHA-256 of the QONNX file) goes to
        the manifest ``.dybnn-lower.json`` so that readers can tell which model the graph belongs to.
        """
        from runfiles.outputs import write_owned

        arrays: dict[str, np.ndarray] = {}
        doc = {
            "format": FORMAT,
            "version": VERSION,
            "name": self.name,
            "inputs": list(self.inputs),
            "outputs": list(self.outputs),
            "metadata": self.metadata,
            "tensors": {k: v.to_json() for k, v in self.tensors.items()},
            "nodes": [_node_to_json(n, arrays) for n in self.nodes],
        }

        def write(tmp: Path) -> None:
            np.savez(tmp / PARAMS_NPZ, **arrays)
            (tmp / GRAPH_JSON).write_text(json.dumps(doc, indent=1))

        return write_owned(directory, GRAPH_OWNER, write, made_from)

    @staticmethod
    def load(directory: str | os.PathLike) -> HwGraph:
        directory = Path(directory)
        gj, pz = directory / GRAPH_JSON, directory / PARAMS_NPZ
        if not gj.is_file() or not pz.is_file():
            raise GraphError(f"{directory}: expected graph.json and params.npz (written by `dybnn lower`)")
        try:
            doc = json.loads(gj.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise GraphError(f"{gj}: not valid JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise GraphError(f"{gj}: not a dybnn hardware graph (missing format tag {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise GraphError(
                f"{gj}: hardware graph version {doc.get('version')} unsupported (expected {VERSION})"
            )
        try:
            with np.load(pz) as z:
                arrays = {k: z[k] for k in z.files}
        except Exception as e:  # noqa: BLE001 - numpy raises many types for corrupt files
            raise GraphError(f"{pz}: cannot read parameters ({e})") from None
        nodes = [_node_from_json(d, arrays, gj) for d in doc["nodes"]]
        g = HwGraph(
            name=doc["name"],
            inputs=list(doc["inputs"]),
            outputs=list(doc["outputs"]),
            tensors={k: TensorSpec.from_json(v) for k, v in doc["tensors"].items()},
            nodes=nodes,
            metadata=doc.get("metadata", {}),
        )
        g.validate()
        return g


# -------------------------------------------------------------------------------------------------- serialization


def _value_to_json(v: Any, key: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(v, np.ndarray):
        arrays[key] = v
        return {"$array": key}
    if isinstance(v, Fixed):
        return v.to_json()
    if isinstance(v, (OutputStage, HyperFunction)):
        return {
            "$record": type(v).__name__,
            **{
                f.name: _value_to_json(getattr(v, f.name), f"{key}.{f.name}", arrays)
                for f in dataclasses.fields(v)
            },
        }
    if isinstance(v, tuple):
        return list(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def _node_to_json(n: Node, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    d: dict[str, Any] = {"op_type": n.op_type}
    for f in dataclasses.fields(n):
        d[f.name] = _value_to_json(getattr(n, f.name), f"{n.name}.{f.name}", arrays)
    return d


def _value_from_json(v: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    if isinstance(v, dict):
        if "$array" in v:
            if v["$array"] not in arrays:
                raise GraphError(f"{where}: params.npz lacks array {v['$array']!r}")
            return arrays[v["$array"]]
        if "$record" in v:
            cls = {"OutputStage": OutputStage, "HyperFunction": HyperFunction}[v["$record"]]
            kw = {k: _value_from_json(x, arrays, where) for k, x in v.items() if k != "$record"}
            return cls(**kw)
        if "kind" in v:
            return dtype_from_json(v)
    if isinstance(v, list):
        return tuple(v)
    return v


def _node_from_json(d: dict[str, Any], arrays: dict[str, np.ndarray], where: Path) -> Node:
    op = d.get("op_type")
    if op not in NODE_TYPES:
        raise GraphError(f"{where}: unknown node type {op!r}; known: {', '.join(sorted(NODE_TYPES))}")
    cls = NODE_TYPES[op]
    kw = {
        k: _value_from_json(v, arrays, f"{where} node {d.get('name')!r}")
        for k, v in d.items()
        if k != "op_type"
    }
    return cls(**kw)
