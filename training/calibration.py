"""Calibration of a randomly initialized model before its export, and the synthetic inputs of an export.

A fixed-point activation scale learned from runtime statistics exports as its initial value until it has seen a
training-mode forward (:func:`needs_calibration`); :func:`calibrate` runs a few forwards on data or synthetic
standard-normal images (:func:`synthetic_inputs`). Step 1 of an export (:mod:`training.export`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from brevitas.core.scaling import ParameterFromRuntimeStatsScaling
from torch import nn

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
    if math.prod(model_input_shape(model)) > LARGE_INPUT:
        return CALIB_STEPS_LARGE, CALIB_BATCH_LARGE
    return CALIB_STEPS, CALIB_BATCH


class ExportError(RuntimeError):
    """The model could not be exported (unwritable output, missing information)."""


def _stats_scalings(model: nn.Module) -> list[ParameterFromRuntimeStatsScaling]:
    return [m for m in model.modules() if isinstance(m, ParameterFromRuntimeStatsScaling)]


def needs_calibration(model: nn.Module) -> bool:
    """True when some fixed-point activation scale has never seen a training-mode forward (random init).

    Such a scale would export as its initial value (1.0), i.e. a meaningless range.
    """
    return any(s.counter == 0 for s in _stats_scalings(model))


def model_input_shape(model: nn.Module) -> tuple[int, ...]:
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise ExportError("the model has no input_shape attribute; build it with training.models.build_model")
    return tuple(int(s) for s in shape)


def synthetic_inputs(model: nn.Module, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` standard-normal images of ``model.input_shape`` (the input distribution of a normalized dataset)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, *model_input_shape(model), generator=g)


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


def calibration_batches(
    model: nn.Module, data, steps: int, batch_size: int, seed: int
) -> Iterator[torch.Tensor]:
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
        for x in calibration_batches(model, data, steps, batch_size, seed):
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
