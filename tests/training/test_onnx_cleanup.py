"""training.onnx_cleanup gives the graph of qonnx's ``cleanup_model(preserve_qnt_ops=True)``: the same nodes in
the same order, the same initializers, value infos, inputs, outputs and quantization annotations."""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import helper, numpy_helper

from training.export import calibrate, prepare_for_export, synthetic_inputs
from training.models import build_model
from training.onnx_cleanup import CleanupError, cleanup


def _raw_export(model, x, path) -> onnx.ModelProto:
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=x, export_path=str(path), dynamo=False)
    return onnx.load(str(path))


def _registry_raw(name: str, path) -> onnx.ModelProto:
    torch.manual_seed(0)
    model = build_model(name)
    calibrate(model, None, 2, seed=0)
    prepare_for_export(model)
    return _raw_export(model, synthetic_inputs(model, 1, 0), path)


def _qonnx_cleanup(raw: onnx.ModelProto) -> onnx.ModelProto:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cleanup_model(ModelWrapper(raw)).model


def assert_same_graph(ref: onnx.ModelProto, new: onnx.ModelProto) -> None:
    a, b = ref.graph, new.graph
    assert len(a.node) == len(b.node)
    for k, (x, y) in enumerate(zip(a.node, b.node, strict=True)):
        assert x == y, f"node {k}: {x} != {y}"
    ia = {t.name: numpy_helper.to_array(t) for t in a.initializer}
    ib = {t.name: numpy_helper.to_array(t) for t in b.initializer}
    assert ia.keys() == ib.keys()
    for k, v in ia.items():
        assert v.dtype == ib[k].dtype, k
        np.testing.assert_array_equal(ib[k], v, err_msg=k)
    assert list(a.input) == list(b.input) and list(a.output) == list(b.output)
    assert {v.name: v for v in a.value_info} == {v.name: v for v in b.value_info}
    qa = {q.tensor_name: q for q in a.quantization_annotation}
    assert qa == {q.tensor_name: q for q in b.quantization_annotation}
    assert list(ref.opset_import) == list(new.opset_import)


@pytest.mark.parametrize("name", ["tfc-w1a1", "cnv-w1a1", "reactnet-tiny"])
def test_registry_model_same_graph_as_qonnx(tmp_path, name):
    raw = _registry_raw(name, tmp_path / "raw.onnx")
    before = raw.SerializeToString()
    new = cleanup(raw)
    assert raw.SerializeToString() == before  # the input is left as it is
    assert_same_graph(_qonnx_cleanup(raw), new)
    ops = [n.op_type for n in new.graph.node]
    assert "Shape" not in ops and "Transpose" not in ops  # folded
    assert new.graph.input[0].name == "global_in" and new.graph.output[0].name == "global_out"


@pytest.mark.slow
def test_dybnn_tiny_same_graph_as_qonnx(tmp_path):
    """DySign / DyPReLU: Shape -> Slice -> Concat chains folded (qonnx takes ~15 s, one fold per pass)."""
    raw = _registry_raw("dybnn-tiny", tmp_path / "raw.onnx")
    assert_same_graph(_qonnx_cleanup(raw), cleanup(raw))


@pytest.mark.parametrize("name", ["tfc_1w1a", "cnv_1w1a"])
def test_bnn_pynq_same_graph_as_qonnx(tmp_path, name):
    """Brevitas' own BNN-PYNQ models (float BatchNorm nodes, Transpose of the FC weight quantizers)."""
    pytest.importorskip("brevitas_examples.bnn_pynq")
    from tests.hwsim.foreign import BNN_PYNQ_SHAPES, bnn_pynq

    model = bnn_pynq(name)
    raw = _raw_export(model, torch.rand(1, *BNN_PYNQ_SHAPES[name]), tmp_path / "raw.onnx")
    assert_same_graph(_qonnx_cleanup(raw), cleanup(raw))


def test_progress_and_errors():
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])
    w = numpy_helper.from_array(np.arange(4, dtype=np.float32).reshape(1, 4), "w")
    two = numpy_helper.from_array(np.float32(2), "two")
    g = helper.make_graph(
        [helper.make_node("Mul", ["w", "two"], ["w2"], name="fold_me"),
         helper.make_node("Add", ["w2", "x"], ["y"], name="add")],
        "g", [x], [y], [w, two],
    )  # fmt: skip
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    seen = []
    out = cleanup(m, progress=lambda *a: seen.append(a))
    assert seen == [("export: QONNX cleanup", k, 4) for k in (1, 2, 3, 4)]
    assert [n.op_type for n in out.graph.node] == ["Add"]
    assert list(out.graph.node[0].input) == ["global_in", "Add_0_param0"]  # initializer last
    np.testing.assert_array_equal(numpy_helper.to_array(out.graph.initializer[0]), [[0, 2, 4, 6]])

    bad = helper.make_graph(
        [helper.make_node("Reshape", ["w", "two"], ["y"], name="bad_reshape")], "g", [], [y], [w, two]
    )
    with pytest.raises(CleanupError, match="bad_reshape"):
        cleanup(helper.make_model(bad, opset_imports=[helper.make_opsetid("", 13)]))
