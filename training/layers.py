"""Brevitas layers of ReActNet and DyBNN, with an integer-exact deployment form.

Every tensor on the real-valued path is a fixed-point number with a power-of-two scale, so that the model
in ``eval()`` computes exactly what the integer hardware computes (see ``docs/numerics.md``):

* :class:`BinaryConv2d` -- binary weights with a per-output-channel power-of-two scale; the input is a
  binarized tensor (+-1); padding with 0 (ReActNet), +1 or -1 (``pad_value``).
* :class:`RSign` -- ``+1 iff x >= tau_c`` with a learnable, 16-bit fixed-point ``tau``.
* :class:`DySign` -- ``+1 iff x >= tau_c + delta_c(x)``, ``delta(x) = lambda * hardtanh(W2 relu(W1 s(x) + b1) + b2)``.
* :class:`RPReLU` -- ``PReLU_beta(x - gamma) + zeta`` (ReActNet).
* :class:`DyPReLU` -- ``PReLU_beta(x - gamma - dgamma(x)) + zeta + dzeta(x)``, both shifts from one hyper function.
* :class:`FoldableBatchNorm2d` -- float BatchNorm while training; :meth:`~FoldableBatchNorm2d.fold` turns it into
  a quantized per-channel scale and bias (``a_c * x + b_c``, 8-bit PoT per-channel scale, 24-bit bias on the
  grid of ``a_c * x``), or folds it into the real convolution before it.
* :class:`GlobalSumShift` -- the "mean" of the hardware: an 8-bit requantization, the sum over H*W, times
  ``2**-ceil(log2(H*W))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import brevitas.nn as qnn
import torch
import torch.nn.functional as F
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from training.quantizers import (
    BinaryActApproxSign,
    BinaryActHardTanhSte,
    BinaryWeightPerChannelPoT,
    BinaryWeightUnitScale,
    Int8ActFixedPoint,
    Int8UnitRangeAct,
    Int8WeightFixedPoint,
    Int8WeightPerChannelFxp,
    Int16ActFixedPoint,
    Int16BiasFixedPoint,
    Int16ParamFixedPoint,
    Int24AccumulatorBias,
    Uint8ActFixedPoint,
)

ACT_STE = {"approxsign": BinaryActApproxSign, "hardtanh": BinaryActHardTanhSte}


def binary_act(ste: str = "approxsign") -> qnn.QuantIdentity:
    """A binarization site ``+1 iff x >= 0`` with the chosen straight-through estimator."""
    if ste not in ACT_STE:
        raise ValueError(f"unknown activation STE {ste!r}; expected one of {sorted(ACT_STE)}")
    return qnn.QuantIdentity(act_quant=ACT_STE[ste], return_quant_tensor=False)


def fixed_act(bits: int = 16, signed: bool = True, quant_tensor: bool = False) -> qnn.QuantIdentity:
    """A fixed-point requantizer (round half to even, saturate) with a power-of-two scale.

    ``quant_tensor``: return a Brevitas ``QuantTensor`` (value and scale), for a :class:`FixedConv2d` whose bias
    lives on its accumulator's grid (input scale x weight scale) once a BatchNorm is folded into it."""
    if signed and bits == 16:
        q = Int16ActFixedPoint
    elif signed and bits == 8:
        q = Int8ActFixedPoint
    elif not signed and bits == 8:
        q = Uint8ActFixedPoint
    else:
        raise ValueError(f"no fixed-point activation quantizer for bits={bits} signed={signed}")
    return qnn.QuantIdentity(act_quant=q, return_quant_tensor=quant_tensor)


class QuantParam(nn.Module):
    """A learnable per-channel vector stored in fixed point; ``forward()`` returns it shaped ``(1, C, 1, 1)``.

    It is held as the weight of a Brevitas ``QuantScaleBias`` so that a weight quantizer (max statistics,
    recomputed every step) applies to it; it exports as a ``Quant`` node on an initializer.
    """

    def __init__(self, channels: int, init: float = 0.0, quant=Int16ParamFixedPoint, ndim: int = 4) -> None:
        super().__init__()
        self.holder = qnn.QuantScaleBias(channels, bias=False, weight_quant=quant)
        with torch.no_grad():
            self.holder.weight.fill_(init)
        self.shape = (1, channels) + (1,) * (ndim - 2)

    @property
    def weight(self) -> nn.Parameter:
        return self.holder.weight

    def forward(self) -> torch.Tensor:
        return self.holder.quant_weight().value.view(self.shape)


def bipolar_tensor(x: torch.Tensor | IntQuantTensor, training: bool) -> IntQuantTensor:
    """The input of a binary layer as a Brevitas ``QuantTensor``: a plain tensor is a binary activation's +-1
    (scale 1, the binary quantizers' constant scale; a +-1 padding too); a ``QuantTensor`` (the 8-bit image of
    ``cnv-w1a1``'s first layer) is kept. The layer then returns its output with its grid (input scale x
    per-channel weight scale), on which the folded BatchNorm's bias lives (:class:`FoldableBatchNorm2d`)."""
    if isinstance(x, IntQuantTensor):
        return x
    one = torch.tensor(1.0, dtype=x.dtype, device=x.device)
    zero = torch.tensor(0.0, dtype=x.dtype, device=x.device)
    return IntQuantTensor(x, one, zero, torch.tensor(1.0, device=x.device), True, training)


def _quant_output(
    layer: nn.Module, x: torch.Tensor | IntQuantTensor, training: bool
) -> torch.Tensor | IntQuantTensor:
    """``layer(x)`` as a ``QuantTensor`` (value and grid) once its weights are binarized (training steps 2 and 3);
    a plain tensor in step 1 (real weights: no grid) and in Brevitas' torch.export (dynamo) export, which traces
    no ``QuantTensor`` (the folded bias then uses the scale cached by the inference forward before it)."""
    q = layer.weight_quant
    with_grid = bool(q.is_quant_enabled) and not getattr(q, "skip_create_quant_tensor", False)
    layer.return_quant_tensor = with_grid
    if with_grid:
        return layer(bipolar_tensor(x, training))
    return layer(x.value if isinstance(x, IntQuantTensor) else x)


class BinaryConv2d(nn.Module):
    """Binary convolution on a +-1 input: ``y = conv(x_b, sign(W) * s_c)``.

    Args:
        pad_value: value of the padded border, 0 (ReActNet, a zero outside the map), +1 or -1 (pure bipolar).
        weight_scale: ``"channel"`` (per-output-channel PoT mean |W|) or ``"unit"`` (scale 1, BNN-PYNQ).
    """

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int,
        stride: int = 1,
        padding: int = 0,
        pad_value: float = 0.0,
        weight_scale: str = "channel",
    ) -> None:
        super().__init__()
        if pad_value not in (0.0, 1.0, -1.0):
            raise ValueError(f"pad_value must be 0, +1 or -1, got {pad_value}")
        wq = {"channel": BinaryWeightPerChannelPoT, "unit": BinaryWeightUnitScale}[weight_scale]
        self.pad_value = float(pad_value)
        self.padding = int(padding)
        conv_pad = self.padding if self.pad_value == 0.0 else 0
        self.conv = qnn.QuantConv2d(
            cin,
            cout,
            kernel,
            stride=stride,
            padding=conv_pad,
            bias=False,
            weight_quant=wq,
        )
        nn.init.normal_(self.conv.weight, 0.0, 0.01 if weight_scale == "channel" else 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | IntQuantTensor:
        if self.pad_value != 0.0 and self.padding > 0:
            p = self.padding
            x = F.pad(x, (p, p, p, p), mode="constant", value=self.pad_value)
        return _quant_output(self.conv, x, self.training)


class BinaryLinear(nn.Module):
    """Binary fully connected layer on a +-1 input."""

    def __init__(self, cin: int, cout: int, weight_scale: str = "unit") -> None:
        super().__init__()
        wq = {"channel": BinaryWeightPerChannelPoT, "unit": BinaryWeightUnitScale}[weight_scale]
        self.fc = qnn.QuantLinear(cin, cout, bias=False, weight_quant=wq)
        nn.init.normal_(self.fc.weight, 0.0, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | IntQuantTensor:
        return _quant_output(self.fc, x, self.training)


class FixedConv2d(nn.Module):
    """Multi-bit convolution (stem, downsampling shortcut): 8-bit per-channel PoT weights on a fixed-point input,
    no bias; with a BatchNorm folded in (:meth:`absorb`), the folded weights and a 24-bit bias on the
    accumulator's grid."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.conv = self._make(cin, cout, kernel, stride, padding, bias=False)

    @staticmethod
    def _make(cin: int, cout: int, kernel, stride, padding, bias: bool) -> qnn.QuantConv2d:
        conv = qnn.QuantConv2d(
            cin,
            cout,
            kernel,
            stride=stride,
            padding=padding,
            bias=bias,
            weight_quant=Int8WeightPerChannelFxp,
            bias_quant=Int24AccumulatorBias if bias else None,
        )
        if bias:
            # an inference forward caches the bias scale: quant_bias() (the range analysis) needs no input
            conv.bias_quant.cache_inference_quant_bias = True
        return conv

    @torch.no_grad()
    def absorb(self, a: torch.Tensor, b: torch.Tensor) -> None:
        """Fold the per-channel affine ``a_c * y + b_c`` that follows the convolution into it: weights
        ``a_c * W_c`` (requantized to 8-bit per-channel PoT by the weight quantizer), bias ``b_c`` on the
        accumulator's grid (:class:`~training.quantizers.Int24AccumulatorBias`). The input must then be a
        ``QuantTensor`` (:func:`fixed_act` with ``quant_tensor=True``)."""
        c = self.conv
        new = self._make(c.in_channels, c.out_channels, c.kernel_size, c.stride, c.padding, bias=True)
        new = new.to(c.weight.device)
        new.weight.copy_(c.weight * a.view(-1, 1, 1, 1))
        new.bias.copy_(b)
        new.train(c.training)
        self.conv = new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class FixedLinear(nn.Module):
    """Multi-bit fully connected layer: 8-bit PoT weights, 16-bit PoT bias, fixed-point input."""

    def __init__(self, cin: int, cout: int, bias: bool = True) -> None:
        super().__init__()
        self.fc = qnn.QuantLinear(
            cin,
            cout,
            bias=bias,
            weight_quant=Int8WeightFixedPoint,
            bias_quant=Int16BiasFixedPoint if bias else None,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


class _AccumulatorScaleBias(qnn.QuantScaleBias):
    """``QuantScaleBias`` on a ``QuantTensor`` input whose bias scale is the input's times the weight's: the sum
    is computed on the plain values (Brevitas' ``QuantTensor`` addition insists on identical scale tensors, and
    ``x * a`` and the bias hold the same per-channel scale in different shapes)."""

    def inner_forward_impl(self, input, quant_weight, quant_bias):
        out = _plain(input) * _plain(quant_weight).view(self.runtime_shape)
        return out + _plain(quant_bias).view(self.runtime_shape)


def _plain(t):
    return t.value if isinstance(t, IntQuantTensor) else t


class FoldableBatchNorm2d(nn.Module):
    """BatchNorm that folds into an integer per-channel scale and bias for the integer fine-tune step.

    Before :meth:`fold`: ``nn.BatchNorm2d`` (1d for ``ndim=2``). After: ``y = a_c * x + b_c`` with ``a`` 8-bit
    per-channel power-of-two fixed point and ``b`` a signed 24-bit integer on the grid of ``a_c * x`` (the binary
    layer's output grid times ``a_c``'s scale: :class:`~training.quantizers.Int24AccumulatorBias`; Brevitas
    ``QuantScaleBias``), initialized from the BatchNorm statistics ``a = gamma / sqrt(var + eps)``,
    ``b = beta - mean * a``. The input is then the binary layer's ``QuantTensor`` (:func:`bipolar_tensor`), and
    ``a_c * x + b_c`` is at most ``K * 127 + 2**23`` units of that grid, exact in float32 for any statistics
    while ``K < 66,052`` (``docs/numerics.md``).
    """

    def __init__(self, channels: int, ndim: int = 4, into: FixedConv2d | None = None) -> None:
        super().__init__()
        self.channels = channels
        self.ndim = ndim
        self.bn = nn.BatchNorm2d(channels) if ndim == 4 else nn.BatchNorm1d(channels)
        self.affine: qnn.QuantScaleBias | None = None
        # a plain tuple, not a submodule: the convolution belongs to the model (one copy in the state dict)
        self._into = (into,) if into is not None else ()
        self.absorbed = False

    @property
    def folded(self) -> bool:
        return self.affine is not None or self.absorbed

    @torch.no_grad()
    def fold(self) -> None:
        """Fold into the scale-bias form, or, when built with ``into=conv`` (a real convolution feeding this
        BatchNorm directly), into that convolution's weights and bias: its float32 sum then stays below
        2**24 units for any statistics (``docs/numerics.md``), where a separate scale ``a_c`` of 8 bits times
        an accumulator of up to 22 bits would not."""
        if self.folded:
            return
        bn = self.bn
        a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        b = bn.bias - bn.running_mean * a
        if self._into:
            self._into[0].absorb(a, b)
            del self.bn
            self.bn = None
            self.absorbed = True
            return
        shape = (1, -1, 1, 1) if self.ndim == 4 else (1, -1)
        self.affine = _AccumulatorScaleBias(
            self.channels,
            bias=True,
            weight_quant=Int8WeightPerChannelFxp,
            bias_quant=Int24AccumulatorBias,
            runtime_shape=shape,
            return_quant_tensor=False,
        ).to(a.device)
        # an inference forward caches the bias scale: quant_bias() (the range analysis) needs no input
        self.affine.bias_quant.cache_inference_quant_bias = True
        self.affine.weight.copy_(a)
        self.affine.bias.copy_(b)
        del self.bn
        self.bn = None

    def forward(self, x: torch.Tensor | IntQuantTensor) -> torch.Tensor:
        if self.absorbed:
            return x
        if self.affine is not None:
            if not isinstance(x, IntQuantTensor) and self.affine.bias_quant._cached_bias is None:
                raise TypeError(
                    "a folded BatchNorm's input must be a binary layer's output (a QuantTensor with its grid), "
                    f"got {type(x).__name__}"
                )
            return self.affine(x)
        return self.bn(x.value if isinstance(x, IntQuantTensor) else x)


#: bits of the elements a :class:`GlobalSumShift` adds up (a float32 sum of ``H*W`` of them is exact while
#: ``H*W * 2**(POOL_BITS-1) < 2**24``, i.e. for maps up to 2**17 = 131,072 positions, 362x362)
POOL_BITS = 8


class GlobalSumShift(nn.Module):
    """Per-channel statistic of a feature map: ``sum_{h,w} q8(x) * 2**-ceil(log2(H*W))`` (the mean when H*W is
    a power of two), ``q8`` a signed 8-bit fixed-point requantization (PoT scale from statistics) of every element.

    The requantization makes the sum exact in float32 by construction: at most ``H*W * 2**7`` units of the
    8-bit grid, below 2**24 for any map up to 2**17 positions, whatever the input's width or calibration
    (a 16-bit residual stream summed over 112x112 positions would need 28 bits). In hardware: a requantizer
    on the stream, an adder per channel and a shift (``hwsim.nodes.GlobalPool.pre``, ``HyperFunction.pre``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.pre_q = fixed_act(POOL_BITS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hw = x.shape[2] * x.shape[3]
        shift = math.ceil(math.log2(hw)) if hw > 1 else 0
        return self.pre_q(x).sum(dim=(2, 3)) * (2.0**-shift)


class Tanh32(nn.Module):
    """``tanh`` evaluated in float32 whatever the input's dtype: an unavoidable float function, allowed only
    where it feeds a quantizer (the hyper function's output quantizer). The float64 shadow run of
    :func:`training.exactness.check_exact_range` then sees the very values of the float32 run, and the hardware
    realizes ``z -> quantized tanh(z)`` as thresholds found by bisection of this function (:mod:`hwsim.squash`)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.float32:  # no Cast nodes in the exported graph
            return torch.tanh(x)
        return torch.tanh(x.float()).to(x.dtype)


@dataclass(frozen=True)
class HyperConfig:
    """Configuration of a DyBNN hyper function (one per dynamic site)."""

    #: reduction ratio r: hidden width = max(C // r, min_hidden)
    reduction: int = 16
    #: smallest hidden width
    min_hidden: int = 4
    #: lambda, the power-of-two range of the dynamic part
    lam: float = 0.5
    #: squashing function: "hardtanh" (a clip, exact and cheap) or "tanh" (becomes thresholds in hardware)
    squash: str = "hardtanh"
    #: what the hyper functions read: "self" (the paper: each site pools the very tensor it binarizes, so the
    #: hardware buffers a frame per site) or "stem" (the hardware-aware variant: every site reads one context
    #: vector pooled once per image from the stem's output, :class:`HyperContext`; no per-site frame buffer)
    context: str = "self"
    #: bits of the squashed output on [-1, 1) (scale ``2**(1 - delta_bits)``), so ``delta = lambda * q`` takes
    #: ``2**delta_bits`` values; it sets the width of every delta buffer and threshold compare in hardware
    delta_bits: int = 8


#: valid values of :attr:`HyperConfig.context`
HYPER_CONTEXTS = ("self", "stem")
#: valid :attr:`HyperConfig.delta_bits` (a signed 1-bit grid on [-1, 1) would hold only -1 and 0)
DELTA_BITS_RANGE = (2, 16)


class HyperContext(nn.Module):
    """The shared context of the hardware-aware DyBNN variant (``hyper_context: stem``):
    ``s = q_s8(GlobalSumShift(x))`` of one early tensor (the stem's output), computed once per image.

    Every :class:`HyperFunction` built with ``context=`` this module reads ``s`` instead of pooling its own input.
    The model calls :meth:`forward` on the early tensor before its blocks; the value is kept in :attr:`value` for
    the hyper functions of that forward pass. In hardware a ``HyperContext`` node holds that one frame while it
    pools it, and sends the vector ahead of the frame to every dynamic unit, which then needs no frame buffer.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.pool = GlobalSumShift()
        self.stat_q = fixed_act(8, signed=True)
        self.value: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.value = self.stat_q(self.pool(x))
        return self.value

    def read(self) -> torch.Tensor:
        if self.value is None:
            raise RuntimeError("the hyper context is not computed yet: run the model, not one of its layers")
        return self.value


class HyperFunction(nn.Module):
    """``delta(x) = lambda * q_s8(squash(W2 q_u8(relu(W1 q_s8(s(x)) + b1)) + b2))``, one value per output channel.

    ``s(x)`` is :class:`GlobalSumShift` of the tensor being binarized; the FCs have 8-bit PoT weights and 16-bit
    PoT biases; the squashed output is requantized to ``cfg.delta_bits`` bits (default 8, ``q_s8`` above) on
    [-1, 1) (scale ``2**(1 - delta_bits)``) and lambda is a power of two, so ``delta`` is a ``delta_bits``-bit
    fixed-point number on a coarse grid (the threshold and shift arithmetic downstream stays exact in float32).
    """

    def __init__(
        self,
        channels: int,
        outputs: int,
        cfg: HyperConfig = HyperConfig(),
        context: HyperContext | None = None,
    ) -> None:
        super().__init__()
        if cfg.lam <= 0 or 2.0 ** round(math.log2(cfg.lam)) != cfg.lam:
            raise ValueError(f"hyper-function lambda must be a power of two, got {cfg.lam}")
        if cfg.squash not in ("hardtanh", "tanh"):
            raise ValueError(f"hyper-function squash must be 'hardtanh' or 'tanh', got {cfg.squash!r}")
        if cfg.context not in HYPER_CONTEXTS:
            raise ValueError(f"hyper-function context must be one of {HYPER_CONTEXTS}, got {cfg.context!r}")
        if (cfg.context == "stem") != (context is not None):
            raise ValueError(
                f"hyper context {cfg.context!r} needs context= a HyperContext exactly when 'stem'"
            )
        lo, hi = DELTA_BITS_RANGE
        if (
            isinstance(cfg.delta_bits, bool)
            or not isinstance(cfg.delta_bits, int)
            or not lo <= cfg.delta_bits <= hi
        ):
            raise ValueError(
                f"hyper-function delta_bits must be an integer in [{lo}, {hi}], got {cfg.delta_bits!r}"
            )
        hidden = max(channels // cfg.reduction, cfg.min_hidden)
        self.cfg = cfg
        # a plain tuple, not a submodule: the context belongs to the model (one copy in the state dict)
        self._context = (context,) if context is not None else ()
        if context is None:
            self.pool = GlobalSumShift()
            self.stat_q = fixed_act(8, signed=True)
        self.fc1 = FixedLinear(context.channels if context is not None else channels, hidden)
        self.relu_q = qnn.QuantReLU(act_quant=Uint8ActFixedPoint, return_quant_tensor=False)
        self.fc2 = FixedLinear(hidden, outputs)
        self.out_q = qnn.QuantIdentity(
            act_quant=Int8UnitRangeAct, bit_width=cfg.delta_bits, return_quant_tensor=False
        )
        self.tanh = Tanh32() if cfg.squash == "tanh" else None
        with torch.no_grad():
            nn.init.normal_(self.fc2.fc.weight, 0.0, 0.01)
            self.fc2.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self._context[0].read() if self._context else self.stat_q(self.pool(x))
        h = self.relu_q(self.fc1(s))
        z = self.fc2(h)
        z = F.hardtanh(z) if self.tanh is None else self.tanh(z)
        return self.out_q(z) * self.cfg.lam


class RSign(nn.Module):
    """ReActNet's RSign: ``+1 iff x >= tau_c`` (tau learnable, 16-bit fixed point)."""

    def __init__(self, channels: int, ste: str = "approxsign") -> None:
        super().__init__()
        self.tau = QuantParam(channels, 0.0)
        self.act = binary_act(ste)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x - self.tau())


class DySign(nn.Module):
    """DyBNN's dynamic sign: ``+1 iff x >= tau_c + delta_c(x)`` with ``delta`` from a :class:`HyperFunction`."""

    def __init__(
        self,
        channels: int,
        ste: str = "approxsign",
        hyper: HyperConfig = HyperConfig(),
        context: HyperContext | None = None,
    ) -> None:
        super().__init__()
        self.tau = QuantParam(channels, 0.0)
        self.hyper = HyperFunction(channels, channels, hyper, context)
        self.act = binary_act(ste)

    def thresholds(self, x: torch.Tensor) -> torch.Tensor:
        """The per-sample, per-channel thresholds ``(N, C)`` used for ``x`` (for reports)."""
        return self.tau().flatten(1) + self.hyper(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        thr = self.tau() + self.hyper(x).unsqueeze(-1).unsqueeze(-1)
        return self.act(x - thr)


class RPReLU(nn.Module):
    """ReActNet's RPReLU ``PReLU_beta(x - gamma) + zeta``; beta 8-bit, gamma/zeta 16-bit fixed point."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = QuantParam(channels, 0.0)
        self.zeta = QuantParam(channels, 0.0)
        self.beta = QuantParam(channels, 0.25, quant=Int8WeightFixedPoint)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.prelu(x - self.gamma(), self.beta().flatten()) + self.zeta()


class DyPReLU(nn.Module):
    """Dynamic RPReLU: ``PReLU_beta(x - (gamma + dgamma(x))) + (zeta + dzeta(x))``; one hyper function, 2C outputs."""

    def __init__(
        self, channels: int, hyper: HyperConfig = HyperConfig(), context: HyperContext | None = None
    ) -> None:
        super().__init__()
        self.channels = channels
        self.gamma = QuantParam(channels, 0.0)
        self.zeta = QuantParam(channels, 0.0)
        self.beta = QuantParam(channels, 0.25, quant=Int8WeightFixedPoint)
        self.hyper = HyperFunction(channels, 2 * channels, hyper, context)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = self.hyper(x).unsqueeze(-1).unsqueeze(-1)
        c = self.channels
        g = self.gamma() + d[:, :c]
        z = self.zeta() + d[:, c:]
        return F.prelu(x - g, self.beta().flatten()) + z


def fold_batchnorms(model: nn.Module) -> int:
    """Fold every :class:`FoldableBatchNorm2d` of ``model`` into its integer scale-bias form; returns the count."""
    n = 0
    for m in model.modules():
        if isinstance(m, FoldableBatchNorm2d) and not m.folded:
            m.fold()
            n += 1
    return n


def is_folded(model: nn.Module) -> bool:
    """True when every BatchNorm of ``model`` is in its integer scale-bias form (ready for export)."""
    return all(m.folded for m in model.modules() if isinstance(m, FoldableBatchNorm2d))
