"""Operation counts of dybnn models: binary ops, fixed-point FLOPs, hyper-function FLOPs, parameters.

The convention of Bi-Real Net / ReActNet (Liu et al., 2018, 2020), which the published figures use:

* ``bops``: binary multiply-accumulates (XNOR-popcount) of every :class:`~training.layers.BinaryConv2d` and
  :class:`~training.layers.BinaryLinear` whose input is binary;
* ``flops``: multiply-accumulates of every multi-bit :class:`~training.layers.FixedConv2d` and
  :class:`~training.layers.FixedLinear` (stem, downsampling shortcuts, classifier), *including* the FCs of the
  DyBNN hyper functions, and of binary-weight layers on a multi-bit input (CNV's first conv: 8-bit image times
  +-1 weights);
* ``hyper_flops``: the part of ``flops`` spent in hyper functions (:class:`~training.layers.HyperFunction`'s two
  FCs), reported separately because it is DyBNN's extra cost;
* ``hyper_adds``: additions of the hyper functions' channel statistics (``sum_{h,w} x``, one per element of each
  binarized / PReLU'd feature map). Reported for information, not in ``ops`` (the papers count no adds);
* ``ops = bops / 64 + flops``.

BatchNorm, RPReLU, shortcut additions, pooling and the sign comparisons are not counted, as in the papers.
Published: ReActNet-A 4.82e9 BOPs, 0.12e8 FLOPs, 0.87e8 OPs; ReAct-ResNet-18 (Bi-Real-18) 1.63e8 OPs.

Counting runs one batch-1 forward in ``eval()`` on a standard-normal input with hooks (random weights are fine:
only shapes matter, and whether a binary-weight layer's input is binary, i.e. all ``|x|`` equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from brevitas.nn import QuantConv2d, QuantLinear
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from training.layers import (
    BinaryConv2d,
    BinaryLinear,
    FixedConv2d,
    FixedLinear,
    GlobalSumShift,
    HyperContext,
    HyperFunction,
)

#: One 64-bit XNOR-popcount word does 64 binary MACs: the BOP weight in OPs.
BOPS_PER_OP = 64


@dataclass(frozen=True)
class OpCounts:
    """Operation counts of one inference (batch 1)."""

    #: binary MACs
    bops: int
    #: multi-bit MACs, hyper functions included
    flops: int
    #: the hyper-function part of ``flops``
    hyper_flops: int
    #: number of parameters (weights, BatchNorm / scale-bias, thresholds, PReLU, quantizer scales)
    params: int
    #: additions of the hyper-function channel statistics (not in ``ops``)
    hyper_adds: int = 0

    @property
    def ops(self) -> float:
        """``bops / 64 + flops``."""
        return self.bops / BOPS_PER_OP + self.flops

    def as_dict(self) -> dict[str, float]:
        return {**asdict(self), "ops": self.ops}


def _macs(layer: nn.Module, out: torch.Tensor) -> int:
    """Multiply-accumulates of a conv / linear layer producing ``out`` (batch 1)."""
    per_output = layer.weight[0].numel()  # (Cin/groups) * kh * kw, or in_features
    out = out.value if isinstance(out, IntQuantTensor) else out
    return int(out[0].numel()) * int(per_output)


def _inner(m: nn.Module) -> nn.Module:
    inner = getattr(m, "conv", None)
    if inner is None:
        inner = getattr(m, "fc", None)
    if not isinstance(inner, (QuantConv2d, QuantLinear)):
        raise TypeError(f"{type(m).__name__} has no Brevitas conv/fc inside")
    return inner


@torch.no_grad()
def count_ops(model: nn.Module | str, input_shape: tuple[int, int, int] | None = None) -> OpCounts:
    """Count the operations of one inference of ``model`` (a module, or a registered model name).

    Args:
        input_shape: ``(C, H, W)``; defaults to ``model.input_shape``.
    """
    if isinstance(model, str):
        from training.models import build_model

        model = build_model(model, input_shape=input_shape)
    shape = tuple(input_shape or getattr(model, "input_shape", ()))
    if len(shape) != 3:
        raise ValueError(f"count_ops needs an input shape (C, H, W), got {shape or None}")

    hyper_fcs = {id(fc) for m in model.modules() if isinstance(m, HyperFunction) for fc in (m.fc1, m.fc2)}
    # the hyper functions' own pools and, with ``hyper_context: stem``, the one shared context's pool
    hyper_pools = {
        id(m.pool)
        for m in model.modules()
        if isinstance(m, (HyperFunction, HyperContext)) and hasattr(m, "pool")
    }
    counts = {"bops": 0, "flops": 0, "hyper_flops": 0, "hyper_adds": 0}
    handles = []

    def add(key: str, layer: nn.Module | None = None):
        def hook(m, args, out):
            if key == "hyper_adds":
                counts[key] += int(args[0][0].numel())
            else:
                counts[key] += _macs(layer, out)

        return hook

    def add_binary(layer: nn.Module):
        def hook(m, args, out):
            x = args[0]
            a = (x.value if isinstance(x, IntQuantTensor) else x).abs()
            binary = bool((a == a.amax()).all())  # +-s only (the padding is added inside)
            counts["bops" if binary else "flops"] += _macs(layer, out)

        return hook

    for m in model.modules():
        if isinstance(m, (BinaryConv2d, BinaryLinear)):
            handles.append(m.register_forward_hook(add_binary(_inner(m))))
        elif isinstance(m, (FixedConv2d, FixedLinear)):
            inner = _inner(m)
            handles.append(inner.register_forward_hook(add("flops", inner)))
            if id(m) in hyper_fcs:
                handles.append(inner.register_forward_hook(add("hyper_flops", inner)))
        elif isinstance(m, GlobalSumShift) and id(m) in hyper_pools:
            handles.append(m.register_forward_hook(add("hyper_adds")))
    was_training = model.training
    model.eval()
    try:
        model(torch.randn(1, *shape, generator=torch.Generator().manual_seed(0)))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return OpCounts(params=params, **counts)


def models_table(
    names: list[str] | None = None, *, progress: Callable[[str, int, int | None], None] | None = None
) -> list[dict[str, object]]:
    """One row per registered model (default: all) at its published input shape, for ``dybnn models``.

    Row keys: ``name``, ``family``, ``description``, ``input_shape``, ``num_classes``, ``params``, ``bops``,
    ``flops``, ``hyper_flops``, ``hyper_adds``, ``ops`` (JSON-serializable). ``progress(stage, done, total)`` is
    called after each model (building the ImageNet-sized ones takes seconds).
    """
    from training.models import MODELS, build_model, get_spec

    rows = []
    todo = names or list(MODELS)
    for i, name in enumerate(todo):
        if progress is not None:
            progress("counting operations", i, len(todo))
        spec = get_spec(name)
        torch.manual_seed(0)
        c = count_ops(build_model(name))
        rows.append(
            {
                "name": name,
                "family": spec.family,
                "description": spec.description,
                "input_shape": list(spec.input_shape),
                "num_classes": spec.num_classes,
                **c.as_dict(),
            }
        )
    if progress is not None:
        progress("counting operations", len(todo), len(todo))
    return rows


__all__ = ["BOPS_PER_OP", "OpCounts", "count_ops", "models_table"]
