"""QONNX export: calibration, the float32 exactness check, atomic files, and PyTorch == QONNX bit for bit."""

from __future__ import annotations

import sys
import types

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from training import export as E
from training.calibration import ExportError, calibrate, needs_calibration
from training.exactness import ExportRangeError, check_exact_range, grid_exponent
from training.export import export_model, export_random, prepare_for_export, read_metadata
from training.layers import FixedConv2d, FoldableBatchNorm2d, fixed_act, fold_batchnorms
from training.models import build_model
from verify.torch_qonnx import ComparisonReport, compare_torch_qonnx

N_COMPARE = 100  # inputs compared between PyTorch and QONNX, as one batch (execute_onnx costs per call)


def _inputs(model: nn.Module, n: int, seed: int) -> torch.Tensor:
    return torch.as_tensor(
        np.random.default_rng(seed).standard_normal((n, *model.input_shape), dtype=np.float32)
    )


def _act_scales(model: nn.Module) -> list[float]:
    return [
        float(m.act_quant.scale())
        for m in model.modules()
        if hasattr(m, "act_quant") and m.act_quant.is_quant_enabled and float(m.act_quant.bit_width()) > 1
    ]


def _train_briefly(model: nn.Module, rng: np.random.Generator, steps: int, fold_at: int) -> None:
    """A few Adam steps on random data; BatchNorms folded after ``fold_at`` steps (the integer fine-tune)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(steps):
        if step == fold_at:
            fold_batchnorms(model)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.as_tensor(rng.standard_normal((8, *model.input_shape), dtype=np.float32))
        y = torch.as_tensor(rng.integers(0, model.num_classes, 8))
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


# ---------------------------------------------------------------------------------------------- calibration


def test_calibrate_sets_power_of_two_scales_and_bn_statistics():
    torch.manual_seed(0)
    model = build_model("reactnet-tiny").eval()
    assert needs_calibration(model)
    calibrate(model, None, steps=3, batch_size=8)
    assert not needs_calibration(model)
    assert not model.training  # mode restored
    scales = _act_scales(model)
    assert scales and all(s > 0 and np.log2(s) == round(np.log2(s)) for s in scales)
    assert any(s != 1.0 for s in scales), "scales still at their initial value"
    bn = model.stem_bn.bn
    assert int(bn.num_batches_tracked) == 3 and bn.momentum == 0.1  # cumulative average, momentum restored
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))


def test_calibrate_accepts_a_tensor_and_a_loader():
    torch.manual_seed(0)
    model = build_model("tfc-w1a1")
    data = _inputs(model, 12, 1)
    calibrate(model, data, steps=3)
    calibrate(model, [(data[:4], None), (data[4:8], None)], steps=3)
    assert not needs_calibration(model)
    with pytest.raises(ValueError, match="no batch"):
        calibrate(model, [], steps=2)


# ---------------------------------------------------------------------------------------------- range check


def test_grid_exponent():
    assert grid_exponent(torch.tensor([0.75, -1.5, 3.0])) == -2
    assert grid_exponent(torch.tensor([4.0, 12.0, 0.0])) == 2
    assert grid_exponent(torch.zeros(3)) is None
    assert grid_exponent(torch.tensor([2.0**-30 + 1.0], dtype=torch.float64)) == -30


class _Unrequantized(nn.Module):
    """An 8-bit input, a stem conv, then a second fixed-point conv on the *unrequantized* accumulator."""

    input_shape = (1, 8, 8)
    num_classes = 4

    def __init__(self) -> None:
        super().__init__()
        self.in_q = fixed_act(8)
        self.conv = FixedConv2d(1, 4, 3, padding=1)
        self.acc = FixedConv2d(4, 4, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.acc(self.conv(self.in_q(x))).flatten(1)


def test_range_check_names_the_module_of_an_unrequantized_accumulation():
    torch.manual_seed(0)
    model = _Unrequantized()
    calibrate(model, None, steps=2, batch_size=4)
    model.eval()
    x = 1000.0 * torch.randn(4, *model.input_shape)  # huge: the input quantizer saturates to full scale
    with pytest.raises(ExportRangeError) as err:
        check_exact_range(model, x)
    assert err.value.module == "acc.conv"
    assert err.value.units >= 2**24
    assert "acc.conv" in str(err.value) and "2^24" in str(err.value)


def test_range_check_names_an_unfolded_batchnorm():
    torch.manual_seed(0)
    model = build_model("reactnet-tiny")
    calibrate(model, None, steps=2, batch_size=8)
    model.eval()
    with pytest.raises(ExportRangeError) as err:
        check_exact_range(model, _inputs(model, 4, 1))
    assert err.value.module == "stem_bn.bn"  # a float BatchNorm is not on a fixed-point grid


def test_range_check_reports_headroom():
    torch.manual_seed(0)
    model = build_model("lfc-w1a1")
    calibrate(model, None, steps=2, batch_size=8)
    prepare_for_export(model)
    ranges = check_exact_range(model, _inputs(model, 4, 1))
    assert ranges and all(r.ok for r in ranges)
    assert max(r.bits for r in ranges) < 24
    assert {"layers.0.fc", "layers.10.affine"} <= {r.module for r in ranges}


@pytest.mark.parametrize(
    "name",
    [
        "tfc-w1a1",
        "sfc-w1a1",
        "lfc-w1a1",
        "cnv-w1a1",
        "reactnet-tiny",
        "dybnn-tiny",
    ],
)
def test_registered_models_pass_the_range_check(name):
    torch.manual_seed(0)
    model = build_model(name)
    calibrate(model, None, steps=3, batch_size=8)
    prepare_for_export(model)
    check_exact_range(model, _inputs(model, 4, 2))


def test_export_skips_the_jit_lint_and_restores_it():
    """The TorchScript exporter's graph lint is a no-op during the export only, even when the export fails."""
    from training.export import _without_jit_lint

    original = torch._C._jit_pass_lint
    with pytest.raises(RuntimeError, match="boom"), _without_jit_lint():
        assert torch._C._jit_pass_lint is not original and torch._C._jit_pass_lint(None) is None
        raise RuntimeError("boom")
    assert torch._C._jit_pass_lint is original


# ---------------------------------------------------------------------------------------------- files


def _small_calibrated(name: str = "tfc-w1a1") -> nn.Module:
    torch.manual_seed(0)
    model = build_model(name)
    calibrate(model, None, steps=2, batch_size=8)
    return model


def test_export_writes_metadata_and_creates_the_directory(tmp_path):
    model = _small_calibrated()
    model.input_normalization = {"mean": [0.1307], "std": [0.3081]}
    out = tmp_path / "a" / "b" / "model.onnx"
    assert export_model(model, out, batch=3) == out
    assert [p.name for p in out.parent.iterdir()] == ["model.onnx"]  # no temporary file left
    meta = read_metadata(out)
    assert meta["model_name"] == "tfc-w1a1"
    assert meta["input_shape"] == [1, 28, 28]
    assert meta["num_classes"] == 10
    assert meta["batch"] == 3
    assert meta["input_normalization"] == {"mean": [0.1307], "std": [0.3081]}
    assert meta["dybnn_version"] == E.dybnn_version()
    m = onnx.load(str(out))
    assert m.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    ops = {n.op_type for n in m.graph.node}
    assert {"BipolarQuant", "MatMul"} <= ops or {"BipolarQuant", "Gemm"} <= ops


def test_failed_export_leaves_no_partial_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    model = _small_calibrated()
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous model")

    def boom(mw, progress=None):
        raise RuntimeError("cleanup failed")

    monkeypatch.setattr(E, "cleanup_model", boom)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        export_model(model, out)
    assert out.read_bytes() == b"previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_range_failure_writes_nothing(tmp_path):
    torch.manual_seed(0)
    model = _Unrequantized()
    calibrate(model, None, steps=2, batch_size=4)
    with pytest.raises(ExportRangeError):
        export_model(model, tmp_path / "model.onnx", calib_data=1000.0 * torch.randn(4, 1, 8, 8))
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_directory_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    out = blocker / "sub" / "model.onnx"
    with pytest.raises(ExportError) as err:
        export_model(_small_calibrated(), out)
    msg = str(err.value)
    assert "\n" not in msg and str(blocker / "sub") in msg


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0, reason="root"
)
def test_read_only_output_directory_is_a_one_line_error(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ExportError) as err:
            export_model(_small_calibrated(), ro / "model.onnx")
        assert "\n" not in str(err.value) and str(ro) in str(err.value)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)


def test_step1_model_with_real_weights_is_refused():
    model = _small_calibrated()
    model.layers[0].fc.weight_quant.disable_quant = True
    with pytest.raises(ExportError, match=r"layers\.0\.fc: weight quantization is disabled"):
        prepare_for_export(model)


def test_export_checkpoint_uses_load_checkpoint_and_dataset_normalization(tmp_path, monkeypatch):
    model = _small_calibrated()
    fold_batchnorms(model)
    meta = {"model_name": "tfc-w1a1", "dataset": {"name": "mnist", "mean": [0.1307], "std": [0.3081]}}
    fake = types.ModuleType("training.train")
    fake.load_checkpoint = lambda path: (model, meta)
    monkeypatch.setitem(sys.modules, "training.train", fake)
    out = E.export_checkpoint(tmp_path)
    assert out == tmp_path / "model.onnx"
    md = read_metadata(out)
    assert md["input_normalization"] == {"mean": [0.1307], "std": [0.3081]}
    assert md["dataset"] == "mnist"


def test_export_random(tmp_path):
    out = export_random("tfc-w1a1", tmp_path / "run", seed=3, calib_steps=2)
    assert out == tmp_path / "run" / "model.onnx" and out.is_file()
    assert read_metadata(out)["batch"] == 1


# ---------------------------------------------------------------------------------------------- bit-exactness


def _assert_identical(model: nn.Module, path, rng_seed: int) -> ComparisonReport:
    x = _inputs(model, N_COMPARE, rng_seed)
    report = compare_torch_qonnx(model, path, x)
    assert report.ok, report.summary()
    assert report.count("output") == 1 and report.sites[-1].elements == N_COMPARE * model.num_classes
    assert report.count("activation") > 0 and report.count("parameter") > 0
    assert any(s.op_type == "BipolarQuant" and s.kind == "activation" for s in report.sites)
    return report


def test_trained_dybnn_tiny_is_bit_exact_in_qonnx(tmp_path, rng):
    torch.manual_seed(0)
    model = build_model("dybnn-tiny")
    _train_briefly(model, rng, steps=5, fold_at=3)
    assert not needs_calibration(model)
    path = export_model(model, tmp_path / "model.onnx", batch=N_COMPARE)
    report = _assert_identical(model, path, 11)
    # every dynamic site: four hyper-function requantizers (8-bit elements, statistic, hidden, output) each
    assert sum(1 for s in report.sites if "hyper" in s.torch_site and s.kind == "activation") == 4 * 2 * 6


@pytest.mark.parametrize("name", ["reactnet-tiny", "cnv-w1a1", "lfc-w1a1"])
def test_random_model_is_bit_exact_in_qonnx(tmp_path, name):
    torch.manual_seed(0)
    model = build_model(name)
    calibrate(model, None, steps=3, batch_size=16)
    path = export_model(model, tmp_path / "model.onnx", batch=N_COMPARE)
    _assert_identical(model, path, 12)


def test_compare_detects_a_difference(tmp_path):
    model = _small_calibrated()
    path = export_model(model, tmp_path / "model.onnx", batch=8)
    with torch.no_grad():
        w = model.layers[3].fc.weight
        w[0] = -w[0]  # flip one output neuron's binary weights after export
    report = compare_torch_qonnx(model, path, _inputs(model, 8, 4))
    assert not report.ok and report.mismatches > 0
    flipped = [s.torch_site for s in report.sites if s.mismatches and s.kind == "parameter"]
    assert flipped == ["layers.3.fc.weight_quant"]
    assert "MISMATCH" in report.summary()


def test_dynamo_export_is_bit_exact(tmp_path):
    model = _small_calibrated()
    path = export_model(model, tmp_path / "model.onnx", batch=4, dynamo=True)
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]  # weights inlined, side file removed
    report = compare_torch_qonnx(model, path, _inputs(model, 4, 5))
    assert report.ok, report.summary()


def test_prepare_for_export_folds_and_evaluates():
    model = _small_calibrated("cnv-w1a1")
    prepare_for_export(model)
    assert not model.training
    assert all(m.folded for m in model.modules() if isinstance(m, FoldableBatchNorm2d))
