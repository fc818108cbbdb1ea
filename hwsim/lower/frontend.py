"""Front end of the lowering: load a QONNX file, index it, and fold every constant subgraph.

:func:`load_model` returns a cleaned ``onnx.ModelProto`` (``qonnx.util.cleanup.cleanup_model`` runs only when the
file needs it: files written by ``training.export`` are already clean, and a second cleanup costs seconds).
:class:`OnnxModel` indexes it (topological order, producers, consumers, per-sample shapes, attributes).
:func:`fold_constants` evaluates every node whose inputs are all constant -- weight ``Quant``/``BipolarQuant`` on
initializers, ``Reshape``/``Unsqueeze`` chains of parameter vectors -- and keeps, next to each value, where it
came from (the quantizer's scale and bit width), so that the converter can recover the integers exactly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from hwsim.lower.errors import LoweringError

QUANT_DOMAIN = "qonnx.custom_op.general"
QUANT_OPS = ("Quant", "BipolarQuant", "Trunc", "MultiThreshold")


def _fix_domains_and_names(model: onnx.ModelProto) -> None:
    """QONNX ops into their qonnx domain (as ``cleanup_model`` does); unique, non-empty node names."""
    seen: set[str] = set()
    for i, n in enumerate(model.graph.node):
        if n.op_type in ("Quant", "BipolarQuant", "Trunc") and not n.domain.startswith("qonnx"):
            n.domain = QUANT_DOMAIN
        if not n.name or n.name in seen:
            base = n.name or n.op_type
            name, k = f"{base}_{i}", i
            while name in seen:
                k += 1
                name = f"{base}_{k}"
            n.name = name
        seen.add(n.name)


def _missing_shapes(model: onnx.ModelProto) -> bool:
    g = model.graph
    known = {v.name for v in g.value_info if _shape_of(v) is not None}
    known |= {v.name for v in g.input if _shape_of(v) is not None} | {
        v.name for v in g.output if _shape_of(v) is not None
    }
    known |= {i.name for i in g.initializer}
    return any(t and t not in known for n in g.node for t in n.output)


def infer_shapes(model: onnx.ModelProto) -> None:
    """Fill ``value_info`` with static shapes, in place.

    ONNX's own (C++) shape inference runs on a copy in which every QONNX quantizer is an ``Identity`` of its first
    input (a quantizer keeps the shape); this is what ``qonnx`` ``InferShapes`` does, without its per-node Python
    overhead (minutes on a 2000-node graph).
    """
    from onnx import shape_inference

    m2 = onnx.ModelProto()
    m2.CopyFrom(model)
    for n in m2.graph.node:
        if n.domain.startswith("qonnx") or n.op_type in QUANT_OPS:
            x = n.input[0]
            del n.input[:]
            n.input.append(x)
            n.op_type, n.domain = "Identity", ""
            del n.attribute[:]
    m2.graph.ClearField("value_info")
    try:
        m3 = shape_inference.infer_shapes(m2, strict_mode=False, data_prop=True)
    except Exception as e:  # noqa: BLE001 - onnx raises InferenceError and others
        raise LoweringError(f"shape inference failed: {e}") from None
    known = {v.name for v in model.graph.input} | {v.name for v in model.graph.output}
    inferred = {
        v.name: v for v in list(m3.graph.value_info) + list(m3.graph.output) if _shape_of(v) is not None
    }
    model.graph.ClearField("value_info")
    for v in m3.graph.value_info:
        if v.name not in known:
            model.graph.value_info.append(v)
    for i, v in enumerate(model.graph.output):
        if _shape_of(v) is None and v.name in inferred:
            model.graph.output[i].CopyFrom(inferred[v.name])


def refine_shapes(model: OnnxModel, consts: dict[str, Const]) -> OnnxModel:
    """Re-run shape inference with every folded constant as an initializer, when some activation still has no
    static shape (e.g. the output of a ``Pad`` whose pads were computed by a ``Shape``/``Concat`` subgraph)."""
    missing = [t for n in model.nodes for t in n.output if t and t not in consts and model.shape(t) is None]
    if not missing:
        return model
    m2 = onnx.ModelProto()
    m2.CopyFrom(model.proto)
    keep = [n for n in m2.graph.node if not all(t in consts for t in n.output)]
    del m2.graph.node[:]
    m2.graph.node.extend(keep)
    used = {t for n in keep for t in n.input}
    del m2.graph.initializer[:]
    for t in sorted(used & set(consts)):
        m2.graph.initializer.append(numpy_helper.from_array(np.asarray(consts[t].value), t))
    infer_shapes(m2)
    new = {v.name: v for v in m2.graph.value_info if _shape_of(v) is not None}
    proto = onnx.ModelProto()
    proto.CopyFrom(model.proto)
    old = [v for v in proto.graph.value_info if _shape_of(v) is not None or v.name not in new]
    known = {v.name for v in old}
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(old)
    proto.graph.value_info.extend(v for k, v in new.items() if k not in known)
    return OnnxModel(proto)


def load_model(model: str | os.PathLike | onnx.ModelProto | Any) -> onnx.ModelProto:
    """Load a QONNX model (path, ``onnx.ModelProto`` or qonnx ``ModelWrapper``) and make it executable and indexable.

    A light, fast equivalent of ``qonnx.util.cleanup.cleanup_model`` (which takes minutes on large graphs): QONNX
    domains, unique node names and static shapes (:func:`infer_shapes`). Tensor names are kept, so the result runs
    in ``execute_onnx`` with the same tensor names that the lowering records. The input is not modified.

    Raises:
        LoweringError: the file does not exist or is not an ONNX model.
    """
    if isinstance(model, (str, os.PathLike)):
        p = Path(model)
        if not p.is_file():
            raise LoweringError(f"{p}: no such ONNX file")
        try:
            proto = onnx.load(os.fspath(p))
        except Exception as e:  # noqa: BLE001 - onnx raises DecodeError, OSError, ...
            raise LoweringError(f"{p}: not a valid ONNX model ({type(e).__name__}: {e})") from None
    elif isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
    elif hasattr(model, "model") and isinstance(model.model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model.model)
    else:
        raise TypeError(f"expected an ONNX path, ModelProto or ModelWrapper, got {type(model).__name__}")
    if len(proto.graph.node) == 0:
        raise LoweringError("the ONNX graph has no nodes")
    _fix_domains_and_names(proto)
    if _missing_shapes(proto):
        infer_shapes(proto)
    return proto


def _shape_of(vi: onnx.ValueInfoProto) -> tuple[int, ...] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(int(d.dim_value))
    return tuple(dims)


class OnnxModel:
    """An index over a cleaned ONNX graph: nodes in topological order, producers, consumers, shapes."""

    def __init__(self, proto: onnx.ModelProto) -> None:
        self.proto = proto
        g = proto.graph
        self.graph = g
        self.initializers: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in g.initializer}
        self.inputs = [i.name for i in g.input if i.name not in self.initializers]
        self.outputs = [o.name for o in g.output]
        self.shapes: dict[str, tuple[int, ...]] = {}
        for vi in list(g.input) + list(g.output) + list(g.value_info):
            s = _shape_of(vi)
            if s is not None:
                self.shapes[vi.name] = s
        for k, v in self.initializers.items():
            self.shapes[k] = tuple(v.shape)
        self.nodes = self._toposort(list(g.node))
        self.producer: dict[str, onnx.NodeProto] = {t: n for n in self.nodes for t in n.output}
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        for n in self.nodes:
            for t in n.input:
                if t:
                    self.consumers.setdefault(t, []).append(n)
        self.opset = next((o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.metadata = {p.key: p.value for p in proto.metadata_props}

    def _toposort(self, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
        avail = set(self.initializers) | set(self.inputs) | {""}
        pending = list(nodes)
        out: list[onnx.NodeProto] = []
        while pending:
            rest = []
            for n in pending:
                if all(t in avail for t in n.input):
                    out.append(n)
                    avail.update(n.output)
                else:
                    rest.append(n)
            if len(rest) == len(pending):
                missing = sorted({t for n in rest for t in n.input if t not in avail})
                raise LoweringError(
                    f"the ONNX graph is not a DAG or reads undefined tensors: {', '.join(missing[:5])}",
                    rest[0].name,
                    rest[0].op_type,
                )
            pending = rest
        return out

    def n_readers(self, tensor: str) -> int:
        """Number of node inputs plus graph outputs that read ``tensor``."""
        return len(self.consumers.get(tensor, [])) + self.outputs.count(tensor)

    def shape(self, tensor: str) -> tuple[int, ...] | None:
        return self.shapes.get(tensor)


def attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    """A node attribute as a Python value (bytes decoded to str), or ``default``."""
    for a in node.attribute:
        if a.name == name:
            v = helper.get_attribute_value(a)
            if isinstance(v, bytes):
                return v.decode()
            if isinstance(v, list):
                return [x.decode() if isinstance(x, bytes) else x for x in v]
            return v
    return default


# -------------------------------------------------------------------------------------------------------------
# constants


@dataclass(frozen=True, eq=False)
class Const:
    """A constant tensor and, when it is the output of a quantizer (possibly reshaped), the quantizer's data.

    ``scale`` has the shape of ``value`` (broadcast) and is ``None`` for values that never passed a quantizer.
    """

    name: str
    value: np.ndarray
    bits: int | None = None
    scale: np.ndarray | None = None
    bipolar: bool = False
    signed: bool = True
    source: str = ""

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def with_value(self, name: str, value: np.ndarray, scale: np.ndarray | None) -> Const:
        return Const(name, value, self.bits, scale, self.bipolar, self.signed, self.source)


_SHAPE_OPS = ("Reshape", "Unsqueeze", "Squeeze", "Flatten", "Transpose", "Identity")


def _shape_op(node: onnx.NodeProto, x: np.ndarray, ins: list[np.ndarray | None], opset: int) -> np.ndarray:
    op = node.op_type
    if op == "Identity":
        return x
    if op == "Reshape":
        shape = [int(s) for s in ins[1]]
        allowzero = attr(node, "allowzero", 0)
        if not allowzero:
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return x.reshape(shape)
    if op == "Flatten":
        axis = attr(node, "axis", 1)
        axis = axis + x.ndim if axis < 0 else axis
        return x.reshape(int(np.prod(x.shape[:axis])), -1)
    if op == "Transpose":
        perm = attr(node, "perm")
        return np.transpose(x, perm)
    axes = attr(node, "axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = [int(a) for a in ins[1]]
    if op == "Unsqueeze":
        out_rank = x.ndim + len(axes)
        y = x
        for a in sorted(a + out_rank if a < 0 else a for a in axes):
            y = np.expand_dims(y, a)
        return y
    if op == "Squeeze":
        if axes is None:
            return np.squeeze(x)
        return np.squeeze(x, axis=tuple(a + x.ndim if a < 0 else a for a in axes))
    raise AssertionError(op)


def _run_quant(node: onnx.NodeProto, ins: list[np.ndarray]) -> np.ndarray:
    """Execute a Quant/BipolarQuant/Trunc node with qonnx's own implementation (exact reference semantics)."""
    from qonnx.custom_op.registry import getCustomOp

    n = helper.make_node(node.op_type, list(node.input), list(node.output), domain=QUANT_DOMAIN)
    n.attribute.extend(node.attribute)
    ctx = {k: v for k, v in zip(node.input, ins, strict=True)}
    ctx[node.output[0]] = None
    inst = getCustomOp(n)
    inst.execute_node(ctx, None)
    return np.asarray(ctx[node.output[0]])


def _run_onnx(node: onnx.NodeProto, ins: list[np.ndarray], opset: int) -> list[np.ndarray]:
    import onnxruntime as ort

    inputs = [
        helper.make_tensor_value_info(t, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
        for t, v in zip(node.input, ins, strict=True)
        if t and v is not None
    ]
    outputs = [helper.make_empty_tensor_value_info(t) for t in node.output]
    g = helper.make_graph([node], "const", inputs, outputs)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = min(m.ir_version, 9)
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = {t: v for t, v in zip(node.input, ins, strict=True) if t and v is not None}
    return sess.run(None, feed)


def fold_constants(model: OnnxModel) -> dict[str, Const]:
    """Evaluate every node whose inputs are all constant; returns ``{tensor: Const}`` including initializers."""
    consts: dict[str, Const] = {k: Const(k, v) for k, v in model.initializers.items()}
    for node in model.nodes:
        if node.op_type == "Shape" and model.shape(node.input[0]) is not None:
            shp = np.array(model.shape(node.input[0]), dtype=np.int64)
            start, end = attr(node, "start", 0), attr(node, "end", None)
            consts[node.output[0]] = Const(node.output[0], shp[start:end])
            continue
        if not all((t == "" or t in consts) for t in node.input):
            continue
        ins = [consts[t] if t else None for t in node.input]
        vals = [c.value if c is not None else None for c in ins]
        try:
            if node.op_type in ("Quant", "BipolarQuant"):
                consts[node.output[0]] = _fold_quant(node, vals)
            elif node.op_type in _SHAPE_OPS and ins and ins[0] is not None:
                x = ins[0]
                y = _shape_op(node, x.value, vals, model.opset)
                s = _shape_op(node, x.scale, vals, model.opset) if x.scale is not None else None
                consts[node.output[0]] = x.with_value(node.output[0], y, s)
            elif node.op_type == "Constant":
                t = next(a for a in node.attribute if a.name == "value")
                consts[node.output[0]] = Const(node.output[0], numpy_helper.to_array(t.t))
            elif node.op_type in ("Trunc", "MultiThreshold"):
                raise LoweringError(
                    f"unsupported pattern at node {node.name} ({node.op_type}): constant {node.op_type} nodes are "
                    "not supported",
                    node.name,
                    node.op_type,
                )
            else:
                outs = _run_onnx(node, vals, model.opset)
                for t, v in zip(node.output, outs, strict=True):
                    consts[t] = Const(t, np.asarray(v))
        except LoweringError:
            raise
        except Exception as e:  # noqa: BLE001 - report any evaluation failure against the node
            raise LoweringError(
                f"cannot evaluate constant node {node.name} ({node.op_type}): {type(e).__name__}: {e}",
                node.name,
                node.op_type,
            ) from None
    return consts


def _fold_quant(node: onnx.NodeProto, vals: list[np.ndarray]) -> Const:
    out = node.output[0]
    if node.op_type == "BipolarQuant":
        y = _run_quant(node, vals)
        scale = np.broadcast_to(np.asarray(vals[1], dtype=np.float64), y.shape).copy()
        return Const(out, y, 1, scale, True, True, node.name)
    zp = np.asarray(vals[2])
    if np.any(zp != 0):
        raise LoweringError(
            f"unsupported pattern at node {node.name} (Quant): zero point must be 0, got {zp.ravel()[:4]}",
            node.name,
            node.op_type,
        )
    y = _run_quant(node, vals)
    bits = float(np.asarray(vals[3]).ravel()[0])
    if bits != int(bits):
        raise LoweringError(
            f"unsupported pattern at node {node.name} (Quant): non-integer bit width {bits}",
            node.name,
            "Quant",
        )
    scale = np.broadcast_to(np.asarray(vals[1], dtype=np.float64), y.shape).copy()
    return Const(out, y, int(bits), scale, False, bool(attr(node, "signed", 1)), node.name)


def constant_nodes(model: OnnxModel, consts: dict[str, Const]) -> Iterable[onnx.NodeProto]:
    """Nodes whose outputs were all folded."""
    return [n for n in model.nodes if all(t in consts for t in n.output)]
