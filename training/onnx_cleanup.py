"""Linear-time QONNX cleanup of a Brevitas export: the graph ``qonnx.util.cleanup.cleanup_model`` gives.

``qonnx.util.cleanup.cleanup_model(preserve_qnt_ops=True)`` runs eight graph transformations, each followed by
``ModelWrapper.cleanup()`` (remove unused tensors and static graph inputs, sort the graph topologically, put the
initializer inputs of commutative ops last, make every parameter tensor unique). Its ``ModelWrapper`` finds a
tensor's shape, initializer, producer or name by scanning the whole graph, and ``FoldConstants`` folds one node
per pass with a shape inference after each: on the ~2,000-node graph of ``dybnn-reactnet-a`` that is 400 s of
CPU, quadratic in the graph size.

:func:`cleanup` computes the same graph with every lookup through dictionaries built once per step, the constant
folding in one pass in graph order (a folded output becomes an initializer before any of its consumers is
visited) and two ONNX shape inferences (before and after the folding). It applies the same steps in the same
order, including the topological sorts between them, because the final node order depends on them:

1. shape inference (QONNX ops shown to ONNX as ``Identity`` of their first input), then the post-step cleanup;
2. constant folding: every node whose inputs are all initializers (or a ``Shape`` of a tensor of known shape),
   except the quantizers ``Quant``/``BipolarQuant``/``QuantizeLinear``/``DequantizeLinear``, is executed with
   ``qonnx.core.onnx_exec.execute_node`` and replaced by an initializer; shape inference; post-step cleanup;
3. ``Transpose`` of a ``Quant``/``BipolarQuant`` whose inputs are all initializers folded into those initializers
   (``FoldTransposeIntoQuantInit``); post-step cleanup;
4. node names ``<op>_<k>``, tensor names ``<node>_out<k>`` / ``<node>_param<k>`` / ``global_in`` /
   ``global_out`` (``GiveUniqueNodeNames``, ``GiveReadableTensorNames``).

The post-step cleanup is ``ModelWrapper.cleanup()``: unused initializers, value infos and quantization
annotations removed; graph inputs with an initializer moved to the value infos; nodes sorted by their depth (the
longest path from a node without predecessors, what ``toposort_flatten`` gives) and, at equal depth, by their
previous position; dynamic inputs before initializer inputs of ``Add``/``Mul``/``And``/``Or``/``Xor``/``Sum``;
an initializer used a second time copied under a new name, with a ``finn_datatype`` annotation.

``tests/training/test_onnx_cleanup.py`` checks that the result equals qonnx's on the registry's small models:
the same nodes in the same order, the same initializers (values), value infos, inputs, outputs and quantization
annotations. Two deliberate differences, neither met by a Brevitas export: a tensor used twice by one node is
renamed at both places (qonnx renames the first), and nodes with several outputs are not folded.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

#: QONNX quantizer nodes that the cleanup keeps (``cleanup_model(preserve_qnt_ops=True)``).
PRESERVED_OPS = frozenset({"Quant", "BipolarQuant", "QuantizeLinear", "DequantizeLinear"})
#: The QONNX ops whose domain the cleanup sets to ``qonnx.custom_op.general``.
QONNX_DOMAIN_OPS = frozenset({"Quant", "Trunc", "BipolarQuant"})
QONNX_DOMAIN = "qonnx.custom_op.general"
#: ``SortCommutativeInputsInitializerLast.SUPPORTED_COMMUTATIVE_OPS``.
COMMUTATIVE_OPS = frozenset({"Add", "Mul", "And", "Or", "Xor", "Sum"})


class CleanupError(ValueError):
    """The graph cannot be cleaned up (one line, naming the node)."""


def _copy(msg):
    out = type(msg)()
    out.CopyFrom(msg)
    return out


class _Graph:
    """The graph of a ``ModelProto`` as Python containers indexed by tensor name."""

    def __init__(self, model: onnx.ModelProto) -> None:
        g = model.graph
        self.model = model
        self.nodes: list[onnx.NodeProto] = [_copy(n) for n in g.node]
        # the model's own tensors (never modified: a renamed one gets its new name in write())
        self.inits: dict[str, onnx.TensorProto] = {t.name: t for t in g.initializer}
        self.inputs: dict[str, onnx.ValueInfoProto] = {v.name: _copy(v) for v in g.input}
        self.outputs: dict[str, onnx.ValueInfoProto] = {v.name: _copy(v) for v in g.output}
        self.vis: dict[str, onnx.ValueInfoProto] = {v.name: _copy(v) for v in g.value_info}
        self.qas: dict[str, onnx.TensorAnnotation] = {
            a.tensor_name: _copy(a) for a in g.quantization_annotation
        }
        self._fresh = 0

    # --- lookups -----------------------------------------------------------------------------------------
    def valueinfo(self, name: str) -> onnx.ValueInfoProto | None:
        for container in (self.inputs, self.outputs, self.vis):
            v = container.get(name)
            if v is not None:
                return v
        return None

    def shape(self, name: str) -> list[int] | None:
        """``ModelWrapper.get_tensor_shape``: the value info's dims (0 where unknown), else the initializer's."""
        v = self.valueinfo(name)
        if v is not None:
            return [d.dim_value for d in v.type.tensor_type.shape.dim]
        t = self.inits.get(name)
        return None if t is None else list(t.dims)

    def fresh_name(self, base: str) -> str:
        while True:
            self._fresh += 1
            name = f"{base}__{self._fresh}"
            if name not in self.inits and self.valueinfo(name) is None:
                return name

    # --- edits -------------------------------------------------------------------------------------------
    def set_shape(self, name: str, dims, elem_type: int) -> None:
        """``ModelWrapper.set_tensor_shape``: replace the value info where it lives (input, output, value_info)."""
        new = helper.make_tensor_value_info(name, elem_type, list(dims))
        for container in (self.inputs, self.outputs):
            if name in container:
                container[name] = new  # same position
                return
        self.vis.pop(name, None)
        self.vis[name] = new

    def set_initializer(self, name: str, tensor: onnx.TensorProto) -> None:
        """``ModelWrapper.set_initializer``: (re)place the initializer and its value info."""
        tensor.name = name
        self.inits.pop(name, None)
        self.inits[name] = tensor
        self.set_shape(name, tensor.dims, tensor.data_type)

    def fix_initializer_shapes(self) -> None:
        """What ``ModelWrapper(...)`` does on construction: a value info for every initializer a node reads."""
        for n in self.nodes:
            self.fix_initializer_shapes_of(n)

    def fix_initializer_shapes_of(self, n: onnx.NodeProto) -> None:
        for i in n.input:
            if i and i in self.inits and self.valueinfo(i) is None:
                t = self.inits[i]
                self.vis[i] = helper.make_tensor_value_info(i, t.data_type, list(t.dims))

    def datatype(self, name: str) -> str:
        """``ModelWrapper.get_tensor_datatype`` as a QONNX DataType name."""
        qa = self.qas.get(name)
        if qa is not None:
            for e in qa.quant_parameter_tensor_names:
                if e.key == "finn_datatype":
                    return e.value
        v = self.valueinfo(name)
        elem = v.type.tensor_type.elem_type if v is not None else self.inits[name].data_type
        return "FLOAT16" if elem == onnx.TensorProto.FLOAT16 else "FLOAT32"

    def set_datatype(self, name: str, dt: str) -> None:
        qa = self.qas.get(name)
        if qa is None:
            qa = onnx.TensorAnnotation(tensor_name=name)
            self.qas[name] = qa
        for e in qa.quant_parameter_tensor_names:
            if e.key == "finn_datatype":
                e.value = dt
                return
        qa.quant_parameter_tensor_names.append(onnx.StringStringEntryProto(key="finn_datatype", value=dt))

    def write(self) -> onnx.ModelProto:
        """A new ``ModelProto``: this graph and the rest of the original model (tensors copied once)."""
        out = onnx.ModelProto()
        for field, value in self.model.ListFields():
            if field.name == "graph":
                continue
            if hasattr(value, "extend"):  # a repeated field
                getattr(out, field.name).extend(value)
            elif hasattr(value, "CopyFrom"):
                getattr(out, field.name).CopyFrom(value)
            else:
                setattr(out, field.name, value)
        g, new = self.model.graph, out.graph
        new.name, new.doc_string = g.name, g.doc_string
        new.node.extend(self.nodes)
        new.initializer.extend(self.inits.values())
        for name, t in zip(self.inits, new.initializer, strict=True):
            t.name = name
        new.sparse_initializer.extend(g.sparse_initializer)
        new.input.extend(self.inputs.values())
        new.output.extend(self.outputs.values())
        new.value_info.extend(self.vis.values())
        new.quantization_annotation.extend(self.qas.values())
        new.metadata_props.extend(g.metadata_props)
        return out


class _View:
    """The ``ModelWrapper`` lookups that ``make_shape_compatible_op`` of the QONNX quantizers use, through the
    indices of a :class:`_Graph` (``ModelWrapper`` scans the graph on every call)."""

    def __init__(self, gr: _Graph) -> None:
        self._gr = gr

    def get_tensor_valueinfo(self, name: str):
        return self._gr.valueinfo(name)

    def get_tensor_shape(self, name: str, fix_missing_init_shape: bool = False):
        return self._gr.shape(name)

    def get_initializer(self, name: str, return_dtype: bool = False):
        t = self._gr.inits.get(name)
        if return_dtype:
            return (None, None) if t is None else (numpy_helper.to_array(t), t.data_type)
        return None if t is None else numpy_helper.to_array(t)


# --- the steps ---------------------------------------------------------------------------------------------


def _infer_shapes(gr: _Graph) -> None:
    """qonnx ``InferShapes``: ONNX shape inference with every QONNX op shown as a shape-compatible standard op
    (``make_shape_compatible_op``), the value infos of the result kept, then the initializer value infos that
    ``ModelWrapper`` adds on construction."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.custom_op.registry import getCustomOp, is_custom_op

    shown = []
    view = _View(gr)
    for n in gr.nodes:
        if is_custom_op(n.domain):
            try:
                op = getCustomOp(n)
            except KeyError:
                raise CleanupError(f"node {n.name}: QONNX op {n.op_type} is not supported") from None
            try:  # the quantizers of a Brevitas export do not read the model: no copy of it for them
                m = op.make_shape_compatible_op(view)
            except AttributeError:
                if not isinstance(view, _View):
                    raise
                view = ModelWrapper(gr.write(), make_deepcopy=False, fix_missing_initializer_valueinfo=False)
                m = op.make_shape_compatible_op(view)
            m.name = n.name
            shown.append(m)
        else:
            shown.append(n)
    nodes, gr.nodes = gr.nodes, shown
    try:
        inferred = shape_inference.infer_shapes(gr.write()).graph
    finally:
        gr.nodes = nodes
    gr.inputs = {v.name: v for v in inferred.input}
    gr.outputs = {v.name: v for v in inferred.output}
    gr.vis = {v.name: v for v in inferred.value_info}
    gr.fix_initializer_shapes()


def _remove_unused(gr: _Graph) -> None:
    used = {t for n in gr.nodes for t in (*n.input, *n.output)}
    gr.inits = {k: v for k, v in gr.inits.items() if k in used}
    gr.vis = {k: v for k, v in gr.vis.items() if k in used}
    gr.qas = {k: v for k, v in gr.qas.items() if k in used}


def _remove_static_inputs(gr: _Graph) -> None:
    for name in [k for k in gr.inputs if k in gr.inits]:
        gr.vis.pop(name, None)
        gr.vis[name] = gr.inputs.pop(name)


def _sort(gr: _Graph) -> None:
    """qonnx ``SortGraph``: ``toposort_flatten`` of the producer dependencies, i.e. nodes by depth, then by
    position. A node without producers whose inputs are neither initializers nor graph inputs (or that has no
    input) is dropped unless another node depends on it."""
    producer = {}
    for k, n in enumerate(gr.nodes):
        for o in n.output:
            producer.setdefault(o, k)  # the first producer, as ModelWrapper.find_producer
    deps: dict[int, set[int]] = {}
    for k, n in enumerate(gr.nodes):
        pred = {producer[i] for i in n.input if i in producer}
        if pred:
            pred.discard(k)
            deps[k] = pred
        elif any(i in gr.inits or i in gr.inputs for i in n.input):
            deps[k] = set()
    for pred in list(deps.values()):
        for p in pred:
            deps.setdefault(p, set())
    depth: dict[int, int] = {}
    users: dict[int, list[int]] = {k: [] for k in deps}
    missing = {k: len(p) for k, p in deps.items()}
    for k, pred in deps.items():
        for p in pred:
            users[p].append(k)
    ready = [k for k, c in missing.items() if c == 0]
    for k in ready:
        depth[k] = 0
    while ready:
        nxt = []
        for k in ready:
            for u in users[k]:
                missing[u] -= 1
                if missing[u] == 0:
                    depth[u] = depth[k] + 1
                    nxt.append(u)
        ready = nxt
    if len(depth) != len(deps):
        cyc = sorted(set(deps) - set(depth))
        raise CleanupError(f"node {gr.nodes[cyc[0]].name}: the graph has a cycle")
    gr.nodes = [gr.nodes[k] for k in sorted(depth, key=lambda k: (depth[k], k))]


def _sort_commutative(gr: _Graph) -> None:
    for n in gr.nodes:
        if n.op_type in COMMUTATIVE_OPS:
            dyn = [i for i in n.input if i not in gr.inits]
            ini = [i for i in n.input if i in gr.inits]
            n.input[:] = dyn + ini


def _unique_parameters(gr: _Graph) -> None:
    """qonnx ``GiveUniqueParameterTensors``: an initializer read a second time (by any node) is copied under a
    new name, annotated with the original's QONNX datatype."""
    seen = set()
    for n in gr.nodes:
        for k, i in enumerate(n.input):
            if i not in gr.inits:
                continue
            if i not in seen:
                seen.add(i)
                continue
            new = gr.fresh_name(i)
            t = _copy(gr.inits[i])
            gr.set_initializer(new, t)
            gr.set_datatype(new, gr.datatype(i))
            n.input[k] = new


def _post_step(gr: _Graph) -> None:
    """``ModelWrapper.cleanup()``, run by ``ModelWrapper.transform`` after every transformation."""
    _remove_unused(gr)
    _remove_static_inputs(gr)
    _sort(gr)
    _sort_commutative(gr)
    _unique_parameters(gr)


def _fold_constants(gr: _Graph) -> int:
    """Fold, in graph order, every node whose inputs are all initializers or that is a ``Shape`` of a tensor of
    known shape (the quantizers excepted); returns how many were folded."""
    from qonnx.core import onnx_exec as oxe

    opset = gr.model.opset_import[0].version
    keep, folded = [], 0
    for n in gr.nodes:
        foldable = n.op_type not in PRESERVED_OPS and len(n.output) == 1
        if foldable:
            const_shape = n.op_type == "Shape" and gr.shape(n.input[0]) is not None
            foldable = const_shape or all(i in gr.inits for i in n.input)
        if not foldable:
            keep.append(n)
            continue
        gr.fix_initializer_shapes_of(n)
        ctx, vis = {}, []
        for i in n.input:
            v = gr.valueinfo(i)
            if v is not None:
                vis.append(v)
            if i in gr.inits:
                ctx[i] = numpy_helper.to_array(gr.inits[i])
            else:  # the input of a Shape: only its shape matters
                ctx[i] = np.zeros(
                    gr.shape(i), dtype=helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type)
                )
        out = n.output[0]
        ov = gr.valueinfo(out)
        if ov is None:
            ov = helper.make_empty_tensor_value_info(out)
        ctx[out] = np.zeros([d.dim_value for d in ov.type.tensor_type.shape.dim])
        mini = helper.make_graph([], "fold", [], [], value_info=[*vis, ov])
        try:
            oxe.execute_node(n, ctx, mini, opset_version=opset)
        except Exception as e:  # noqa: BLE001 - onnxruntime and qonnx raise many kinds
            raise CleanupError(f"node {n.name} ({n.op_type}): constant folding failed: {e}") from e
        gr.set_initializer(out, numpy_helper.from_array(np.asarray(ctx[out])))
        folded += 1
    gr.nodes = keep
    return folded


def _fold_transposes(gr: _Graph) -> bool:
    """qonnx ``FoldTransposeIntoQuantInit``: a ``Transpose`` of a quantizer whose inputs are all initializers is
    folded into those initializers (the ones whose rank matches ``perm``)."""
    producer = {o: n for n in gr.nodes for o in n.output}
    keep, changed = [], False
    for n in gr.nodes:
        q = producer.get(n.input[0]) if n.op_type == "Transpose" and len(n.input) == 1 else None
        if q is None or q.op_type not in ("Quant", "BipolarQuant") or not all(i in gr.inits for i in q.input):
            keep.append(n)
            continue
        perm = next((list(a.ints) for a in n.attribute if a.name == "perm"), None)
        for i in q.input:
            t = numpy_helper.to_array(gr.inits[i])
            if perm is not None and len(perm) != t.ndim:
                continue
            gr.set_initializer(i, numpy_helper.from_array(t.transpose(perm)))
            changed = True
        del producer[q.output[0]]
        q.output[0] = n.output[0]
        producer[q.output[0]] = q
    gr.nodes = keep
    return changed


def _readable_names(gr: _Graph) -> None:
    """qonnx ``GiveUniqueNodeNames`` and ``GiveReadableTensorNames``."""
    count: dict[str, int] = {}
    for n in gr.nodes:
        k = count.get(n.op_type, 0)
        n.name = f"{n.op_type}_{k}"
        count[n.op_type] = k + 1
    rename: dict[str, str] = {}
    for n in gr.nodes:
        for k, o in enumerate(n.output):
            rename[o] = f"{n.name}_out{k}"
        k = 0
        for i in n.input:
            if i in gr.inits:
                rename[i] = f"{n.name}_param{k}"
                k += 1
    for k, name in enumerate(gr.inputs):
        rename[name] = "global_in" if k == 0 else f"global_in_{k}"
    for k, name in enumerate(gr.outputs):
        rename[name] = "global_out" if k == 0 else f"global_out_{k}"
    if len(set(rename.values())) != len(rename):
        raise CleanupError("two tensors would get the same readable name (duplicate node outputs?)")

    def r(name: str) -> str:
        return rename.get(name, name)

    for n in gr.nodes:
        n.input[:] = [r(i) for i in n.input]
        n.output[:] = [r(o) for o in n.output]
    gr.inits = {r(k): t for k, t in gr.inits.items()}  # the tensors keep their names until write()
    for attr in ("inputs", "outputs", "vis"):
        d = getattr(gr, attr)
        for v in d.values():
            v.name = r(v.name)
        setattr(gr, attr, {v.name: v for v in d.values()})
    for a in gr.qas.values():
        a.tensor_name = r(a.tensor_name)
    gr.qas = {a.tensor_name: a for a in gr.qas.values()}


def cleanup(model: onnx.ModelProto, progress=None) -> onnx.ModelProto:
    """The cleaned-up QONNX model (a new ``ModelProto``; ``model`` is left as it is).

    Args:
        progress: ``progress("export: QONNX cleanup", done, 4)`` after each of its four steps (shapes, constant
            folding, transposes, names), if given.
    """
    tick = (lambda k: progress("export: QONNX cleanup", k, 4)) if progress else (lambda k: None)  # noqa: E731
    gr = _Graph(model)
    for n in gr.nodes:
        if n.op_type in QONNX_DOMAIN_OPS:
            n.domain = QONNX_DOMAIN
    gr.fix_initializer_shapes()  # ModelWrapper(...)
    _infer_shapes(gr)
    _post_step(gr)
    tick(1)
    if _fold_constants(gr):
        _infer_shapes(gr)
    _post_step(gr)
    tick(2)
    _fold_transposes(gr)
    _post_step(gr)
    tick(3)
    _readable_names(gr)
    _post_step(gr)
    tick(4)
    return gr.write()
