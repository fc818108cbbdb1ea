"""Lowering of the QONNX forms that binary networks written by others take (Brevitas 0.13 / qonnx 1.0): float
preprocessing of the input, float BatchNorm around max pooling, a float tail after the last matrix layer,
ArgMax / TopK, unsupported precisions; each alone on a hand-built graph, then combined in a Brevitas model."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from hwsim import nodes as N
from hwsim.encoding import KEY_NEG_INF, KEY_POS_INF, float_key, key_float
from hwsim.graph import HwGraph
from hwsim.lower import LoweringError, lower
from hwsim.partition import accelerator_part, host_nodes
from hwsim.simulate import simulate
from tests.hwsim.test_lower_patterns import G, _save
from verify.levels import verify

SPECIAL = np.float32(
    [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1e-45, -1e-45, 3e38, -3e38, np.inf, -np.inf, 0.25, 0.75]
)


def _exact(path, x, levels=("qonnx", "ref", "numba")) -> None:
    rep = verify(path, samples=len(x), levels=levels, x=x, qonnx_samples=len(x))
    assert rep.pairs and all(p.mismatches == 0 and p.tensors > 0 for p in rep.pairs), rep.table()


def _inputs(rng, shape, n=24) -> np.ndarray:
    """Uniform [0, 1) and normal values, with the special floats (ties of 2x - 1, +-0, subnormals, infinities)."""
    x = np.concatenate([rng.random((n // 2, *shape)), rng.standard_normal((n - n // 2, *shape)) * 2]).astype(
        np.float32
    )
    flat = x.reshape(n, -1)
    k = min(flat.shape[1], SPECIAL.size)
    flat[: n // 2, :k] = SPECIAL[:k]
    flat[n // 2 :, :k] = SPECIAL[::-1][:k]
    return x


def _binary_weights(rng, *shape) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


# ---------------------------------------------------------------------------------------------------------------
# ordered float keys


def test_float_key_orders_every_float(rng):
    x = np.concatenate(
        [SPECIAL, rng.standard_normal(5000).astype(np.float32) * 10.0 ** rng.integers(-40, 38, 5000)]
    )
    x = x[np.isfinite(x) | np.isinf(x)].astype(np.float32)
    k = float_key(x)
    a, b = np.meshgrid(np.arange(60), np.arange(60))
    np.testing.assert_array_equal(x[a] >= x[b], k[a] >= k[b])
    np.testing.assert_array_equal(key_float(k), np.where(x == 0, np.float32(0), x))
    assert float_key(np.float32([-np.inf, np.inf])).tolist() == [KEY_NEG_INF, KEY_POS_INF]


# ---------------------------------------------------------------------------------------------------------------
# preprocessing of the graph input


def test_input_2x_minus_1_before_a_binary_quantizer(tmp_path, rng):
    """BNN-PYNQ FC: Reshape -> Mul(2) -> Sub(1) -> BipolarQuant -> MatMul: thresholds on the float keys."""
    g = G((1, 1, 4, 4))
    r = g.node("Reshape", ["x", g.const(np.array([1, -1], np.int64))])
    b = g.bipolar(g.node("Sub", [g.node("Mul", [r, g.const(np.float32([2.0]))]), g.const(np.float32([1.0]))]))
    y = g.node("MatMul", [b, g.const(_binary_weights(rng, 16, 5))])
    path = _save(g.model(y), tmp_path / "m.onnx")
    hg = lower(path)
    assert [n.op_type for n in hg.nodes[:3]] == ["InputQuant", "Sign", "Flatten"]
    assert hg.nodes[0].key and key_float(hg.nodes[1].thr).tolist() == [0.5]  # 2x - 1 >= 0  <=>  x >= 0.5
    _exact(path, _inputs(rng, (1, 4, 4)))


def test_input_per_channel_normalization_before_8bit_quantizer(tmp_path, rng):
    """(x - mean_c) / std_c -> Quant(s8, 2**-5): a MultiThreshold of 255 levels per channel on the keys."""
    g = G((2, 3, 4, 4))
    mean = g.const(np.float32([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
    std = g.const(np.float32([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
    q = g.quant(g.node("Div", [g.node("Sub", ["x", mean]), std]), 2.0**-5, 8)
    path = _save(g.model(q), tmp_path / "m.onnx")
    hg = lower(path)
    mt = hg.nodes[1]
    assert isinstance(mt, N.MultiThreshold) and mt.thr.shape == (3, 255)
    assert len({tuple(r) for r in mt.thr.tolist()}) == 3  # one set of thresholds per channel
    _exact(path, _inputs(rng, (3, 4, 4)))


def test_input_negative_scale_inverts_the_sign(tmp_path, rng):
    """Mul(-3) -> Add(0.6) -> BipolarQuant decreases in x: an inverted threshold, exact at the tie."""
    g = G((4, 8))
    b = g.bipolar(g.node("Add", [g.node("Mul", ["x", g.const(np.float32(-3.0))]), g.const(np.float32(0.6))]))
    path = _save(g.model(b), tmp_path / "m.onnx")
    sign = next(n for n in lower(path).nodes if isinstance(n, N.Sign))
    assert sign.invert.tolist() == [1] * 8
    x = _inputs(rng, (8,))
    x[0, :3] = np.float32(0.6) / np.float32(3.0)  # ties in float32
    _exact(path, x)


def test_input_batchnorm_before_quantizer(tmp_path, rng):
    """A float BatchNormalization on the input (positive scales) feeding a 4-bit unsigned Quant."""
    g = G((2, 2, 3, 3))
    bn = g.node("BatchNormalization", ["x", g.const(np.float32([1.5, 0.2])), g.const(np.float32([0.1, -0.3])),
                                       g.const(np.float32([0.3, -1.0])), g.const(np.float32([2.0, 0.5]))])  # fmt: skip
    q = g.quant(bn, 2.0**-2, 4, signed=0)
    path = _save(g.model(q), tmp_path / "m.onnx")
    assert isinstance(lower(path).nodes[1], N.MultiThreshold)
    _exact(path, _inputs(rng, (2, 3, 3)))


def test_input_decreasing_multibit_function_is_rejected(tmp_path):
    g = G((1, 4))
    q = g.quant(g.node("Mul", ["x", g.const(np.float32(-1.0))]), 2.0**-2, 4)
    with pytest.raises(LoweringError, match=r"node Quant_\d+ \(Quant\): .*decreases in channel 0"):
        lower(_save(g.model(q), tmp_path / "m.onnx"))


@pytest.mark.parametrize("bits", [1, 4])
def test_input_non_monotone_preprocessing_is_rejected(tmp_path, bits):
    """|x| - 0.5 before a quantizer: no threshold realizes it; the dense check near zero says so."""
    g = G((1, 4))
    y = g.node("Sub", [g.node("Abs", ["x"]), g.const(np.float32(0.5))])
    q = g.bipolar(y, name="Q") if bits == 1 else g.quant(y, 2.0**-2, bits, name="Q")
    with pytest.raises(LoweringError, match=r"node Q \((Bipolar)?Quant\): .*(not monotone|decreases)"):
        lower(_save(g.model(q), tmp_path / "m.onnx"))


# ---------------------------------------------------------------------------------------------------------------
# float BatchNorm around max pooling


def _conv_bn_pool(rng, order: str, shape=(2, 3, 6, 6), cout=6) -> G:
    """x -> Quant(s8) -> Conv(binary) -> {BN -> MaxPool | MaxPool -> BN} -> BipolarQuant -> Conv(binary)."""
    g = G(shape)
    q = g.quant("x", 2.0**-4, 8)
    y = g.node("Conv", [q, g.const(_binary_weights(rng, cout, shape[1], 3, 3))], pads=[1, 1, 1, 1])
    scale = rng.standard_normal(cout).astype(np.float32)  # both signs
    bn_params = [g.const(scale), g.const(rng.standard_normal(cout).astype(np.float32)),
                 g.const((rng.standard_normal(cout) * 20).astype(np.float32)),
                 g.const((rng.random(cout) * 40 + 1).astype(np.float32))]  # fmt: skip
    if order == "bn_pool":
        y = g.node(
            "MaxPool", [g.node("BatchNormalization", [y, *bn_params])], kernel_shape=[2, 2], strides=[2, 2]
        )
    else:
        y = g.node(
            "BatchNormalization", [g.node("MaxPool", [y], kernel_shape=[2, 2], strides=[2, 2]), *bn_params]
        )
    b = g.bipolar(y)
    g.out = g.node("Conv", [b, g.const(_binary_weights(rng, 4, cout, 3, 3))])
    return g


@pytest.mark.parametrize("order", ["bn_pool", "pool_bn"])
def test_batchnorm_and_maxpool_before_sign(tmp_path, rng, order):
    """conv -> BN -> MaxPool -> sign: the sign is a threshold stage of the conv and the MaxPool pools bits;
    conv -> MaxPool -> BN -> sign: the MaxPool pools the integers and a Sign thresholds them. Negative BN scales
    invert thresholds in both."""
    g = _conv_bn_pool(rng, order)
    path = _save(g.model(g.out), tmp_path / "m.onnx")
    hg = lower(path)
    ops = [n.op_type for n in hg.nodes]
    conv = next(n for n in hg.nodes if isinstance(n, N.XnorConv))
    if order == "bn_pool":
        assert ops[:3] == ["InputQuant", "XnorConv", "MaxPool"] and conv.stage.mode == "threshold"
        assert conv.stage.invert.any() and not conv.stage.invert.all()
    else:
        assert ops[:4] == ["InputQuant", "XnorConv", "MaxPool", "Sign"] and conv.stage.mode == "affine"
        assert next(n for n in hg.nodes if isinstance(n, N.Sign)).invert.any()
    x = rng.standard_normal((24, 3, 6, 6)).astype(np.float32)
    _exact(path, x)


def test_decomposed_batchnorm_before_sign(tmp_path, rng):
    """BNN-PYNQ's TensorNorm between a dense layer and a binarizer: Sub(mean) -> Div(Pow(var + eps, 0.5)) ->
    Mul(w < 0) -> Add(b), per channel: an inverted threshold stage of the unit."""
    g = G((4, 8))
    y = _dense(rng, g, cout=6)
    var = g.const((rng.random(6) * 9 + 1).astype(np.float32))
    root = g.node("Pow", [g.node("Add", [var, g.const(np.float32(1e-4))]), g.const(np.float32(0.5))])
    y = g.node("Div", [g.node("Sub", [y, g.const(rng.standard_normal(6).astype(np.float32) * 3)]), root])
    w = np.float32([-1.5, 0.7, -0.2, 1.1, -3.0, 0.4])
    y = g.node("Add", [g.node("Mul", [y, g.const(w)]), g.const(rng.standard_normal(6).astype(np.float32))])
    out = g.node("MatMul", [g.bipolar(y), g.const(_binary_weights(rng, 6, 3))])
    path = _save(g.model(out), tmp_path / "m.onnx")
    unit = next(n for n in lower(path).nodes if isinstance(n, N.XnorDense))
    inv = unit.stage.invert.tolist()
    assert unit.stage.mode == "threshold" and [inv[i] for i in (0, 1, 3, 4, 5)] == [1, 0, 0, 1, 0]
    _exact(path, rng.standard_normal((32, 8)).astype(np.float32))


def test_batchnorm_maxpool_before_multibit_quant(tmp_path, rng):
    """conv -> BN (positive scales) -> MaxPool -> Quant(u3): MultiThreshold before the pooling of the levels."""
    g = G((2, 2, 4, 4))
    y = g.node(
        "Conv", [g.quant("x", 2.0**-4, 8), g.const(_binary_weights(rng, 3, 2, 3, 3))], pads=[1, 1, 1, 1]
    )
    bn = g.node("BatchNormalization", [y, g.const(np.float32([0.3, 1.2, 0.05])), g.const(np.float32([0.5, 0, 1])),
                                       g.const(np.float32([1, -5, 0])), g.const(np.float32([9, 30, 4]))])  # fmt: skip
    q = g.quant(g.node("MaxPool", [bn], kernel_shape=[2, 2], strides=[2, 2]), 2.0**-1, 3, signed=0)
    path = _save(g.model(q), tmp_path / "m.onnx")
    hg = lower(path)
    assert [n.op_type for n in hg.nodes[1:]] == ["XnorConv", "MultiThreshold", "MaxPool"]
    _exact(path, rng.standard_normal((16, 2, 4, 4)).astype(np.float32))


# ---------------------------------------------------------------------------------------------------------------
# the float tail after the last matrix layer


def _dense(rng, g: G, cin=8, cout=5) -> str:
    b = g.bipolar(g.quant("x", 2.0**-4, 8))
    return g.node("MatMul", [b, g.node("Transpose", [g.const(_binary_weights(rng, cout, cin))], perm=[1, 0])])


def test_tensornorm_tail_is_a_float_stage(tmp_path, rng):
    """BNN-PYNQ's TensorNorm: Sub(mean) -> Div(Pow(var + eps, 0.5)) -> Mul(w) -> Add(b) on the integer logits."""
    g = G((4, 8))
    y = _dense(rng, g)
    root = g.node("Pow", [g.node("Add", [g.const(np.float32([1.7])), g.const(np.float32(1e-4))]),
                          g.const(np.float32(0.5))])  # fmt: skip
    y = g.node("Sub", [y, g.const(np.float32([0.37]))])
    y = g.node(
        "Add",
        [g.node("Mul", [g.node("Div", [y, root]), g.const(np.float32([-1.3]))]), g.const(np.float32([0.1]))],
    )
    path = _save(g.model(y), tmp_path / "m.onnx")
    hg = lower(path)
    tail = next(n for n in hg.nodes if isinstance(n, N.FloatTail))
    assert tail.ops == ("sub", "div", "mul", "add")
    assert isinstance(hg.producer(tail.inputs[0]), N.XnorDense)
    assert [n.op_type for n in hg.nodes[-2:]] == ["Duplicate", "LabelSelect"]  # top-1 of the float logits
    _exact(path, rng.standard_normal((32, 8)).astype(np.float32))
    acc = accelerator_part(hg)
    assert host_nodes(hg) == [n.name for n in hg.nodes[-3:]]
    assert acc.outputs == list(tail.inputs) and not any(n.host for n in acc.nodes)
    from hls.estimate import estimate
    from hls.estimate.report import format_table

    est = estimate(hg)
    assert est.host == tuple(host_nodes(hg))
    assert [e.name for e in est.nodes if e.name not in est.forks] == [n.name for n in acc.nodes]
    assert f"not estimated): {', '.join(est.host)}" in format_table(est)


def test_per_channel_tail_with_reversed_operands(tmp_path, rng):
    """Per-class scale and bias with the constant first (c - x, c / x, c * x, c + x)."""
    g = G((4, 8))
    y = _dense(rng, g)
    c = [g.const((rng.standard_normal((1, 5)) + 3).astype(np.float32)) for _ in range(4)]
    y = g.node("Add", [c[3], g.node("Mul", [c[2], g.node("Div", [c[1], g.node("Sub", [c[0], y])])])])
    path = _save(g.model(y), tmp_path / "m.onnx")
    tail = next(n for n in lower(path).nodes if isinstance(n, N.FloatTail))
    assert tail.ops == ("rsub", "rdiv", "mul", "add") and tail.constants().shape == (4, 5)
    _exact(path, rng.standard_normal((32, 8)).astype(np.float32))


def test_tail_errors_name_the_node(tmp_path, rng):
    g = G((4, 8))
    y = g.node("Tanh", [g.node("Mul", [_dense(rng, g), g.const(np.float32(0.3))])], name="tail_tanh")
    with pytest.raises(
        LoweringError, match=r"node tail_tanh \(Tanh\): Tanh reaches a graph output: .* quantizer"
    ):
        lower(_save(g.model(y), tmp_path / "a.onnx"))
    g = G((4, 8))
    w = (_binary_weights(rng, 5, 8) * np.float32(0.1)).T.copy()  # a non-power-of-two weight scale
    y = g.node("MatMul", [g.bipolar(g.quant("x", 2.0**-4, 8)), g.const(w)])
    y = g.node("Mul", [y, g.const(np.float32(0.3))], name="tail_mul")
    with pytest.raises(
        LoweringError, match=r"tail_mul \(Mul\): the float tail's input .* not exact in float32"
    ):
        lower(_save(g.model(y), tmp_path / "b.onnx"))


def test_float_tail_node_round_trips(tmp_path, rng):
    g = G((4, 8))
    y = g.node("Div", [g.node("Mul", [_dense(rng, g), g.const(np.float32(0.3))]), g.const(np.float32(7.0))])
    hg = lower(_save(g.model(y), tmp_path / "m.onnx"))
    hg.save(tmp_path / "hw")
    g2 = HwGraph.load(tmp_path / "hw")
    tail = next(n for n in g2.nodes if isinstance(n, N.FloatTail))
    assert tail.ops == ("mul", "div") and tail.constants()[:, 0].tolist() == [np.float32(0.3), 7.0]
    x = rng.standard_normal((8, 8)).astype(np.float32)
    for level in ("ref", "numba"):
        a, b = simulate(hg, x, level), simulate(g2, x, level)
        for t in hg.outputs:
            np.testing.assert_array_equal(a[t], b[t])
    with pytest.raises(N.NodeValidationError, match="ops"):
        N.FloatTail(name="t", inputs=("a",), outputs=("b",), ops=("pow",), consts=np.zeros((1, 2), np.int64))


# ---------------------------------------------------------------------------------------------------------------
# label selection


@pytest.mark.parametrize("op", ["ArgMax", "TopK"])
def test_argmax_and_topk_select_labels(tmp_path, rng, op):
    g = G((4, 8))
    y = g.node("Mul", [_dense(rng, g, cout=6), g.const((rng.random((1, 6)) + 0.5).astype(np.float32))])
    if op == "ArgMax":
        g.nodes.append(helper.make_node("ArgMax", [y], ["label"], name="argmax", axis=1, keepdims=1))
    else:
        g.nodes.append(
            helper.make_node("TopK", [y, g.const(np.array([3], np.int64))], ["vals", "label"], axis=1)
        )
    m = g.model(y)
    del m.graph.output[:]
    m.graph.output.append(helper.make_tensor_value_info("label", TensorProto.INT64, None))
    path = _save(m, tmp_path / "m.onnx")
    hg = lower(path)
    sel = next(n for n in hg.nodes if isinstance(n, N.LabelSelect))
    assert sel.k == (1 if op == "ArgMax" else 3)
    assert hg.outputs[-1] == "label" and hg.metadata["onnx_outputs"] == [y, "label"]
    x = rng.standard_normal((32, 8)).astype(np.float32)
    x[:4] = 0  # ties between classes
    _exact(path, x)


# ---------------------------------------------------------------------------------------------------------------
# precisions the hardware cannot compute exactly


def test_w1a2_and_w2a1_fail_with_one_line(tmp_path, rng):
    g = G((4, 8))
    a = g.quant(g.node("Mul", ["x", g.const(np.float32(2.0))]), 1.0, 2, narrow=1, name="act2")
    y = g.node("MatMul", [a, g.const(_binary_weights(rng, 8, 5))], name="fc")
    with pytest.raises(LoweringError) as e:
        lower(_save(g.model(y), tmp_path / "a.onnx"))
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(
        "unsupported precision at node fc (MatMul): 1-bit weights with 2-bit"
    )
    assert "from act2 (W1A2)" in msg
    g = G((4, 8))
    w = g.quant(g.const(rng.integers(-1, 2, (8, 5)).astype(np.float32)), 1.0, 2, narrow=1)
    y = g.node("MatMul", [g.bipolar(g.quant("x", 2.0**-4, 8), name="sign"), w], name="fc2")
    with pytest.raises(LoweringError, match=r"^unsupported precision at node fc2 \(MatMul\): 2-bit weights with "
                       r"1-bit \(binary\) activations from sign \(W2A1\)"):  # fmt: skip
        lower(_save(g.model(y), tmp_path / "b.onnx"))


# ---------------------------------------------------------------------------------------------------------------
# all of it in one Brevitas model written by someone else


def test_someone_elses_brevitas_bnn_is_exact(tmp_path):
    """Input normalization, an 8-bit input quantizer, binary QuantConv2d / QuantLinear, float BatchNorm before and
    after max pooling, a float per-class scale and bias: lowered, and torch == qonnx == ref == numba."""
    pytest.importorskip("brevitas")
    from tests.hwsim.foreign import export, someone_else, unit_inputs

    model = someone_else()
    path = export(model, tmp_path / "net.onnx", (3, 16, 16))
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"Sub", "Div", "BatchNormalization", "MaxPool", "Mul", "Add"} <= ops
    hg = lower(path)
    assert [n.op_type for n in hg.nodes] == [
        "InputQuant", "MultiThreshold", "XnorConv", "MaxPool", "XnorConv", "MaxPool", "Sign", "Flatten",
        "XnorDense", "XnorDense", "FloatTail", "Duplicate", "LabelSelect",
    ]  # fmt: skip
    x = np.concatenate(
        [unit_inputs((3, 16, 16), 6), np.random.default_rng(1).standard_normal((6, 3, 16, 16))]
    )
    rep = verify(path, x=x.astype(np.float32), levels=("torch", "qonnx", "ref", "numba"), model=model,
                 qonnx_samples=12)  # fmt: skip
    assert len(rep.pairs) == 4 and all(p.mismatches == 0 and p.tensors > 0 for p in rep.pairs), rep.table()
