"""Lowering of hand-built QONNX graphs (ties, thresholds, errors) and of a foreign Brevitas model with float
BatchNorm (thresholds by bisection of the golden function)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwsim import nodes as N
from hwsim.lower import LoweringError, load_model, lower
from verify.levels import verify

QD = "qonnx.custom_op.general"


class G:
    """A tiny builder of QONNX graphs with onnx.helper."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.shape = shape
        self.n = 0

    def const(self, v, name: str | None = None) -> str:
        name = name or f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(v, dtype=np.float32 if np.asarray(v).dtype.kind == "f"
                                                                 else np.int64), name))  # fmt: skip
        return name

    def node(self, op: str, ins: list[str], domain: str = "", name: str | None = None, **attrs) -> str:
        self.n += 1
        name = name or f"{op}_{self.n}"
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, ins, [out], name=name, domain=domain, **attrs))
        return out

    def quant(self, x: str, scale: float, bits: int, signed: int = 1, narrow: int = 0, name=None) -> str:
        return self.node("Quant", [x, self.const(np.float32(scale)), self.const(np.float32(0)),
                                   self.const(np.float32(bits))], QD, name=name, signed=signed, narrow=narrow,
                         rounding_mode="ROUND")  # fmt: skip

    def bipolar(self, x: str, scale: float = 1.0, name=None) -> str:
        return self.node("BipolarQuant", [x, self.const(np.float32(scale))], QD, name=name)

    def model(self, out: str) -> onnx.ModelProto:
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, list(self.shape))
        y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
        g = helper.make_graph(self.nodes, "hand", [x], [y], initializer=self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(QD, 1)])
        m.ir_version = 8
        return m


def _save(m: onnx.ModelProto, path) -> str:
    onnx.save(m, str(path))
    return str(path)


def _execute(m: onnx.ModelProto, x: np.ndarray) -> dict[str, np.ndarray]:
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    return execute_onnx(ModelWrapper(load_model(m)), {"x": x}, return_full_exec_context=True)


# ---------------------------------------------------------------------------------------------------------------
# ties


def _ties_model(rng, n: int = 4, c: int = 4, cout: int = 6):
    """x -> Quant(s8, 2**-4) -> Sub(tau) -> BipolarQuant -> Conv(binary, pad 1) -> Mul(s) -> Add(b) -> BipolarQuant."""
    g = G((n, c, 3, 3))
    q = g.quant("x", 2.0**-4, 8, name="inq")
    tau = np.array([0.25, -0.5, 0.0, 2.0**-6], np.float32).reshape(1, c, 1, 1)  # the last one is off x's grid
    tq = g.quant(g.const(tau), 2.0**-6, 16, name="tau_q")
    b0 = g.bipolar(g.node("Sub", [q, tq], name="sub_tau"), name="sign0")
    w = np.where(rng.random((cout, c, 3, 3)) < 0.5, -1.0, 1.0).astype(np.float32)
    wq = g.bipolar(g.const(w), 1.0, name="wq")
    conv = g.node("Conv", [b0, wq], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    # acc * s + b == 0 exactly when acc == 2 (s > 0) or acc == -2 (s < 0); s on a 2**-3 grid, b = -2 s
    s = np.array([0.125, -0.25, 0.5, 0.125, -0.125, 0.0], np.float32)
    b = np.array([-0.25, -0.5, -1.0, -0.25, -0.25, 0.5], np.float32)
    sq = g.quant(g.const(s.reshape(1, cout, 1, 1)), 2.0**-3, 8, name="s_q")
    bq = g.quant(g.const(b.reshape(1, cout, 1, 1)), 2.0**-3, 8, name="b_q")
    pre = g.node("Add", [g.node("Mul", [conv, sq], name="mul_s"), bq], name="add_b")
    out = g.bipolar(pre, name="sign1")
    return g.model(out), tau


def test_ties_hit_thresholds_exactly(tmp_path, rng):
    m, tau = _ties_model(rng)
    path = _save(m, tmp_path / "ties.onnx")
    g = lower(path)
    assert [n.op_type for n in g.nodes[:3]] == ["InputQuant", "Sign", "XnorConv"]
    sign = g.nodes[1]
    np.testing.assert_array_equal(sign.thr, [4, -8, 0, 1])  # ceil(tau * 2**4): 2**-6 -> 1
    conv = g.nodes[2]
    assert conv.stage.mode == "threshold" and conv.pad_value == 0
    # inputs on the thresholds: every x value is tau, tau -+ one LSB, or random
    vals = np.concatenate([tau.ravel(), tau.ravel() + 1 / 16, tau.ravel() - 1 / 16, [0.0, 1 / 16]])
    x = rng.choice(vals, size=(4, 4, 3, 3)).astype(np.float32)
    x[:, :, 0, 0] = tau.reshape(1, 4)  # every channel sits on its threshold somewhere
    ctx = _execute(m, x)
    assert np.any(ctx["sub_tau_out"] == 0), "no tie x == tau was exercised"
    assert np.any(ctx["add_b_out"] == 0), "no tie acc * s + b == 0 was exercised"
    rep = verify(path, samples=4, levels=("qonnx", "ref", "numba"), x=x, qonnx_samples=4)
    for p in rep.pairs:
        assert p.mismatches == 0 and p.tensors > 0, rep.table()
    # and explicitly: a tie gives +1
    from hwsim.simulate import simulate

    bits = simulate(g, x, level="ref", return_intermediates=True)[sign.outputs[0]]
    np.testing.assert_array_equal(bits[:, 0, 0, :][:, :3], 1)


def test_affine_threshold_constant_channel(tmp_path, rng):
    """A zero scale gives a constant channel: (acc >= lo) XOR invert."""
    m, _ = _ties_model(rng)
    g = lower(_save(m, tmp_path / "t.onnx"))
    st = g.nodes[2].stage
    k = 3 * 3 * 4
    assert st.thr[5] == -k and st.invert[5] == 0  # 0 * acc + 0.5 >= 0: always +1
    assert st.invert[1] == 1 and st.invert[4] == 1  # negative scales invert


# ---------------------------------------------------------------------------------------------------------------
# errors name the node


def _err(tmp_path, m) -> LoweringError:
    with pytest.raises(LoweringError) as ei:
        lower(_save(m, tmp_path / "bad.onnx"))
    return ei.value


def test_unsupported_op_names_the_node(tmp_path):
    g = G((1, 4))
    y = g.node("Softmax", [g.quant("x", 2.0**-4, 8)], name="Softmax_7", axis=1)
    e = _err(tmp_path, g.model(y))
    assert "Softmax_7" in str(e) and "(Softmax)" in str(e) and e.node == "Softmax_7"


def test_float_weights_are_rejected(tmp_path, rng):
    g = G((1, 2, 4, 4))
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    y = g.node("Conv", [g.quant("x", 2.0**-4, 8), g.const(w)], name="Conv_3", kernel_shape=[3, 3])
    e = _err(tmp_path, g.model(y))
    assert str(e) == (
        "unsupported pattern at node Conv_3 (Conv): expected BipolarQuant or Quant weights, got float initializer"
    )


def test_non_power_of_two_scale_is_rejected(tmp_path):
    g = G((1, 4))
    e = _err(tmp_path, g.model(g.quant("x", 0.1, 8, name="Quant_in")))
    assert "Quant_in" in str(e) and "power of two" in str(e)


def test_narrow_activation_quant_is_rejected(tmp_path):
    g = G((1, 4))
    e = _err(tmp_path, g.model(g.quant("x", 2.0**-4, 8, narrow=1, name="Quant_n")))
    assert "Quant_n" in str(e) and "narrow" in str(e)


def test_float_chain_must_feed_a_quantizer(tmp_path):
    g = G((1, 4))
    y = g.node("Tanh", [g.quant("x", 2.0**-4, 8)], name="Tanh_1")
    e = _err(tmp_path, g.model(y))
    assert "Tanh_1" in str(e) and "quantizer" in str(e)


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "x.onnx"
    p.write_text("not onnx")
    with pytest.raises(LoweringError, match="not a valid ONNX model"):
        lower(p)
    with pytest.raises(LoweringError, match="no such ONNX file"):
        lower(tmp_path / "missing.onnx")


# ---------------------------------------------------------------------------------------------------------------
# golden-function thresholds (float functions before a quantizer)


def test_float_function_before_multibit_quant_becomes_multithreshold(tmp_path, rng):
    """x -> Quant(s8) -> Mul(0.3) -> Add(0.1) -> Quant(s4, 2**-2): a MultiThreshold found by bisection."""
    g = G((8, 3))
    q = g.quant("x", 2.0**-4, 8)
    y = g.node("Add", [g.node("Mul", [q, g.const(np.float32([0.3, -0.0, 0.7]))]), g.const(np.float32(0.1))])
    out = g.quant(y, 2.0**-2, 4, name="Quant_out")
    path = _save(g.model(out), tmp_path / "mt.onnx")
    hg = lower(path)
    mt = next(n for n in hg.nodes if isinstance(n, N.MultiThreshold))
    assert mt.thr.shape == (3, 15)
    x = rng.uniform(-9, 9, (64, 3)).astype(np.float32)
    rep = verify(path, samples=64, levels=("qonnx", "ref", "numba"), x=x, qonnx_samples=64)
    for p in rep.pairs:
        assert p.mismatches == 0 and p.tensors > 0, rep.table()


# ---------------------------------------------------------------------------------------------------------------
# a foreign Brevitas model: FINN-style binary layers with float BatchNorm, exported without folding


def _foreign_model():
    import brevitas.nn as qnn
    import torch
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        SignedBinaryActPerTensorConst,
        SignedBinaryWeightPerTensorConst,
    )
    from torch import nn

    class BinW(SignedBinaryWeightPerTensorConst):  # FINN's CommonWeightQuant: binary, scale 1
        scaling_const = 1.0

    class Foreign(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint)
            self.conv1 = qnn.QuantConv2d(3, 16, 3, bias=False, weight_quant=BinW)
            self.bn1 = nn.BatchNorm2d(16)
            self.act1 = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.pool = nn.MaxPool2d(2)
            self.conv2 = qnn.QuantConv2d(16, 16, 3, padding=1, bias=False, weight_quant=BinW)
            self.bn2 = nn.BatchNorm2d(16)
            self.act2 = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint, bit_width=4)
            self.fc1 = qnn.QuantLinear(16 * 5 * 5, 32, bias=False, weight_quant=BinW)
            self.bn3 = nn.BatchNorm1d(32)
            self.act3 = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.fc2 = qnn.QuantLinear(32, 10, bias=False, weight_quant=BinW)

        def forward(self, x):
            x = self.pool(self.act1(self.bn1(self.conv1(self.inp(x)))))
            x = self.act2(self.bn2(self.conv2(x)))
            x = self.act3(self.bn3(self.fc1(torch.flatten(x, 1))))
            return self.fc2(x)

    torch.manual_seed(0)
    m = Foreign()
    m.train()
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(16, 3, 12, 12))
        for bn in (m.bn1, m.bn2, m.bn3):
            bn.weight.copy_(torch.randn_like(bn.weight))  # negative scales: inverted thresholds
            bn.bias.copy_(torch.randn_like(bn.bias) * 3)
        m.bn2.weight.abs_()  # a multi-bit quantizer needs a non-decreasing function
    m.eval()
    return m


def test_foreign_brevitas_model_with_float_batchnorm(tmp_path):
    torch = pytest.importorskip("torch")
    from brevitas.export import export_qonnx

    model = _foreign_model()
    path = tmp_path / "foreign.onnx"
    export_qonnx(model, args=torch.randn(4, 3, 12, 12), export_path=str(path), dynamo=False)
    assert sum(n.op_type == "BatchNormalization" for n in onnx.load(str(path)).graph.node) == 3
    g = lower(path)
    ops = [n.op_type for n in g.nodes]
    assert ops[:4] == ["InputQuant", "XnorConv", "MaxPool", "XnorConv"]
    assert g.nodes[1].stage.mode == "threshold" and g.nodes[1].stage.invert.any()
    assert "MultiThreshold" in ops and "Flatten" in ops
    dense = [n for n in g.nodes if isinstance(n, N.XnorDense)]
    assert [d.stage.mode for d in dense] == ["threshold", "affine"]
    # qonnx == ref == numba by construction; PyTorch agrees too on these inputs (float BN in PyTorch and
    # onnxruntime may differ by an ulp in rare elements: see hwsim.lower.thresholds)
    rep = verify(path, samples=16, levels=("torch", "qonnx", "ref", "numba"), model=model, qonnx_samples=16)
    for p in rep.pairs:
        assert p.mismatches == 0 and p.tensors > 0, rep.table()
