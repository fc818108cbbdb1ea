"""The training steps: step 1 really trains real weights, step 2 binary ones, step 3 folds; the step plan."""

import pytest
import torch
import torch.nn.functional as F
from brevitas.quant_tensor import IntQuantTensor

from training.layers import BinaryConv2d, BinaryLinear, is_folded
from training.models import build_model
from training.steps import (
    StepError,
    apply_step,
    binary_weight_proxies,
    binary_weight_quant_enabled,
    plan_steps,
    set_binary_weight_quant,
)


def _signs(rng, *shape):
    return torch.from_numpy(rng.choice([-1.0, 1.0], size=shape)).float()


def test_step1_conv_uses_real_weights_step2_binary(rng):
    layer = BinaryConv2d(4, 8, 3, padding=1).eval()
    x = _signs(rng, 2, 4, 6, 6)
    w = layer.conv.weight
    set_binary_weight_quant(layer, enabled=False)
    torch.testing.assert_close(layer(x), F.conv2d(x, w, padding=1), rtol=0, atol=1e-6)
    # continuous in the weights: a tiny change of one weight changes the output by about that much
    y0 = layer(x).detach()
    with torch.no_grad():
        w[0, 0, 1, 1] += 1e-4
    delta = (layer(x).detach() - y0).abs().max()
    assert 0 < float(delta) <= 1.1e-4

    set_binary_weight_quant(layer, enabled=True)
    wq = layer.conv.quant_weight().value.detach()
    scale = wq.abs().amax(dim=(1, 2, 3), keepdim=True)
    assert torch.equal(wq, torch.sign(w.detach()) * scale)
    # binary weights: the output carries its grid (input scale 1 x the channel's weight scale)
    out = layer(x)
    assert isinstance(out, IntQuantTensor) and torch.equal(out.scale.reshape(-1), scale.reshape(-1))
    torch.testing.assert_close(out.value, F.conv2d(x, wq, padding=1), rtol=0, atol=1e-6)
    y1 = layer(x).value.detach()
    with torch.no_grad():
        w[0, 0, 1, 1] += 1e-6  # no sign change, no power-of-two scale change: the binary output does not move
    assert torch.equal(layer(x).value.detach(), y1)


def test_step1_linear_uses_real_weights(rng):
    layer = BinaryLinear(16, 4).eval()
    x = _signs(rng, 3, 16)
    set_binary_weight_quant(layer, enabled=False)
    torch.testing.assert_close(layer(x), x @ layer.fc.weight.t(), rtol=0, atol=1e-6)
    set_binary_weight_quant(layer, enabled=True)
    out = layer(x).value
    torch.testing.assert_close(out, x @ torch.sign(layer.fc.weight.detach()).t(), rtol=0, atol=1e-6)


def test_apply_step_switches_only_binary_layers_and_folds_in_step3():
    model = build_model("dybnn-tiny", (1, 12, 12))
    proxies = binary_weight_proxies(model)
    assert len(proxies) == 7  # 3 blocks of one 3x3 conv and one 1x1 conv, two 1x1 where the width doubles
    assert apply_step(model, 1) is False
    assert not any(p.is_quant_enabled for p in proxies)
    assert model.stem.conv.weight_quant.is_quant_enabled  # the 8-bit stem stays quantized
    assert model.classifier.fc.weight_quant.is_quant_enabled
    apply_step(model, 2)
    assert binary_weight_quant_enabled(model) and not is_folded(model)
    assert apply_step(model, 3) is True
    assert binary_weight_quant_enabled(model) and is_folded(model)
    with pytest.raises(StepError, match="already folded"):
        apply_step(model, 1)
    with pytest.raises(StepError, match="unknown training step"):
        apply_step(model, 4)


@pytest.mark.parametrize("epochs", [3, 4, 5, 10, 20])
def test_plan_whole_epochs_each_step_at_least_one(epochs):
    plan = plan_steps(epochs, 7, (0.4, 0.4, 0.2))
    assert plan.total == epochs * 7
    counts = [plan.bounds(s)[1] - plan.bounds(s)[0] for s in (1, 2, 3)]
    assert all(c % 7 == 0 and c >= 7 for c in counts)
    assert sum(counts) == plan.total


def test_plan_short_runs_split_by_batches():
    plan = plan_steps(1, 10, (0.4, 0.4, 0.2))
    assert [plan.step_at(g) for g in range(10)] == [1] * 4 + [2] * 4 + [3] * 2
    plan = plan_steps(2, 3, (1, 1, 1))
    assert [plan.step_at(g) for g in range(6)] == [1, 1, 2, 2, 3, 3]
    with pytest.raises(StepError, match="at least 3 batches"):
        plan_steps(1, 2, (0.4, 0.4, 0.2))
    with pytest.raises(StepError, match="positive"):
        plan_steps(5, 2, (0.5, 0.5, 0.0))
