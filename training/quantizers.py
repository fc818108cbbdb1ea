"""Every Brevitas quantizer used by dybnn, declared once.

Each quantizer is an explicit subclass with its bit width set in the class, so a model definition names a
quantizer instead of threading options through ``**kwargs``. All scales are powers of two: the hardware path
(hwsim, hls) then works on integers with shifts, and float32 arithmetic in PyTorch and onnxruntime is exact as
long as every intermediate stays below 2**24 units (checked by :mod:`training.exactness`).

Conventions (see ``docs/numerics.md``):

* binary activations: ``+1 iff x >= 0`` (Brevitas ``BinarySignSte``; ``sign(0) = +1``), scale 1;
* binary weights: ``sign(W) * s_c`` with a per-output-channel power-of-two ``s_c`` from mean ``|W|``
  (XNOR-Net / ReActNet), clamped without touching the parameter (``TensorClampSte``);
* fixed-point tensors: signed or unsigned integers times ``2**-f``, round half to even, saturating.
"""

from __future__ import annotations

import torch
from brevitas.core.function_wrapper import TensorClampSte
from brevitas.core.function_wrapper.ops_ste import CeilSte
from brevitas.inject.enum import RestrictValueType, ScalingImplType, ScalingPerOutputType, StatsOp
from brevitas.quant import (
    Int8ActPerTensorFixedPoint,
    Int8WeightPerTensorFixedPoint,
    SignedBinaryActPerTensorConst,
    SignedBinaryWeightPerTensorConst,
    Uint8ActPerTensorFixedPoint,
)
from brevitas.quant.fixed_point import (
    Int8BiasPerTensorFixedPointInternalScaling,
    Int8WeightPerChannelFixedPoint,
)
from brevitas.quant.scaled_int import Int24Bias
from torch import nn

#: Number of training steps during which fixed-point activation scales come from batch statistics
#: (Brevitas default 300; shorter here because our CPU runs are short, and every export calibrates first).
STATS_STEPS = 100


class BinaryWeightPerChannelPoT(SignedBinaryWeightPerTensorConst):
    """Binary weights ``sign(W) * 2**round_up(log2(mean|W_c|))`` per output channel (ReActNet, PoT for HW)."""

    scaling_impl_type = ScalingImplType.STATS
    scaling_stats_op = StatsOp.AVE
    scaling_per_output_type = ScalingPerOutputType.CHANNEL
    restrict_scaling_type = RestrictValueType.POWER_OF_TWO
    restrict_value_float_to_int_impl = CeilSte
    tensor_clamp_impl = TensorClampSte
    scaling_min_val = 2.0**-16


class BinaryWeightUnitScale(SignedBinaryWeightPerTensorConst):
    """Binary weights ``sign(W)`` with scale 1 (BNN-PYNQ / FINN topologies); clamp without side effects."""

    scaling_const = 1.0
    tensor_clamp_impl = TensorClampSte


class BinaryActHardTanhSte(SignedBinaryActPerTensorConst):
    """Binary activation ``+1 iff x >= 0``; gradient 1 on ``|x| <= 1`` (BNN straight-through estimator)."""


class ApproxSignQuant(nn.Module):
    """``sign`` forward with ReActNet's ApproxSign gradient ``max(0, 2 - 2|x|)`` (Liu et al., 2020).

    A drop-in Brevitas ``tensor_quant``: returns ``(y, scale, zero_point, bit_width)``. Exports as BipolarQuant.
    """

    def __init__(self, scaling_impl: nn.Module) -> None:
        super().__init__()
        self.scaling_impl = scaling_impl
        self.register_buffer("_zero", torch.tensor(0.0), persistent=False)
        self.register_buffer("_bw", torch.tensor(1.0), persistent=False)

    def forward(self, x: torch.Tensor):
        scale = self.scaling_impl(x)
        hard = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
        if self.training and x.requires_grad:
            c = x.clamp(-1.0, 1.0)
            approx = torch.where(c < 0, c * c + 2 * c, 2 * c - c * c)
            y = approx + (hard - approx).detach()
        else:
            y = hard
        return y * scale, scale, self._zero, self._bw


class BinaryActApproxSign(SignedBinaryActPerTensorConst):
    """Binary activation ``+1 iff x >= 0`` with ReActNet's ApproxSign gradient."""

    tensor_quant = ApproxSignQuant


class Int8ActFixedPoint(Int8ActPerTensorFixedPoint):
    """Signed 8-bit fixed-point activation (model input, hyper-function statistics)."""

    bit_width = 8
    collect_stats_steps = STATS_STEPS
    scaling_min_val = (
        2.0**-16
    )  # a power of two (Brevitas: 1e-10), so a never-active site still has a PoT scale


class Uint8ActFixedPoint(Uint8ActPerTensorFixedPoint):
    """Unsigned 8-bit fixed-point activation (after the hyper function's ReLU)."""

    bit_width = 8
    collect_stats_steps = STATS_STEPS
    scaling_min_val = (
        2.0**-16
    )  # a power of two (Brevitas: 1e-10), so a never-active site still has a PoT scale


class Int16ActFixedPoint(Int8ActPerTensorFixedPoint):
    """Signed 16-bit fixed-point activation: the residual stream of ReActNet/DyBNN and static shifts."""

    bit_width = 16
    collect_stats_steps = STATS_STEPS
    scaling_min_val = (
        2.0**-16
    )  # a power of two (Brevitas: 1e-10), so a never-active site still has a PoT scale


class Int8WeightFixedPoint(Int8WeightPerTensorFixedPoint):
    """Narrow signed 8-bit per-tensor fixed-point weights (hyper-function FCs, classifier, PReLU slopes).

    The scale is at least ``2**-10`` so that near-zero tensors do not get a needlessly fine grid (products with
    16-bit activations must stay exact in float32).
    """

    bit_width = 8
    scaling_min_val = 2.0**-3  # Brevitas bounds the range (max |value|), so the scale is >= 2**-3 / 2**7


class Int8WeightPerChannelFxp(Int8WeightPerChannelFixedPoint):
    """Narrow signed 8-bit per-output-channel fixed-point weights (stem conv, folded BatchNorm scale)."""

    bit_width = 8


class Int16BiasFixedPoint(Int8BiasPerTensorFixedPointInternalScaling):
    """Signed 16-bit fixed-point bias with its own power-of-two scale (independent of the input scale).

    The scale is at least ``2**-14``: a near-zero bias would otherwise sit on a grid so fine that adding it to a
    16-bit activation leaves float32's exact range.
    """

    bit_width = 16
    scaling_min_val = 2.0  # a bound on the range: scale >= 2 / 2**15


class Int24AccumulatorBias(Int24Bias):
    """Signed 24-bit bias on the accumulator's grid: scale = input scale x per-channel weight scale (the layer's
    input must be a Brevitas ``QuantTensor``).

    The bias of a real convolution with its BatchNorm folded in (:meth:`training.layers.FixedConv2d.absorb`):
    on the accumulator's own grid it adds at most ``2**23`` units to a sum of ``K`` products of an 8-bit input and
    8-bit weights (``K * 2**7 * 127`` units), so the float32 convolution is exact for every ``K <= 516`` whatever
    the BatchNorm statistics (``docs/numerics.md``).
    """


class Int16ParamFixedPoint(Int8WeightPerTensorFixedPoint):
    """Signed 16-bit fixed-point static parameters (thresholds tau, RPReLU shifts gamma and zeta).

    The scale is at least ``2**-12``, no finer than the residual stream's grid in practice, so that
    ``x - tau`` and ``(x - gamma) * beta`` stay exact in float32.
    """

    bit_width = 16
    scaling_min_val = 8.0  # a bound on the range: scale >= 8 / 2**15


class Int8UnitRangeAct(Int8ActPerTensorFixedPoint):
    """Signed 8-bit fixed point on the constant range [-1, 1): scale ``2**-7`` (the hyper function's hardtanh
    output, requantized before the power-of-two lambda; a constant scale keeps the grid coarse from the first step).
    """

    scaling_impl_type = ScalingImplType.CONST
    scaling_const = 1.0
    min_val = -1.0
    max_val = 1.0
    bit_width = 8


__all__ = [
    "STATS_STEPS",
    "ApproxSignQuant",
    "BinaryActApproxSign",
    "BinaryActHardTanhSte",
    "BinaryWeightPerChannelPoT",
    "BinaryWeightUnitScale",
    "Int8ActFixedPoint",
    "Int8WeightFixedPoint",
    "Int8UnitRangeAct",
    "Int8WeightPerChannelFxp",
    "Int16ActFixedPoint",
    "Int16BiasFixedPoint",
    "Int16ParamFixedPoint",
    "Uint8ActFixedPoint",
]
