"""Binary networks written by others, for the lowering tests: Brevitas' BNN-PYNQ models with non-trivial
BatchNorm statistics, and a small W1A1 network in the same style written with plain ``brevitas.nn``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

#: per-sample input shapes of the BNN-PYNQ models
BNN_PYNQ_SHAPES = {
    "tfc_1w1a": (1, 28, 28),
    "sfc_1w1a": (1, 28, 28),
    "lfc_1w1a": (1, 28, 28),
    "cnv_1w1a": (3, 32, 32),
}


def randomize_norms(model, seed: int = 0) -> None:
    """Random running statistics, scales (both signs) and biases for every BatchNorm and BNN-PYNQ TensorNorm, on
    the scale of the accumulators they follow, so that every threshold differs."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            name = type(m).__name__
            if name.startswith("BatchNorm") or name == "TensorNorm":
                n = m.running_mean.numel()
                spread = 4.0 if name == "TensorNorm" else 12.0
                m.running_mean.copy_(torch.randn(n, generator=gen) * spread)
                m.running_var.copy_(torch.rand(n, generator=gen) * 50 + 0.5)
                m.weight.copy_(torch.randn(n, generator=gen))  # about half negative: inverted thresholds
                m.bias.copy_(torch.randn(n, generator=gen))


def bnn_pynq(name: str, seed: int = 0):
    """A ``brevitas_examples.bnn_pynq`` model (random weights, randomized norms) in eval mode."""
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    torch.manual_seed(seed)
    model, _ = model_with_cfg(name, pretrained=False)
    randomize_norms(model, seed)
    return model.eval()


def export(model, path: str | Path, shape: tuple[int, ...], batch: int = 1) -> Path:
    """``brevitas.export.export_qonnx`` with the TorchScript exporter, as a user would."""
    import torch
    from brevitas.export import export_qonnx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.rand(batch, *shape), export_path=str(path), dynamo=False)
    return Path(path)


def unit_inputs(shape: tuple[int, ...], n: int, seed: int = 0) -> np.ndarray:
    """Images in [0, 1] (what BNN-PYNQ models expect), plus exact ties of ``2x - 1`` at 0 and +-1."""
    x = np.random.default_rng(seed).random((n, *shape), dtype=np.float32)
    x.reshape(n, -1)[:, :3] = np.float32([0.5, 0.0, 1.0])
    return x


def someone_else(seed: int = 0, weight_scale: float = 1.0):
    """A small W1A1 network written with plain ``brevitas.nn`` in the BNN-PYNQ style: per-channel input
    normalization before an 8-bit input quantizer, binary QuantConv2d / QuantLinear without bias, float BatchNorm
    before (``conv -> BN -> MaxPool -> sign``) and after (``conv -> MaxPool -> BN -> sign``) the pooling, and a
    float per-class scale and bias producing the logits. Input ``(3, 16, 16)``; random BatchNorm statistics."""
    import brevitas.nn as qnn
    import torch
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        SignedBinaryActPerTensorConst,
        SignedBinaryWeightPerTensorConst,
    )
    from torch import nn

    class BinaryWeights(SignedBinaryWeightPerTensorConst):
        scaling_const = weight_scale

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1))
            self.inp = qnn.QuantIdentity(act_quant=Int8ActPerTensorFixedPoint)
            self.conv1 = qnn.QuantConv2d(3, 16, 3, padding=1, bias=False, weight_quant=BinaryWeights)
            self.bn1 = nn.BatchNorm2d(16)
            self.pool1 = nn.MaxPool2d(2)
            self.act1 = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.conv2 = qnn.QuantConv2d(16, 32, 3, bias=False, weight_quant=BinaryWeights)
            self.pool2 = nn.MaxPool2d(2)
            self.bn2 = nn.BatchNorm2d(32)
            self.act2 = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.fc1 = qnn.QuantLinear(32 * 3 * 3, 64, bias=False, weight_quant=BinaryWeights)
            self.bn3 = nn.BatchNorm1d(64)
            self.act3 = qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
            self.fc2 = qnn.QuantLinear(64, 10, bias=False, weight_quant=BinaryWeights)
            self.scale = nn.Parameter(torch.rand(10) + 0.5)
            self.shift = nn.Parameter(torch.randn(10))

        def forward(self, x):
            x = self.inp((x - self.mean) / self.std)
            x = self.act1(self.pool1(self.bn1(self.conv1(x))))
            x = self.act2(self.bn2(self.pool2(self.conv2(x))))
            x = self.act3(self.bn3(self.fc1(torch.flatten(x, 1))))
            return self.fc2(x) * self.scale + self.shift

    torch.manual_seed(seed)
    model = Net()
    randomize_norms(model, seed)
    return model.eval()
