"""QONNX export of dybnn models, with a check that float32 computes them exactly.

The golden model is the Brevitas model in ``eval()`` mode with every BatchNorm folded into its integer
scale-bias form. :func:`export_model` writes it as QONNX (``brevitas.export.export_qonnx`` then
``qonnx.util.cleanup.cleanup_model``), atomically. Before writing, :func:`check_exact_range` proves on a batch
that float32 computed every intermediate exactly (see below); :func:`compare_torch_qonnx` checks afterwards that
QONNX ``execute_onnx`` reproduces every quantizer output and the logits bit for bit.

Steps of an export::

    calibrate (random init only) -> fold BatchNorms -> eval -> range check -> export_qonnx -> cleanup -> replace

Metadata stored in the ONNX ``metadata_props`` (every value a JSON string; read them with
:func:`read_metadata`):

=======================  =================================================================
``dybnn_version``        version of the dybnn package that wrote the file
``model_name``           registry name (``dybnn-tiny``), or the class name
``input_shape``          ``[C, H, W]``
``num_classes``          number of logits
``batch``                the batch size the graph was exported with (execute at that batch)
``input_normalization``  ``{"mean": [...], "std": [...]}`` when known (else absent)
``dataset``              the training dataset's name, for a checkpoint (else absent)
=======================  =================================================================

**The float32 exactness check.** Every tensor on the real-valued path is a fixed-point number: an integer times
a power of two (per tensor, or per channel where the scales are per channel: binary weights, the folded
BatchNorm). Float32 represents such a number exactly as long as the integer has at most 24 significant bits
(``|t| / unit < 2**24``), and then adds and multiplies of such numbers are exact too. :func:`check_exact_range`
runs the model twice on the same input, once as is (float32) and once in float64 (Brevitas
quantizers work in float64: every power-of-two scale and every rounding is the same), with hooks on every module
of the model outside Brevitas' internals (inputs and outputs). For each distinct tensor it

1. computes on the float64 tensor, per channel, the finest power-of-two ``unit`` dividing every element and
   fails when ``max|t_c| / unit_c >= 2**24``; for reductions (convolutions, linear layers, the folded
   scale-bias, sum-pooling, average pooling) it uses the sum of absolute values of the terms, ``f(|x|, |W|)``,
   on the grid ``unit(x) * unit(W_c)``, which bounds every partial sum whatever order the kernel adds in;
2. compares the float32 tensor with the float64 one element by element and fails at the first difference.

It raises :class:`ExportRangeError` naming the module (``blocks.1.0.bn``), the tensor (input or output) and the
value. Not checked: the model input (the input quantizer's job). A tensor consumed only by binary quantizers
(tracked with a ``TorchFunctionMode``) matters only through its sign, and a single rounded IEEE ``a - b`` or
``a * x + b`` (with an exact product) always has the sign of the exact result: for those only the products are
checked (the folded BatchNorm before a sign in the FINN topologies has a 16-bit bias far finer than its output).
The check is empirical for that batch (the ranges are the observed ones), except for the reductions over a
feature map, whose sums grow with the map: for sum-pooling (:class:`~training.layers.GlobalSumShift`, which
requantizes every element to 8 bits first) and average pooling the bound is the worst case over every input,
from the bit width of the input's type alone (its quantizer: ``H*W*2**7`` units for the sum-pooling), so that
no calibration and no input can make them inexact (:func:`pooling_bounds` computes the same bounds from one
forward, without the float64 run). For convolutions, linear layers and the folded scale-bias the worst case
from the bit widths, scales and weights is reported (``TensorRange.static_units``), the observed bound checked.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from brevitas.core.scaling import ParameterFromRuntimeStatsScaling
from brevitas.nn import QuantConv2d, QuantLinear, QuantScaleBias
from brevitas.proxy import ActQuantProxyFromInjector, BiasQuantProxyFromInjector, WeightQuantProxyFromInjector
from torch import nn
from torch.overrides import TorchFunctionMode

from dybnn.outputs import atomic_write
from training.layers import (
    DyPReLU,
    FoldableBatchNorm2d,
    GlobalSumShift,
    RPReLU,
    Tanh32,
    fold_batchnorms,
)

#: File name of the exported model inside a run or checkpoint directory.
ONNX_NAME = "model.onnx"
#: float32 represents every integer of magnitude up to 2**24 exactly (24-bit significand).
FLOAT32_EXACT_UNITS = 2**24
#: Default number of calibration forwards for a randomly initialized model.
CALIB_STEPS = 8
#: Default batch size of the synthetic calibration batches.
CALIB_BATCH = 8
#: The same for an input above 3x64x64: at 224x224 a calibration forward of DyBNN-ReActNet-A costs ~35 s of CPU
#: per image (the quantizers' statistics and rounding over every activation), so two single images.
CALIB_STEPS_LARGE = 2
CALIB_BATCH_LARGE = 1
#: Per-sample input size (C*H*W) above which the large defaults apply.
LARGE_INPUT = 3 * 64 * 64

#: ``progress(stage, done, total)``: called by the long steps (calibration, the range check, the export) as
#: they advance; ``total`` None when unknown. Libraries never print progress themselves (the CLI renders it).
Progress = Callable[[str, int, "int | None"], None]


def calibration_defaults(model: nn.Module) -> tuple[int, int]:
    """``(steps, batch_size)`` of the default calibration for ``model``'s input size."""
    if math.prod(_input_shape(model)) > LARGE_INPUT:
        return CALIB_STEPS_LARGE, CALIB_BATCH_LARGE
    return CALIB_STEPS, CALIB_BATCH


_PROXIES = (ActQuantProxyFromInjector, WeightQuantProxyFromInjector, BiasQuantProxyFromInjector)


class ExportError(RuntimeError):
    """The model could not be exported (unwritable output, missing information)."""


class ExportRangeError(ExportError):
    """A tensor of the real-valued path is not exact in float32.

    Attributes:
        module: qualified name of the module whose input or output it is (``blocks.1.0.bn``).
        tensor: ``"output"`` or ``"input"``.
        value: the largest magnitude of the tensor (or of its accumulator bound).
        units: ``value`` in units of the tensor's fixed-point grid (``None`` for a float32/float64 mismatch).
    """

    def __init__(self, message: str, module: str, tensor: str, value: float, units: float | None) -> None:
        super().__init__(message)
        self.module = module
        self.tensor = tensor
        self.value = value
        self.units = units


# --------------------------------------------------------------------------------------------------------------
# Calibration


def _stats_scalings(model: nn.Module) -> list[ParameterFromRuntimeStatsScaling]:
    return [m for m in model.modules() if isinstance(m, ParameterFromRuntimeStatsScaling)]


def needs_calibration(model: nn.Module) -> bool:
    """True when some fixed-point activation scale has never seen a training-mode forward (random init).

    Such a scale would export as its initial value (1.0), i.e. a meaningless range.
    """
    return any(s.counter == 0 for s in _stats_scalings(model))


def _input_shape(model: nn.Module) -> tuple[int, ...]:
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise ExportError("the model has no input_shape attribute; build it with training.models.build_model")
    return tuple(int(s) for s in shape)


def synthetic_inputs(model: nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` standard-normal images of ``model.input_shape`` (the input distribution of a normalized dataset)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *_input_shape(model), generator=g)


def _as_input(batch) -> torch.Tensor:
    if isinstance(batch, torch.Tensor):
        return batch
    if isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        return batch[0]
    if isinstance(batch, Mapping):
        for key in ("x", "input", "image", "images"):
            if isinstance(batch.get(key), torch.Tensor):
                return batch[key]
    raise TypeError(f"cannot take an input tensor from a calibration batch of type {type(batch).__name__}")


def _calib_batches(model: nn.Module, data, steps: int, batch_size: int, seed: int) -> Iterator[torch.Tensor]:
    if data is None:
        for i in range(steps):
            yield synthetic_inputs(model, batch_size, seed + i)
        return
    if isinstance(data, torch.Tensor):
        chunks = data.split(max(1, math.ceil(len(data) / steps)))
        for i in range(steps):
            yield chunks[i % len(chunks)]
        return
    if not isinstance(data, Iterable):
        raise TypeError(
            f"calibration data must be a tensor or an iterable of batches, got {type(data).__name__}"
        )
    done = 0
    while done < steps:
        before = done
        for batch in data:
            yield _as_input(batch)
            done += 1
            if done == steps:
                return
        if done == before:  # an empty or exhausted one-shot iterator
            return


@torch.no_grad()
def calibrate(
    model: nn.Module,
    data: torch.Tensor | Iterable | None = None,
    steps: int | None = None,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> nn.Module:
    """Set the fixed-point activation scales and the BatchNorm statistics from ``steps`` forwards.

    Every Brevitas ``PARAMETER_FROM_STATS`` activation scale is reset and collects the true average of its
    per-batch statistic (99.999th percentile of ``|x|``) over the ``steps`` training-mode forwards, then its
    learned ``value`` is initialized from it (Brevitas' ``init_scale``, as at the end of the collection phase of
    training) and it is a learnable power-of-two scale from then on. Unfolded BatchNorms get cumulative-average
    running statistics over the same batches. Binary and weight quantizers need nothing.

    This is for randomly initialized models (and post-training recalibration): it overwrites learned scales.
    ``brevitas.graph.calibrate.calibration_mode`` is not used because it disables every act and weight quantizer
    while collecting, i.e. calibrates the float network, not the binary one.

    Args:
        data: a tensor (split into ``steps`` chunks), an iterable of batches (tensors or ``(x, y)`` tuples;
            re-iterated if it has fewer than ``steps`` batches), or ``None`` for standard-normal images of
            ``model.input_shape``.
        steps: number of forwards (default :func:`calibration_defaults`).
        batch_size / seed: of the synthetic batches (default :func:`calibration_defaults`).
        progress: called as ``progress("calibrate", done, steps)`` after every forward.

    Returns:
        ``model``, in the train/eval mode it had.
    """
    d_steps, d_batch = calibration_defaults(model) if steps is None or batch_size is None else (0, 0)
    steps = d_steps if steps is None else steps
    batch_size = d_batch if batch_size is None else batch_size
    if steps < 1:
        raise ValueError(f"calibration needs at least one step, got {steps}")
    scalings = _stats_scalings(model)
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(s.collect_stats_steps, s.momentum) for s in scalings]
    saved_bn = [bn.momentum for bn in bns]
    was_training = model.training
    try:
        for s in scalings:
            s.counter = 0
            s.buffer.fill_(1.0)
            s.value.fill_(1.0)  # init_scale multiplies value by the collected statistic
            s.collect_stats_steps = steps + 1
            s.momentum = None  # a true average, not an EMA
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        model.train()
        n = 0
        if progress is not None:
            progress("calibrate", 0, steps)
        for x in _calib_batches(model, data, steps, batch_size, seed):
            model(x)
            n += 1
            if progress is not None:
                progress("calibrate", n, steps)
        if n == 0:
            raise ValueError("calibration data yielded no batch")
        for s in scalings:
            s.init_scale()
    finally:
        for s, (stats_steps, momentum) in zip(scalings, saved, strict=True):
            s.collect_stats_steps = stats_steps
            s.momentum = momentum
            if s.counter > 0:
                s.counter = stats_steps + 1  # learned-parameter phase
        for bn, momentum in zip(bns, saved_bn, strict=True):
            bn.momentum = momentum
        model.train(was_training)
    return model


@torch.no_grad()
def prepare_for_export(model: nn.Module) -> nn.Module:
    """Fold every BatchNorm into its integer scale-bias form (if not yet) and put the model in ``eval()``.

    The folded scale-bias quantizers (8-bit per-channel PoT scale, 16-bit bias with its own scale) compute their
    scales from the parameters on every call, so they need no calibration; this checks that they give finite,
    power-of-two scales.
    """
    for name, m in model.named_modules():
        proxy = getattr(m, "weight_quant", None)
        if isinstance(proxy, WeightQuantProxyFromInjector) and getattr(proxy, "disable_quant", False):
            raise ExportError(
                f"{name}: weight quantization is disabled (training step 1, real weights); "
                "export a model trained through step 2 (binary weights) or later"
            )
    fold_batchnorms(model)
    model.eval()
    for name, m in model.named_modules():
        if isinstance(m, FoldableBatchNorm2d):
            for what, q in (("scale", m.affine.quant_weight()), ("bias", m.affine.quant_bias())):
                scale = q.scale.detach().double()
                log2 = torch.log2(scale)
                if not bool(torch.isfinite(q.value).all()) or not bool((log2 == log2.round()).all()):
                    raise ExportError(
                        f"{name}: folded {what} quantizer gives an invalid scale {scale.flatten()}"
                    )
    return model


# --------------------------------------------------------------------------------------------------------------
# Float32 exactness

_NO_GRID = 1 << 30  # exponent stand-in for a zero element (divisible by every power of two)


def _lowbit_exponents(t: torch.Tensor) -> torch.Tensor:
    """Per element, ``e`` such that ``2**e`` is the largest power of two dividing it (``_NO_GRID`` for zeros).

    Works on the exact binary representation: ``t = m * 2**k`` with an integer ``m`` of at most 53 bits, whose
    trailing zero bits raise the exponent.
    """
    t = t.detach().to(torch.float64)
    mant, exp = torch.frexp(t)  # t = mant * 2**exp, 0.5 <= |mant| < 1
    m = torch.ldexp(mant, torch.tensor(53, dtype=torch.int32)).to(torch.int64)  # exact integer, |m| < 2**53
    low = m & -m  # lowest set bit, a power of two
    trailing = torch.frexp(low.to(torch.float64))[1].to(torch.int64) - 1
    e = exp.to(torch.int64) - 53 + trailing
    return torch.where(t == 0, torch.full_like(e, _NO_GRID), e)


def grid_exponent(t: torch.Tensor) -> int | None:
    """``e`` such that ``2**e`` is the largest power of two dividing every element of ``t``; None if all zero."""
    if t.numel() == 0:
        return None
    e = int(_lowbit_exponents(t).min())
    return None if e == _NO_GRID else e


def _per_channel(t: torch.Tensor) -> torch.Tensor:
    """``t`` as ``(C, -1)``: channel (dim 1) first; a 0-d or 1-d tensor is one channel."""
    if t.dim() < 2:
        return t.reshape(1, -1)
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def _channel_units(value: torch.Tensor, grid: torch.Tensor) -> tuple[float, float, int | None]:
    """Largest ``max|value_c| / 2**grid_c`` over channels; returns (units, max|value| there, grid exponent)."""
    vmax = _per_channel(value.abs()).amax(dim=1)
    ok = (grid != _NO_GRID) & (vmax > 0)
    if not bool(ok.any()):
        return 0.0, 0.0, None
    units = torch.where(
        ok, torch.ldexp(vmax, -grid.clamp(-1000, 1000).to(torch.int32)), torch.zeros_like(vmax)
    )
    c = int(units.argmax())
    return float(units[c]), float(vmax[c]), int(grid[c])


def _element_units(t: torch.Tensor) -> tuple[float, float, int | None]:
    """Largest ``|t_i| / 2**e_i`` over elements, ``2**e_i`` the finest power of two dividing ``t_i`` (its own
    significant bits); returns (units, |t_i| there, e_i)."""
    e = _lowbit_exponents(t).reshape(-1)
    v = t.detach().double().abs().reshape(-1)
    ok = e != _NO_GRID
    if not bool(ok.any()):
        return 0.0, 0.0, None
    u = torch.where(ok, torch.ldexp(v, -e.clamp(-1000, 1000).to(torch.int32)), torch.zeros_like(v))
    i = int(u.argmax())
    return float(u[i]), float(v[i]), int(e[i])


def _channel_grid(t: torch.Tensor) -> torch.Tensor:
    return _per_channel(_lowbit_exponents(t)).amin(dim=1)


def _quant_value(q) -> torch.Tensor:
    return q.value if hasattr(q, "value") else q


def _accumulator_bound(
    m: nn.Module, x: torch.Tensor, out: torch.Tensor, with_bias: bool = True
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(sum of |terms|, per-channel grid exponent)`` of a reduction ``out = sum_k x_k w_k + b``, else None.

    The sum of absolute values of the terms bounds every partial sum, whatever order the kernel adds in; the
    terms lie on the grid ``unit(x) * unit(w_c)`` (and the bias on its own; ``with_bias=False`` leaves it out).
    """
    ex = grid_exponent(x)
    if ex is None:
        return None
    if isinstance(m, GlobalSumShift):
        p = _tensors(m.pre_q.act_quant(x))[0]  # the proxy, not the hooked layer (the hooks count events)
        return p.abs().sum(dim=(2, 3)), _channel_grid(p)
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            return None
        s = F.avg_pool2d(x.abs(), m.kernel_size, m.stride, m.padding, m.ceil_mode, True, divisor_override=1)
        return s, _channel_grid(x)
    if isinstance(m, (QuantConv2d, QuantLinear)):
        if isinstance(m, QuantConv2d) and m.padding_mode != "zeros":
            return None
        w = _quant_value(m.quant_weight())
        if isinstance(m, QuantConv2d):
            conv = lambda a, b: F.conv2d(a, b, None, m.stride, m.padding, m.dilation, m.groups)  # noqa: E731
        else:
            conv = lambda a, b: F.linear(a, b)  # noqa: E731
        bias = out - conv(x, w)  # exact in float64 when the check passes
        bound = conv(x.abs(), w.abs())
        wgrid = _lowbit_exponents(w).reshape(w.shape[0], -1).amin(dim=1)
    elif isinstance(m, QuantScaleBias):
        w = _quant_value(m.quant_weight()).view(m.runtime_shape)
        bias = out - x * w
        bound = x.abs() * w.abs()
        wgrid = _channel_grid(w)
    else:
        return None
    if not with_bias:
        return bound, wgrid + ex
    return bound + bias.abs(), torch.minimum(wgrid + ex, _channel_grid(bias))


@dataclass
class _Static:
    """A worst-case bound of a tensor known from the model alone (bit widths, scales, weights), per channel:
    ``|t_c| <= bound[c]`` for every input, on the grid ``2**grid[c]`` (``ref`` keeps the tensor alive)."""

    ref: torch.Tensor
    bound: torch.Tensor
    grid: torch.Tensor


def _act_static(m: nn.Module, t: torch.Tensor) -> _Static | None:
    """The type of a fixed-point (or binary) activation quantizer's output: ``|t| <= maxint * scale``."""
    q = getattr(m, "act_quant", None)
    if not isinstance(q, ActQuantProxyFromInjector) or not q.is_quant_enabled:
        return None
    scale = q.scale()
    bw = q.bit_width()
    if scale is None or bw is None or scale.numel() != 1 or t.dim() < 2:
        return None
    bits = int(bw)
    signed = bool(q.is_signed) if bits > 1 else True
    maxint = 1 if bits == 1 else (2 ** (bits - 1) if signed else 2**bits - 1)
    sc = float(scale)
    g = grid_exponent(torch.tensor([sc], dtype=torch.float64))
    if g is None or 2.0**g != sc:
        return None
    c = t.shape[1]
    return _Static(
        t, torch.full((c,), maxint * sc, dtype=torch.float64), torch.full((c,), g, dtype=torch.int64)
    )


def _static_bound(
    m: nn.Module, x: _Static, out: torch.Tensor, with_bias: bool = True
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(bound, grid)`` per output channel of a reduction ``out = sum_k x_k w_k + b`` from the input's static
    type ``x`` (worst case over every input, not the observed one); None for other modules.

    Sum-pooling (:class:`~training.layers.GlobalSumShift`) adds ``H*W`` elements of its 8-bit ``pre_q`` type;
    average pooling ``k`` of ``x``; a convolution or linear layer ``sum_k |x|max |w_ck|`` (zero padding only
    drops terms) plus the bias; the folded scale-bias ``|x|max |a_c| + |b_c|``.
    """
    if isinstance(m, GlobalSumShift):
        pre = _act_static(m.pre_q, out)
        if pre is None:
            return None
        return pre.bound * (x.ref.shape[2] * x.ref.shape[3]), pre.grid
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            return None
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
        return x.bound * (k[0] * k[1]), x.grid
    if isinstance(m, (QuantConv2d, QuantLinear)):
        if isinstance(m, QuantConv2d) and (m.padding_mode != "zeros" or m.groups != 1):
            return None
        w = _quant_value(m.quant_weight()).double()
        wa = w.abs().reshape(w.shape[0], w.shape[1], -1)  # (Cout, Cin, K)
        if wa.shape[1] != x.bound.numel():
            return None
        bound = (wa.sum(dim=2) * x.bound.view(1, -1)).sum(dim=1)
        wgrid = _lowbit_exponents(w).reshape(w.shape[0], -1).amin(dim=1)
        grid = wgrid + x.grid.min()
        b = getattr(m, "bias", None)
        if with_bias and b is not None:
            qb = _quant_value(m.quant_bias()).double().reshape(-1)
            bound = bound + qb.abs()
            grid = torch.minimum(grid, _lowbit_exponents(qb))
        return bound, grid
    if isinstance(m, QuantScaleBias):
        a = _quant_value(m.quant_weight()).double().reshape(-1)
        if a.numel() != x.bound.numel():
            return None
        bound = x.bound * a.abs()
        grid = x.grid + _lowbit_exponents(a)
        if with_bias and m.bias is not None:
            qb = _quant_value(m.quant_bias()).double().reshape(-1)
            bound = bound + qb.abs()
            grid = torch.minimum(grid, _lowbit_exponents(qb))
        return bound, grid
    return None


#: reductions over a feature map: checked with their worst case over every input (their size grows with the map)
_POOLING = (GlobalSumShift, nn.AvgPool2d)

#: modules whose output is the union of two fixed-point types (PReLU: ``x - g`` where positive, ``(x - g)*beta``
#: on a finer grid elsewhere): their output is measured element by element, not on the channel's finest grid
_TWO_BRANCH = (RPReLU, DyPReLU)

#: modules whose output has the type of their input (a maximum, a reshape)
_PASS_THROUGH = (nn.MaxPool2d, nn.Identity, nn.Flatten)


def _is_binary_act(m: nn.Module) -> bool:
    q = getattr(m, "act_quant", None)
    if not isinstance(q, ActQuantProxyFromInjector) or not q.is_quant_enabled:
        return False
    bw = q.bit_width()
    return bw is not None and float(bw) == 1.0


def _hooked_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every module of the model that is not inside a Brevitas layer (whose submodules compute scales)."""
    out, brevitas_layers = [], set()
    for name, m in model.named_modules():
        parts = name.split(".")
        if any(".".join(parts[:i]) in brevitas_layers for i in range(1, len(parts))):
            continue
        if type(m).__module__.startswith("brevitas"):
            brevitas_layers.add(name)
        if isinstance(m, (nn.ModuleList, nn.ModuleDict)):
            continue
        out.append((name or "<model>", m))
    return out


def _tensors(obj) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if hasattr(obj, "value") and isinstance(obj.value, torch.Tensor):  # a Brevitas QuantTensor
        return [obj.value]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _tensors(o)]
    return []


@dataclass(frozen=True)
class TensorRange:
    """Range of one checked tensor: ``max_abs`` in units of its power-of-two grid (float32 needs < 2**24).

    ``units`` is the largest over channels of ``max|t_c| / unit_c`` (or of the accumulator bound, for reductions).
    """

    module: str
    tensor: str
    shape: tuple[int, ...]
    max_abs: float
    units: float
    #: float32 gave the same values as float64 on the checked input
    exact: bool = True
    #: consumed only by binary quantizers: ``units`` bounds the products only (their sign is what matters)
    sign_only: bool = False
    #: a reduction (convolution, linear layer, scale-bias, pooling): ``units`` bounds its accumulator
    reduction: bool = False
    #: ``units`` is the worst case over every input (a pooling: from the bit widths of its input type), not
    #: the checked batch's
    static: bool = False
    #: a reduction's worst case over every input (input type, scales, weights), where the analysis knows its
    #: input type; checked for the poolings (then ``units``), reported for the matrix units and scale-biases
    static_units: float | None = None

    @property
    def static_bits(self) -> float | None:
        """Significant bits of the worst case (``static_units``), when known."""
        if self.static_units is None:
            return None
        return math.log2(self.static_units) if self.static_units > 0 else 0.0

    @property
    def bits(self) -> float:
        """Significant bits the tensor needs (float32 has 24)."""
        return math.log2(self.units) if self.units > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.exact and self.units < FLOAT32_EXACT_UNITS


@contextlib.contextmanager
def _hooks(targets: list[tuple[str, nn.Module]], on_tensor, enter=None, leave=None) -> Iterator[None]:
    """Call ``on_tensor(name, module, kind, tensor, module_input)`` for every tensor input and output, and
    ``enter(module)`` / ``leave(module)`` around every forward."""
    handles = []

    def pre(name, module):
        def hook(_m, args):
            for t in _tensors(args[0]) if args else []:
                on_tensor(name, module, "input", t, None)
            if enter is not None:
                enter(module)

        return hook

    def post(name, module):
        def hook(_m, args, output):
            if leave is not None:
                leave(module)
            ins = _tensors(args[0]) if args else []
            for t in _tensors(output):
                on_tensor(name, module, "output", t, ins[0] if ins else None)

        return hook

    try:
        for name, m in targets:
            handles.append(m.register_forward_pre_hook(pre(name, m)))
            handles.append(m.register_forward_hook(post(name, m)))
        yield
    finally:
        for h in handles:
            h.remove()


class _SignOnlyTracker(TorchFunctionMode):
    """Notes, for every hooked tensor, whether only binary quantizers consume it (as a torch-function argument).

    Consumption is attributed to the innermost hooked module running: Brevitas internals are not hooked, so the
    ops inside a binary quantizer count for it; ops in a parent's ``forward`` (``bn(conv(b)) + x``) for the parent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per running hooked module: is it a binary quantizer
        self.hooked: set[int] = set()
        self.binary_only: dict[int, bool] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        binary = bool(self.stack) and self.stack[-1]
        for a in _flat(args) + _flat(list(kwargs.values())):
            if isinstance(a, torch.Tensor) and id(a) in self.hooked:
                self.binary_only[id(a)] = self.binary_only.get(id(a), True) and binary
        return func(*args, **kwargs)


def _flat(items) -> list:
    out = []
    for a in items:
        if isinstance(a, (list, tuple)):
            out += _flat(a)
        else:
            out.append(a)
    return out


@torch.no_grad()
def check_exact_range(
    model: nn.Module, x: torch.Tensor, strict: bool = True, *, progress: Progress | None = None
) -> list[TensorRange]:
    """Prove on ``x`` that float32 computes every intermediate of ``model`` (in its current mode) exactly.

    See the module docstring for the method. A tensor is on a per-channel power-of-two grid (per-channel scales
    are part of the fixed-point design: binary weight scales, the folded BatchNorm scale), so the range is
    measured per channel. Not checked: the model input. A tensor consumed only by binary quantizers needs only
    exact products (a single rounded ``a - b`` or ``a * x + b`` with an exact ``a * x`` keeps the sign of the
    exact result); that is checked, and its binary outputs are compared with float64's.
    The model should be in its deployed form (folded, ``eval()``): a float BatchNorm is not on a fixed-point grid.

    Args:
        strict: raise at the first failure; with ``False`` return every range (failures have ``ok == False``).
        progress: called as ``progress("check", done, total)`` over the hooked tensors of the float64 run.

    Returns:
        the range of every checked tensor in execution order (``bits`` shows the headroom).

    Raises:
        ExportRangeError: at the first tensor (in execution order) that is not exact in float32.
    """
    x = x.detach().to(torch.float32)
    # float32 pass: keep every hooked tensor alive (so that ids stay unique) and note who consumes it
    events: list[tuple[str, str, torch.Tensor]] = []
    tracker = _SignOnlyTracker()

    def record(name, module, kind, t, _inp):
        events.append((name, kind, t))
        tracker.hooked.add(id(t))

    def enter(module):
        tracker.stack.append(_is_binary_act(module))

    def leave(module):
        tracker.stack.pop()

    with _hooks(_hooked_modules(model), record, enter, leave), tracker:
        model(x)
    # each tensor once, named after its producer (the first event that sees it); a view of the model input
    # (flatten) is the input too
    mode, seen = [], set()
    for _, _, t in events:
        is_input = t.data_ptr() == x.data_ptr() and t.numel() == x.numel()
        if id(t) in seen or is_input or not t.is_floating_point():
            mode.append("skip")
        else:
            mode.append("sign" if tracker.binary_only.get(id(t), False) else "full")
        seen.add(id(t))

    ranges: list[TensorRange] = []
    position = iter(range(len(events)))

    report_every = max(1, len(events) // 50)

    def check(name, module, kind, t, inp):
        i = next(position, None)
        if progress is not None and i is not None and (i % report_every == 0 or i == len(events) - 1):
            progress("check", i + 1, len(events))
        if i is None or events[i][:2] != (name, kind) or events[i][2].shape != t.shape:
            raise RuntimeError(f"the float64 shadow diverged from the float32 run at {name} {kind}")
        sign_only = mode[i] == "sign"
        sb = None
        if kind == "output":
            xs = _lookup(statics, inp) if inp is not None else None
            if xs is None and isinstance(module, GlobalSumShift) and inp is not None:
                xs = _Static(inp, torch.zeros(0), torch.zeros(0))  # its bound needs only the map size
            sb = _static_bound(module, xs, t, with_bias=not sign_only) if xs is not None else None
            st = _act_static(module, t)
            if st is None and xs is not None and isinstance(module, _PASS_THROUGH):
                st = _Static(t, xs.bound, xs.grid)
            if st is None and sb is not None and t.dim() >= 2 and not sign_only:
                st = _Static(t, *sb)
            if st is not None and id(t) not in statics:
                statics[id(t)] = st
        if mode[i] == "skip":
            return
        t32 = events[i][2]
        where = f"{name} ({kind})"
        if not bool(torch.isfinite(t).all()):
            raise ExportRangeError(f"{where}: non-finite values", name, kind, float("nan"), None)
        max_abs = float(t.abs().max()) if t.numel() else 0.0
        if isinstance(module, Tanh32):
            # an unavoidable float function (docs/numerics.md): evaluated in float32 in both runs, it must feed a quantizer
            if kind == "output":
                exact = bool(torch.equal(t32.to(torch.float64), t))
                ranges.append(TensorRange(name, kind, tuple(t.shape), max_abs, 0.0, exact, False))
                if strict and not exact:
                    raise ExportRangeError(f"{where}: float32 tanh differs from the shadow run", name, kind,
                                           max_abs, None)  # fmt: skip
            return
        # a tensor that only feeds binary quantizers needs exact products; then one rounding keeps the sign
        if sign_only:
            units, value, grid = 0.0, 0.0, None
        elif isinstance(module, _TWO_BRANCH):
            units, value, grid = _element_units(t)
        else:
            units, value, grid = _channel_units(t, _channel_grid(t))
        what = "|value|"
        bound = None
        static_units = _channel_units(sb[0].view(1, -1), sb[1])[0] if sb is not None else None
        # a pooling is checked with its worst case; so is any reduction whose worst case is exact (a proof for
        # every input, and the observed bound is not needed)
        static = sb is not None and (isinstance(module, _POOLING) or static_units < FLOAT32_EXACT_UNITS)
        if static:
            bound, what = (sb[0].view(1, -1), sb[1]), "worst-case accumulator bound (from the bit widths)"
        elif kind == "output" and inp is not None:
            bound = _accumulator_bound(module, inp, t, with_bias=not sign_only)
            what = "accumulator bound sum|x*w| (observed)"
        reduction = bound is not None
        if bound is not None:
            b_units, b_value, b_grid = _channel_units(*bound)
            if b_units > units or static:
                units, value, grid = b_units, b_value, b_grid
        exact = sign_only or bool(torch.equal(t32.to(torch.float64), t))
        ranges.append(
            TensorRange(
                name, kind, tuple(t.shape), max_abs, units, exact, sign_only, reduction, static, static_units
            )
        )
        if not strict:
            return
        if units >= FLOAT32_EXACT_UNITS:
            raise ExportRangeError(
                f"{where}: {what} {value:.9g} is {units:.6g} units of 2^{grid}, beyond float32's exact integer "
                f"range 2^24 (needs {math.log2(units):.1f} bits); requantize it to a narrower fixed-point type",
                name,
                kind,
                value,
                units,
            )
        if not exact:
            diff = t32.to(torch.float64) != t
            d = float((t32.to(torch.float64) - t).abs().max())
            raise ExportRangeError(
                f"{where}: float32 differs from the exact (float64) result in {int(diff.sum())}/{t.numel()} "
                f"elements (max |diff| {d:.3g}, max |value| {max_abs:.9g})",
                name,
                kind,
                max_abs,
                None,
            )

    statics: dict[int, _Static] = {}
    with _as_float64(model) as shadow, _hooks(_hooked_modules(shadow), check):
        shadow(x.double())
    return ranges


@contextlib.contextmanager
def _as_float64(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with every floating parameter and buffer in float64, restored to its dtype afterwards (exact:
    float32 -> float64 -> float32 round-trips). In place: a deep copy of a Brevitas model costs seconds."""
    saved = [(t, t.data) for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point()]
    try:
        for t, d in saved:
            t.data = d.to(torch.float64)
        yield model
    finally:
        for t, d in saved:
            t.data = d


@torch.no_grad()
def pooling_bounds(model: nn.Module, x: torch.Tensor | None = None) -> list[TensorRange]:
    """The worst case over every input of each reduction over a feature map of ``model`` (sum-pooling,
    average pooling), from the bit widths of its input type alone, as :func:`check_exact_range` checks it.

    One float32 forward (on ``x``, default one standard-normal image of ``model.input_shape``) only shows the
    module graph and the map sizes: the bounds do not depend on the values, and hold whatever the calibration.
    A pooling whose input type is unknown (not a quantizer's output) is returned with ``static=False`` and
    ``units = inf``. Cheap enough to check every registry model at its native size in the fast tests.
    """
    if x is None:
        x = synthetic_inputs(model, 1)
    statics: dict[int, _Static] = {}
    out: list[TensorRange] = []

    def on_tensor(name, module, kind, t, inp):
        if kind != "output":
            return
        xs = _lookup(statics, inp) if inp is not None else None
        st = _act_static(module, t)
        if st is None and xs is not None and isinstance(module, _PASS_THROUGH):
            st = _Static(t, xs.bound, xs.grid)
        if st is not None and id(t) not in statics:
            statics[id(t)] = st
        if not isinstance(module, _POOLING) or id(t) in statics:
            return
        if xs is None and isinstance(module, GlobalSumShift) and inp is not None:
            xs = _Static(inp, torch.zeros(0), torch.zeros(0))
        sb = _static_bound(module, xs, t) if xs is not None else None
        units = _channel_units(sb[0].view(1, -1), sb[1])[0] if sb is not None else math.inf
        out.append(TensorRange(name, kind, tuple(t.shape), math.nan, units, True, False, True, sb is not None,
                               None if sb is None else units))  # fmt: skip
        statics[id(t)] = _Static(t, *sb) if sb is not None else _Static(t, torch.zeros(0), torch.zeros(0))

    was_training = model.training
    model.eval()
    try:
        with _hooks(_hooked_modules(model), on_tensor):
            model(x.detach().to(torch.float32))
    finally:
        model.train(was_training)
    return out


def _lookup(statics: dict[int, _Static], t: torch.Tensor) -> _Static | None:
    """The static type of ``t``, also through a view (``torch.flatten`` of an ``(N, C, H, W)`` tensor)."""
    st = statics.get(id(t))
    if st is not None:
        return st
    for st in statics.values():
        r = st.ref
        if r.data_ptr() == t.data_ptr() and r.numel() == t.numel() and r.dim() == 4 and t.dim() == 2:
            k = r.shape[2] * r.shape[3]
            return _Static(t, st.bound.repeat_interleave(k), st.grid.repeat_interleave(k))
    return None


# --------------------------------------------------------------------------------------------------------------
# Export


def dybnn_version() -> str:
    try:
        from importlib.metadata import version

        return version("dybnn")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


def _metadata(model: nn.Module, batch: int, extra: Mapping[str, object] | None) -> dict[str, str]:
    meta: dict[str, object] = {
        "dybnn_version": dybnn_version(),
        "model_name": getattr(model, "model_name", type(model).__name__),
        "input_shape": list(_input_shape(model)),
        "num_classes": getattr(model, "num_classes", None),
        "batch": batch,
    }
    norm = getattr(model, "input_normalization", None)
    if norm is not None:
        meta["input_normalization"] = norm
    meta.update(extra or {})
    return {k: json.dumps(v) for k, v in meta.items() if v is not None}


def read_metadata(model_or_path: str | os.PathLike | onnx.ModelProto) -> dict[str, object]:
    """The dybnn metadata of an exported file, JSON-decoded (``{"batch": 100, "input_shape": [1, 28, 28], ...}``)."""
    m = model_or_path if isinstance(model_or_path, onnx.ModelProto) else onnx.load(os.fspath(model_or_path))
    out: dict[str, object] = {}
    for p in m.metadata_props:
        try:
            out[p.key] = json.loads(p.value)
        except json.JSONDecodeError:
            out[p.key] = p.value
    return out


def _writable_dir(d: Path) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create output directory {d}: {e.strerror or e}") from None
    if not os.access(d, os.W_OK):
        raise ExportError(f"cannot write to output directory {d}: permission denied")


def _remove(*paths: Path) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def export_model(
    model: nn.Module,
    out_path: str | os.PathLike,
    batch: int = 1,
    calib_data: torch.Tensor | Iterable | None = None,
    dynamo: bool = False,
    *,
    metadata: Mapping[str, object] | None = None,
    calib_steps: int | None = None,
    check_samples: int | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Path:
    """Export ``model`` as QONNX to ``out_path`` (atomically) and return the path.

    Calibrates first if the model was never run in training mode (:func:`needs_calibration`), folds its
    BatchNorms and puts it in ``eval()`` (in place: the model is in its deployed form afterwards), checks float32
    exactness (:func:`check_exact_range`) on ``check_samples`` inputs (the first calibration batch, else
    standard-normal images), exports with ``brevitas.export.export_qonnx`` at batch ``batch`` to a temporary
    file in the output directory, runs ``qonnx.util.cleanup.cleanup_model``, stores the metadata and renames the
    file over ``out_path``. On any error no partial file remains and an existing ``out_path`` is untouched.

    Args:
        batch: batch size of the graph. Execute it at that batch (``cleanup_model(override_inpsize=...)``
            breaks shape inference on these graphs).
        dynamo: use the torch.export (dynamo) exporter instead of TorchScript; slower, same graph semantics.
        metadata: extra metadata entries (JSON-serializable values), e.g. ``input_normalization``.
        calib_steps: forwards of the calibration when one is needed (default :func:`calibration_defaults`).
        progress: ``progress(stage, done, total)`` for the stages ``calibrate``, ``check`` and ``export``.
        check_samples: inputs of the range check (default 4, 1 above 3x64x64: the check keeps every
            intermediate of both runs, ~1.6 GB for ReActNet-A at 224x224).

    Raises:
        ExportError: the output directory cannot be created or written (one line, naming the path).
        ExportRangeError: the model is not exact in float32.
    """
    from brevitas.export import export_qonnx
    from qonnx.core.modelwrapper import ModelWrapper

    out_path = Path(out_path)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if out_path.is_dir():
        raise ExportError(
            f"output path {out_path} is a directory; give a file name such as {out_path / ONNX_NAME}"
        )
    out_dir = out_path.parent
    _writable_dir(out_dir)

    if needs_calibration(model):
        calibrate(model, calib_data, calib_steps, seed=seed, progress=progress)
    prepare_for_export(model)
    if check_samples is None:
        check_samples = 4 if math.prod(_input_shape(model)) <= 3 * 64 * 64 else 1
    xs = None
    if calib_data is not None:
        xs = next(_calib_batches(model, calib_data, 1, check_samples, seed), None)
    xs = synthetic_inputs(model, check_samples, seed) if xs is None else xs[:check_samples]
    check_exact_range(model, xs, progress=progress)

    example = synthetic_inputs(model, batch, seed)
    step = (lambda i: progress("export", i, 3)) if progress is not None else (lambda i: None)  # noqa: E731
    side: Path | None = None  # the dynamo exporter writes weights to a side file next to the temporary one
    try:
        with atomic_write(out_path) as tmp:  # the project's one atomic-write helper (dybnn.outputs)
            side = tmp.with_name(tmp.name + ".data")
            step(0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                export_qonnx(model, args=example, export_path=str(tmp), dynamo=dynamo)
                step(1)
                mw = cleanup_model(ModelWrapper(str(tmp)))
                step(2)
            props = {p.key: p.value for p in mw.model.metadata_props}
            props.update(_metadata(model, batch, metadata))
            onnx.helper.set_model_props(mw.model, props)
            onnx.save(mw.model, str(tmp))  # every tensor inline (the models are far below 2 GB)
        step(3)
    except OSError as e:
        raise ExportError(f"cannot write {out_path}: {e.strerror or e}") from e
    finally:
        if side is not None:
            _remove(side)
    model.eval()
    return out_path


#: QONNX quantizer nodes that cleanup keeps (``cleanup_model(preserve_qnt_ops=True)``).
_PRESERVED_OPS = ("Quant", "BipolarQuant", "QuantizeLinear", "DequantizeLinear")


def _fold_constants(mw):
    """qonnx ``FoldConstants`` in one pass: the same per-node execution, but in graph order and with one shape
    inference at the end. qonnx folds one node per pass and re-infers shapes after each (quadratic: 20+ s for a
    400-node DyBNN graph); afterwards ``cleanup_model`` finds nothing left to fold and gives the same graph.
    """
    from qonnx.core import onnx_exec as oxe
    from qonnx.transformation.infer_shapes import InferShapes

    mw = mw.transform(InferShapes())
    opset = mw.model.opset_import[0].version
    ctx = mw.make_empty_exec_context()
    const = {i.name for i in mw.graph.initializer}
    folded = []
    for n in mw.graph.node:
        if n.op_type in _PRESERVED_OPS or len(n.output) != 1:
            continue
        const_shape = n.op_type == "Shape" and mw.get_tensor_shape(n.input[0]) is not None
        if not (all(i in const for i in n.input) or const_shape):
            continue
        for i in n.input:
            mw.get_tensor_shape(i, fix_missing_init_shape=True)
        oxe.execute_node(n, ctx, mw.graph, opset_version=opset)
        mw.set_initializer(n.output[0], ctx[n.output[0]])
        const.add(n.output[0])
        folded.append(n)
    for n in folded:
        mw.graph.node.remove(n)
    return mw.transform(InferShapes()) if folded else mw


def cleanup_model(mw):
    """``qonnx.util.cleanup.cleanup_model`` with the quantizer nodes kept, after a fast constant folding."""
    from qonnx.util.cleanup import cleanup_model as qonnx_cleanup

    return qonnx_cleanup(_fold_constants(mw))


def export_random(
    name: str,
    out_dir: str | os.PathLike,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    seed: int = 0,
    cfg=None,
    *,
    batch: int = 1,
    calib_steps: int | None = None,
    calib_data: torch.Tensor | Iterable | None = None,
    dynamo: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Build the registered model ``name`` with random weights, calibrate it (on ``calib_data``, default
    synthetic standard-normal images), fold it and export it to ``out_dir/model.onnx``, with its checkpoint
    ``out_dir/checkpoint.pt`` (:func:`training.checkpoint.deployed_checkpoint`: the folded model as exported, so
    that ``dybnn verify out_dir`` also runs the PyTorch level). Both files are written atomically.

    The folded scale-bias quantizers derive their scales from their parameters, so the activation scales
    calibrated before folding stay valid (the folded model computes the same affine map up to its 8/16-bit
    quantization) and no second calibration is needed.
    """
    from training.checkpoint import CHECKPOINT_NAME, atomic_torch_save, deployed_checkpoint
    from training.models import ModelConfig, build_model

    ckpt_path = Path(out_dir) / CHECKPOINT_NAME
    if ckpt_path.exists() and not _is_random_init_checkpoint(ckpt_path):
        raise ExportError(
            f"{ckpt_path} exists and is not a random-init export's checkpoint (a training run?); "
            "choose another output directory"
        )
    cfg = cfg or ModelConfig()
    torch.manual_seed(seed)
    model = build_model(name, input_shape=input_shape, num_classes=num_classes, cfg=cfg)
    calibrate(model, calib_data, calib_steps, seed=seed, progress=progress)
    prepare_for_export(model)
    out = export_model(
        model, Path(out_dir) / ONNX_NAME, batch=batch, dynamo=dynamo, seed=seed, calib_data=calib_data,
        progress=progress,
    )  # fmt: skip
    origin = "random-init, calibrated on " + (
        "synthetic images" if calib_data is None else "the given images"
    )
    ckpt = deployed_checkpoint(model, cfg, seed=seed, origin=origin)
    try:
        atomic_torch_save(ckpt_path, ckpt)
    except OSError as e:
        raise ExportError(f"cannot write {ckpt_path}: {e.strerror or e}") from None
    return out


def _is_random_init_checkpoint(path: Path) -> bool:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: not ours to overwrite
        return False
    return isinstance(ckpt, dict) and str(ckpt.get("origin", "")).startswith("random-init")


def export_checkpoint(
    ckpt: str | os.PathLike,
    out_path: str | os.PathLike | None = None,
    *,
    batch: int = 1,
    dynamo: bool = False,
    progress: Progress | None = None,
) -> Path:
    """Export a training checkpoint (a run directory or checkpoint file) to ``DIR/model.onnx``.

    Uses ``training.train.load_checkpoint(dir_or_file) -> (model, meta)``; the input normalization (and dataset
    name) come from the checkpoint's dataset description (:func:`checkpoint_metadata`). A checkpoint of training
    step 1 (binary layers with real weights) is refused by :func:`prepare_for_export`.
    """
    from training.train import load_checkpoint  # lazily: the export module works without the training loop

    ckpt = Path(ckpt)
    model, meta = load_checkpoint(ckpt)
    if out_path is None:
        out_path = (ckpt if ckpt.is_dir() else ckpt.parent) / ONNX_NAME
    return export_model(
        model, out_path, batch=batch, dynamo=dynamo, metadata=checkpoint_metadata(meta), progress=progress
    )


def checkpoint_metadata(meta: Mapping[str, object]) -> dict[str, object]:
    """Export metadata from a checkpoint's ``meta``: the input normalization of its dataset, when recorded."""
    extra: dict[str, object] = {}
    norm = meta.get("input_normalization")
    data = meta.get("dataset")
    if norm is None and isinstance(data, Mapping) and "mean" in data and "std" in data:
        norm = {"mean": list(data["mean"]), "std": list(data["std"])}
        if "name" in data:
            extra["dataset"] = data["name"]
    if norm is not None:
        extra["input_normalization"] = norm
    return extra


# --------------------------------------------------------------------------------------------------------------
# PyTorch vs QONNX


@dataclass(frozen=True)
class SiteComparison:
    """One quantizer site (or the logits) compared between PyTorch and QONNX."""

    kind: str  # "activation" | "parameter" | "output"
    torch_site: str  # qualified name of the Brevitas quant proxy ("" for the logits)
    onnx_node: str  # QONNX node name (or graph output name)
    op_type: str  # Quant | BipolarQuant | output
    shape: tuple[int, ...]
    elements: int
    mismatches: int
    max_abs_diff: float


@dataclass
class ComparisonReport:
    """Result of :func:`compare_torch_qonnx`; ``ok`` when every site matched and nothing was left unpaired."""

    sites: list[SiteComparison] = field(default_factory=list)
    unmatched_torch: list[str] = field(default_factory=list)
    unmatched_onnx: list[str] = field(default_factory=list)

    @property
    def elements(self) -> int:
        return sum(s.elements for s in self.sites)

    @property
    def mismatches(self) -> int:
        return sum(s.mismatches for s in self.sites)

    @property
    def ok(self) -> bool:
        return (
            self.mismatches == 0 and not self.unmatched_torch and not self.unmatched_onnx and bool(self.sites)
        )

    def count(self, kind: str) -> int:
        return sum(1 for s in self.sites if s.kind == kind)

    def summary(self) -> str:
        lines = [
            f"{len(self.sites)} sites ({self.count('activation')} activation, {self.count('parameter')} parameter, "
            f"{self.count('output')} output), {self.elements} elements, {self.mismatches} mismatches"
        ]
        for s in self.sites:
            if s.mismatches:
                lines.append(
                    f"  MISMATCH {s.kind} {s.torch_site or 'logits'} <-> {s.onnx_node} ({s.op_type}) {s.shape}: "
                    f"{s.mismatches}/{s.elements}, max |diff| {s.max_abs_diff:.3g}"
                )
        if self.unmatched_torch:
            lines.append(f"  unmatched PyTorch sites: {', '.join(self.unmatched_torch)}")
        if self.unmatched_onnx:
            lines.append(f"  unmatched QONNX nodes: {', '.join(self.unmatched_onnx)}")
        return "\n".join(lines)


def _pair(torch_sites: list[tuple[str, np.ndarray]], onnx_sites: list[tuple[str, str, np.ndarray]]):
    """Pair sites by order of occurrence within each shape (robust to interleaving of independent branches).

    ``cleanup_model`` sorts the graph topologically, which may swap independent same-shape sites (the two 1x1
    convs of a widening ReActNet block); order-paired sites that differ are re-paired among themselves by exact
    equality, so a swap is not reported as a mismatch while a wrong value still is.
    """
    by_shape: dict[tuple[int, ...], list[int]] = {}
    for j, (_, _, a) in enumerate(onnx_sites):
        by_shape.setdefault(a.shape, []).append(j)
    pairs, unmatched_torch = [], []
    for i, (name, a) in enumerate(torch_sites):
        queue = by_shape.get(a.shape)
        if queue:
            pairs.append((i, queue.pop(0)))
        else:
            unmatched_torch.append(name)
    same = [np.array_equal(torch_sites[i][1], onnx_sites[j][2]) for i, j in pairs]
    bad = [p for p, ok in zip(pairs, same, strict=True) if not ok]
    if bad:
        pairs = [p for p, ok in zip(pairs, same, strict=True) if ok]
        free = [j for _, j in bad]
        leftover = []
        for i, j in bad:
            k = next((k for k in free if np.array_equal(torch_sites[i][1], onnx_sites[k][2])), None)
            if k is None:
                leftover.append((i, j))
            else:
                free.remove(k)
                pairs.append((i, k))
        for i, j in leftover:  # still different: keep the order pairing where possible
            shape = torch_sites[i][1].shape
            k = j if j in free else next(k for k in free if onnx_sites[k][2].shape == shape)
            free.remove(k)
            pairs.append((i, k))
        pairs.sort()
    used = {j for _, j in pairs}
    unmatched_onnx = [onnx_sites[j][0] for j in range(len(onnx_sites)) if j not in used]
    return pairs, unmatched_torch, unmatched_onnx


def _site(kind, tname, oname, op, t: np.ndarray, o: np.ndarray) -> SiteComparison:
    o = o.astype(t.dtype, copy=False) if o.shape == t.shape else o
    neq = t != o
    diff = float(np.abs(t.astype(np.float64) - o.astype(np.float64)).max()) if neq.any() else 0.0
    return SiteComparison(kind, tname, oname, op, tuple(t.shape), int(t.size), int(neq.sum()), diff)


@torch.no_grad()
def compare_torch_qonnx(model: nn.Module, onnx_model, x: torch.Tensor | np.ndarray) -> ComparisonReport:
    """Run PyTorch (``eval()``) and QONNX ``execute_onnx`` on ``x`` and compare every quantizer output exactly.

    PyTorch side: forward hooks on every enabled Brevitas quant proxy (activation quantizers -- fixed-point
    QuantIdentity/QuantReLU and binarization sites --, weight quantizers, bias quantizers), in call order.
    QONNX side: the outputs of every ``Quant``/``BipolarQuant`` node in graph order (``parameter`` when the node
    quantizes an initializer, else ``activation``), from ``execute_onnx(..., return_full_exec_context=True)``;
    a weight that feeds a ``MatMul`` (stored as ``W^T``) is compared transposed back.
    Sites are paired in order of occurrence within each (kind, shape); the logits are compared too. Equality is
    ``np.array_equal``-exact, never a tolerance. ``x`` must have the batch size the graph was exported with.

    Args:
        onnx_model: a path or a ``qonnx`` ``ModelWrapper``.
    """
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx

    mw = onnx_model if isinstance(onnx_model, ModelWrapper) else ModelWrapper(os.fspath(onnx_model))
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    model.eval()

    captured: list[tuple[str, str, np.ndarray]] = []
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, _PROXIES) and m.is_quant_enabled:
            kind = "activation" if isinstance(m, ActQuantProxyFromInjector) else "parameter"

            def hook(_m, _args, out, name=name, kind=kind):
                t = _tensors(out)
                if t:
                    captured.append((name, kind, t[0].detach().cpu().numpy().copy()))

            handles.append(m.register_forward_hook(hook))
    try:
        logits = model(xt)
    finally:
        for h in handles:
            h.remove()
    logits = _tensors(logits)[0].detach().cpu().numpy()

    graph = mw.graph
    inits = {i.name for i in graph.initializer}
    inp = graph.input[0].name
    ctx = execute_onnx(mw, {inp: xt.numpy()}, return_full_exec_context=True)
    consumers: dict[str, list[str]] = {}
    for node in graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node.op_type)
    onnx_sites = {"activation": [], "parameter": []}
    for node in graph.node:
        if node.op_type in ("Quant", "BipolarQuant"):
            kind = "parameter" if node.input[0] in inits else "activation"
            value = np.asarray(ctx[node.output[0]])
            if kind == "parameter" and value.ndim == 2 and "MatMul" in consumers.get(node.output[0], []):
                # a Linear weight feeding MatMul was stored transposed (cleanup folds the Transpose into the
                # initializer); compare it in PyTorch's (out, in) layout
                value = value.T
            onnx_sites[kind].append((node.name, node.op_type, value))

    report = ComparisonReport()
    for kind in ("activation", "parameter"):
        tsites = [(n, a) for n, k, a in captured if k == kind]
        osites = onnx_sites[kind]
        pairs, ut, uo = _pair(tsites, osites)
        report.unmatched_torch += ut
        report.unmatched_onnx += uo
        for i, j in pairs:
            oname, op, o = osites[j]
            report.sites.append(_site(kind, tsites[i][0], oname, op, tsites[i][1], o))
    out_name = graph.output[0].name
    report.sites.append(_site("output", "", out_name, "output", logits, np.asarray(ctx[out_name])))
    return report


__all__ = [
    "CALIB_BATCH",
    "CALIB_BATCH_LARGE",
    "CALIB_STEPS",
    "CALIB_STEPS_LARGE",
    "Progress",
    "FLOAT32_EXACT_UNITS",
    "ONNX_NAME",
    "ComparisonReport",
    "ExportError",
    "ExportRangeError",
    "SiteComparison",
    "TensorRange",
    "calibrate",
    "calibration_defaults",
    "check_exact_range",
    "checkpoint_metadata",
    "compare_torch_qonnx",
    "dybnn_version",
    "export_checkpoint",
    "export_model",
    "export_random",
    "grid_exponent",
    "needs_calibration",
    "pooling_bounds",
    "prepare_for_export",
    "read_metadata",
    "synthetic_inputs",
]
