"""Every registry model at its native input size: every reduction over a feature map, every convolution and
linear layer with its folded BatchNorm, and every BatchNorm after a binary layer, is exact in float32 for every input and any calibration, from the bit widths alone (the
analysis :func:`training.exactness.check_exact_range` enforces)."""

from __future__ import annotations

import pytest
import torch
from brevitas.nn import QuantConv2d, QuantLinear, QuantScaleBias
from torch import nn

from training.exactness import FLOAT32_EXACT_UNITS, ExportRangeError, check_exact_range, pooling_bounds
from training.layers import FixedConv2d, FoldableBatchNorm2d, GlobalSumShift, fold_batchnorms
from training.models import MODELS, build_model


def _adversarial_fold(model: nn.Module) -> None:
    """Fold every BatchNorm from extreme statistics (tiny variances, large means and gains: scales and biases
    at the ends of their ranges), the worst a calibration can give."""
    g = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, FoldableBatchNorm2d):
            bn = m.bn
            c = bn.running_var.numel()
            bn.running_var.copy_(torch.full((c,), 1e-6) * torch.rand(c, generator=g))
            bn.running_mean.copy_((torch.rand(c, generator=g) - 0.5) * 2e6)
            bn.weight.data.copy_((torch.rand(c, generator=g) - 0.5) * 8)
    fold_batchnorms(model)


@pytest.mark.parametrize("name", list(MODELS))
def test_registry_model_reductions_are_exact_at_native_size(name):
    """Every pooling, every convolution and linear layer with its bias, and every BatchNorm after a binary layer
    (folded to ``a_c * x + b_c``), has a worst case over every input below 2**24 units, from the bit widths
    alone; the folding's statistics are extreme (the biases saturate), so any calibration passes."""
    torch.manual_seed(0)
    model = build_model(name)
    _adversarial_fold(model)
    ranges = pooling_bounds(model, convolutions=True)
    modules = dict(model.named_modules())
    # every analysed module once per call (a module called twice would appear twice)
    assert len({r.module for r in ranges}) == len(ranges)
    kinds = (GlobalSumShift, nn.AvgPool2d, QuantConv2d, QuantLinear)
    # (a QuantScaleBias without bias holds a static parameter, tau or beta: no reduction)
    expected = sorted(
        n
        for n, m in model.named_modules()
        if isinstance(m, kinds) or (isinstance(m, QuantScaleBias) and m.bias is not None)
    )
    assert sorted(r.module for r in ranges) == expected
    for r in ranges:
        assert r.static, f"{name}: {r.module} has no static bound (its input is not a quantizer's output)"
        assert r.units < FLOAT32_EXACT_UNITS, f"{name}: {r.module} needs {r.bits:.1f} bits"
    # the BatchNorms after binary layers: their 24-bit bias on the grid of a_c * x saturates at 2**23 units
    # under these statistics, and the sum stays below 2**24 (the former 16-bit bias on its own grid needed 26.0
    # to 33.9 bits here)
    affine = {r.module: r.bits for r in ranges if isinstance(modules[r.module], QuantScaleBias)}
    n_bn = sum(1 for m in model.modules() if isinstance(m, FoldableBatchNorm2d) and m.affine is not None)
    assert len(affine) == n_bn > 0
    assert 23 < max(affine.values()) < 24, affine
    if name.endswith("react-resnet18"):
        # the real convolutions with a BatchNorm folded in: the stem and the downsampling shortcuts (digits
        # calibrations gave their separate scale-bias 24.2-24.3 bits); the bias saturates at 2**23 units here
        real = {
            r.module: r.bits for r in ranges if r.module == "stem.conv" or r.module.endswith("down.2.conv")
        }
        assert len(real) == 4 and all(23 < b < 24 for b in real.values()), real
        assert all(m.conv.bias is not None for m in model.modules() if isinstance(m, FixedConv2d))


def test_pool_bound_is_the_map_size_times_the_8bit_range():
    """GlobalSumShift adds H*W elements of its 8-bit type: H*W*2**7 units, whatever the input's values."""
    torch.manual_seed(0)
    model = build_model("dybnn-tiny")
    for r in pooling_bounds(model):
        if r.module.endswith("hyper.pool") or r.module == "pool":
            m = dict(model.named_modules())[r.module]
            assert isinstance(m, GlobalSumShift)
    sizes = {r.module: r.units for r in pooling_bounds(model, torch.randn(1, 1, 28, 28) * 1e6)}
    # dybnn-tiny: stem stride 2 -> 14x14 maps, then 7x7 after the strided block
    assert sizes["blocks.0.0.sign.hyper.pool"] == 14 * 14 * 128
    assert sizes["pool"] == 7 * 7 * 128


def test_larger_map_fails_the_check_naming_the_pool():
    """Beyond 2**17 positions the 8-bit sum leaves float32's exact range: the export check names the pool."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = GlobalSumShift()

        def forward(self, x):
            return self.pool(x)

    net = Net().eval()
    net.input_shape = (1, 512, 512)
    (r,) = pooling_bounds(net)
    assert r.units == 512 * 512 * 128 and r.units >= FLOAT32_EXACT_UNITS
    with pytest.raises(ExportRangeError, match=r"pool \(output\): worst-case accumulator bound"):
        check_exact_range(net, torch.zeros(1, 1, 512, 512))
