"""Lowering of an exported QONNX model to the hardware graph: ``lower(path) -> HwGraph``.

Pipeline::

    load_model (QONNX domains, unique names, static shapes; no slow qonnx cleanup)  ->  fold_constants
      ->  Converter (symbolic values + handlers in quantizers / units / ops; exact integers)
      ->  passes [AddLabelSelect, InsertDuplicates, DropUnusedTensors]  ->  spec and integer-bound checks

Supported ONNX patterns (the full table with the errors for the rest: docs/qonnx-support.md): input Quant /
BipolarQuant (also after a Flatten); float preprocessing of the input before its first quantizer (``2x - 1``,
per-channel normalization) -> thresholds on the input's ordered float keys (:mod:`hwsim.lower.inputs`);
Conv / Gemm / MatMul with BipolarQuant (binary, per-channel scale) or Quant (fixed-point) weights, with the
following Mul / Add by quantized constants fused into the output stage, a following Quant as its requantizer and a
following BipolarQuant as per-channel thresholds; explicit Pad (+-1) before a binary Conv; Sub(x, tau) ->
BipolarQuant (Sign); DyBNN dynamic thresholds and RPReLU shifts (DynamicSign, DynamicPReLU); PRelu with static
shifts; Add of two activations (+ Quant); AveragePool, MaxPool, Concat, ReduceSum/ReduceMean/GlobalAveragePool
(+ Mul(2**-k) + Quant) -> GlobalPool; Flatten/Reshape (weights of the next dense layer permuted to channels-last
order); float elementwise functions (BatchNormalization, ...) before a quantizer -> thresholds by bisection of
the golden function, also through a MaxPool before the quantizer; a float tail of Add/Sub/Mul/Div after the
last matrix layer -> FloatTail, run on the host (:mod:`hwsim.lower.tail`); ArgMax / TopK -> LabelSelect.
Unsupported precisions (W1A2, W2A2, ...) stop first (:mod:`hwsim.lower.precision`). Anything else raises
:class:`LoweringError` naming the ONNX node.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import onnx

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.lower.bounds import INT64_SAFE_BITS, integer_bounds
from hwsim.lower.convert import Converter
from hwsim.lower.errors import LoweringError
from hwsim.lower.frontend import OnnxModel, fold_constants, load_model, refine_shapes
from hwsim.lower.layout import Layout
from hwsim.lower.passes import DEFAULT_PIPELINE, Pass, run_passes
from hwsim.lower.precision import check_precisions
from hwsim.simulate import check_specs

__all__ = ["Layout", "LoweringError", "Pass", "load_model", "lower", "model_name_of"]


def model_name_of(proto: onnx.ModelProto, fallback: str = "model") -> str:
    """The model name stored by ``training.export`` (``model_name`` metadata), else the graph name."""
    for p in proto.metadata_props:
        if p.key == "model_name":
            try:
                v = json.loads(p.value)
            except json.JSONDecodeError:
                v = p.value
            if isinstance(v, str) and v:
                return v
    if proto.graph.name and proto.graph.name not in ("main_graph", "torch_jit", "torch-jit-export"):
        return proto.graph.name
    return fallback


def lower(
    model: str | os.PathLike | onnx.ModelProto | Any,
    *,
    name: str | None = None,
    label_select: bool = True,
    passes: list[Pass] | None = None,
) -> HwGraph:
    """Lower a QONNX model (path, ``ModelProto`` or qonnx ``ModelWrapper``) to a validated :class:`HwGraph`.

    Args:
        name: graph name (default: the model name from the ONNX metadata, else the graph name).
        label_select: add a top-1 :class:`~hwsim.nodes.LabelSelect` on the logits (second output ``label``).
        passes: the hardware-graph pipeline (default :data:`hwsim.lower.passes.DEFAULT_PIPELINE`).

    Raises:
        LoweringError: an unsupported pattern or an unrepresentable value; the message names the ONNX node.
    """
    source = os.fspath(model) if isinstance(model, (str, os.PathLike)) else None
    proto = load_model(model)
    m = OnnxModel(proto)
    consts = fold_constants(m)
    check_precisions(m, consts)
    m = refine_shapes(m, consts)
    gname = name or model_name_of(proto, Path(source).stem if source else "model")
    cv = Converter(m, consts, gname)
    outputs = cv.run()
    in_shape = m.shape(m.inputs[0])
    # the ONNX tensors of the hardware outputs, logits first (before the labels of an ArgMax / TopK)
    onnx_outputs = [cv.b.onnx_map[t]["onnx"] for t in outputs if t in cv.b.onnx_map]
    onnx_outputs += [o for o in m.outputs if o not in onnx_outputs]
    meta: dict[str, Any] = {
        "model_name": gname,
        "source_onnx": os.path.abspath(source) if source else None,
        "onnx_input": m.inputs[0],
        "onnx_outputs": onnx_outputs,
        "input_shape": list(in_shape[1:]),
        "onnx_batch": int(in_shape[0]),
        "logits": outputs[0] if outputs else None,
        "onnx_tensor": {hw: r["onnx"] for hw, r in cv.b.onnx_map.items()},
        "onnx_tensor_map": cv.b.onnx_map,
        "sources": cv.b.sources,
        "dynamic": cv.dynamic,
    }
    g = cv.b.graph(outputs, meta)
    pipeline = passes if passes is not None else [cls() for cls in DEFAULT_PIPELINE]
    if not label_select:
        pipeline = [p for p in pipeline if type(p).__name__ != "AddLabelSelect"]
    g = run_passes(g, pipeline)
    # graph outputs may now be copies made by a Duplicate fork: they stand for the same ONNX tensors
    omap = g.metadata["onnx_tensor_map"]
    for t in g.outputs:
        p = g.producer(t)
        if t not in omap and isinstance(p, N.Duplicate) and p.inputs[0] in omap:
            omap[t] = dict(omap[p.inputs[0]])
            g.metadata["onnx_tensor"][t] = omap[t]["onnx"]
    g.metadata["logits"] = g.outputs[0] if g.outputs else None
    g.validate()
    check_specs(g)
    for b in integer_bounds(g):
        if b.bits > INT64_SAFE_BITS:
            raise LoweringError(
                f"node {b.node}: the {b.what} may need {b.bits} bits, beyond the {INT64_SAFE_BITS}-bit integer "
                "arithmetic of the simulator; requantize to a narrower type"
            )
    return g
