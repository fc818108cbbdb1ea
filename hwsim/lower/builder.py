"""Incremental construction of an :class:`~hwsim.graph.HwGraph`: unique names, spec inference as nodes are added,
and the record of which ONNX tensor each hardware tensor stands for (used by :mod:`verify.levels`)."""

from __future__ import annotations

import re
from typing import Any

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.infer import InferError, infer
from hwsim.lower.errors import LoweringError
from hwsim.lower.layout import Layout
from hwsim.nodes.base import NodeValidationError
from hwsim.types import TensorSpec

_IDENT = re.compile(r"[^A-Za-z0-9_]")


def sanitize(name: str) -> str:
    s = _IDENT.sub("_", name).strip("_") or "t"
    return s if not s[0].isdigit() else f"t_{s}"


class GraphBuilder:
    """Collects nodes in topological order; every added node gets its output specs from :func:`hwsim.infer.infer`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inputs: list[str] = []
        self.tensors: dict[str, TensorSpec] = {}
        self.nodes: list[N.Node] = []
        self._node_names: set[str] = set()
        #: hw tensor -> {"onnx": name, "frac": int, "bipolar": bool, "layout": {...}}
        self.onnx_map: dict[str, dict[str, Any]] = {}
        #: hw node -> the ONNX nodes it implements
        self.sources: dict[str, list[str]] = {}

    def tensor_name(self, base: str) -> str:
        return _unique(sanitize(base), self.tensors)

    def node_name(self, base: str) -> str:
        return _unique(sanitize(base), self._node_names)

    def add_input(self, base: str, spec: TensorSpec) -> str:
        t = self.tensor_name(base)
        self.tensors[t] = spec
        self.inputs.append(t)
        return t

    def add(
        self,
        cls: type[N.Node],
        name_base: str,
        inputs: tuple[str, ...],
        out_bases: tuple[str, ...],
        /,
        onnx_node: Any = None,
        sources: list[str] | None = None,
        **fields: Any,
    ) -> tuple[str, ...]:
        """Add a node of type ``cls``; returns its output tensor names (specs inferred)."""
        where = (
            f"node {onnx_node.name} ({onnx_node.op_type})" if onnx_node is not None else f"node {name_base}"
        )
        outs = []
        for b in out_bases:
            t = self.tensor_name(b)
            outs.append(t)
            self.tensors[t] = None  # reserve the name
        name = self.node_name(name_base)
        try:
            node = cls(name=name, inputs=tuple(inputs), outputs=tuple(outs), **fields)
            specs = infer(node, [self.tensors[t] for t in inputs])
        except (InferError, NodeValidationError, ValueError) as e:
            for t in outs:
                self.tensors.pop(t, None)
            raise LoweringError(
                f"cannot lower {where} to {cls.op_type}: {e}",
                getattr(onnx_node, "name", ""),
                getattr(onnx_node, "op_type", ""),
            ) from None
        for t, s in zip(outs, specs, strict=True):
            self.tensors[t] = s
        self.nodes.append(node)
        self._node_names.add(name)
        if sources:
            self.sources[name] = list(sources)
        return tuple(outs)

    def spec(self, t: str) -> TensorSpec:
        return self.tensors[t]

    def record(self, hw: str, onnx: str, frac: int, bipolar: bool, layout: Layout) -> None:
        """Note that hardware tensor ``hw`` holds ONNX tensor ``onnx`` (first record wins)."""
        if hw not in self.onnx_map:
            self.onnx_map[hw] = {
                "onnx": onnx,
                "frac": int(frac),
                "bipolar": bool(bipolar),
                "layout": layout.to_json(),
            }

    def graph(self, outputs: list[str], metadata: dict[str, Any]) -> HwGraph:
        g = HwGraph(
            self.name, list(self.inputs), list(outputs), dict(self.tensors), list(self.nodes), metadata
        )
        g.validate()
        return g


def _unique(base: str, taken) -> str:
    """``base``, or ``base_1``, ``base_2``, ... -- the first name not in ``taken``."""
    name, i = base, 1
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    return name
