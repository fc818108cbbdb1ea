"""The three training steps of ReActNet, plus an integer fine-tune, and how a run is split between them.

1. **Binary activations, real weights** (ReActNet step 1): every binarization site is active, but the binary
   convolutions and FCs use their full-precision weights. This is done by setting ``disable_quant`` on the
   Brevitas weight-quant proxy of each :class:`~training.layers.BinaryConv2d` /
   :class:`~training.layers.BinaryLinear` (the flag :class:`brevitas.graph.calibrate.QuantizationStatusManager`
   flips for every weight proxy of a model; here only the binary layers, so the 8-bit stem, classifier and
   fixed-point parameters stay quantized). The flag is not part of the state dict: :func:`apply_step` sets it
   from the step number, also after a checkpoint is loaded.
2. **Binary weights and activations** (ReActNet step 2): the same parameters, weight quantization re-enabled.
3. **Integer fine-tune**: :func:`~training.layers.fold_batchnorms` turns every BatchNorm into its fixed-point
   scale-bias form, then training continues; the result is what the exporter takes.

:func:`plan_steps` maps every training batch of a run to a step (see :class:`StepPlan`).
"""

from __future__ import annotations

from dataclasses import dataclass

from brevitas.proxy.parameter_quant import WeightQuantProxyFromInjector
from torch import nn

from training.layers import BinaryConv2d, BinaryLinear, FoldableBatchNorm2d, fold_batchnorms

#: Step numbers and what each one trains.
STEPS: dict[int, str] = {
    1: "binary activations, real weights",
    2: "binary weights and activations",
    3: "integer fine-tune (BatchNorm folded)",
}


class StepError(ValueError):
    """An impossible step transition or an unsatisfiable step split."""


def binary_weight_proxies(model: nn.Module) -> list[WeightQuantProxyFromInjector]:
    """The weight-quant proxies of every binary conv / FC layer of ``model`` (in module order)."""
    proxies = []
    for m in model.modules():
        if isinstance(m, BinaryConv2d):
            proxies.append(m.conv.weight_quant)
        elif isinstance(m, BinaryLinear):
            proxies.append(m.fc.weight_quant)
    return proxies


def set_binary_weight_quant(model: nn.Module, enabled: bool) -> int:
    """Enable (binary weights) or disable (real weights) the weight quantizers of the binary layers.

    Returns:
        The number of binary layers switched.
    """
    proxies = binary_weight_proxies(model)
    for p in proxies:
        p.disable_quant = not enabled
    return len(proxies)


def binary_weight_quant_enabled(model: nn.Module) -> bool:
    """True when every binary layer quantizes its weights (False in step 1; True for a model without any)."""
    return all(p.is_quant_enabled for p in binary_weight_proxies(model))


def apply_step(model: nn.Module, step: int) -> bool:
    """Put ``model`` in the state of training step ``step`` (1, 2 or 3).

    Step 1 disables the binary weight quantizers, steps 2 and 3 enable them, step 3 also folds every
    BatchNorm (irreversibly).

    Returns:
        True when the module structure changed (BatchNorms were folded now): optimizers and
        DistributedDataParallel wrappers made before the call are stale.

    Raises:
        StepError: ``step`` is not 1, 2 or 3, or asks for step 1/2 on a model whose BatchNorms are folded.
    """
    if step not in STEPS:
        raise StepError(f"unknown training step {step}; expected one of {sorted(STEPS)}")
    if step < 3 and _any_folded(model):
        raise StepError(
            f"cannot run step {step} ({STEPS[step]}) on a model whose BatchNorms are already folded"
        )
    set_binary_weight_quant(model, enabled=step >= 2)
    if step == 3:
        return fold_batchnorms(model) > 0
    return False


def _any_folded(model: nn.Module) -> bool:
    return any(m.folded for m in model.modules() if isinstance(m, FoldableBatchNorm2d))


@dataclass(frozen=True)
class StepPlan:
    """Which step each training batch of a run belongs to.

    Batches are numbered globally, ``g = epoch * batches_per_epoch + b``. Step 1 is ``[0, end1)``, step 2
    ``[end1, end2)``, step 3 ``[end2, total)``.
    """

    #: batches in one epoch (per process)
    batches_per_epoch: int
    #: first batch after step 1
    end1: int
    #: first batch after step 2
    end2: int
    #: batches in the whole run
    total: int

    def step_at(self, g: int) -> int:
        """The step of global batch ``g``."""
        if not 0 <= g < self.total:
            raise IndexError(f"batch {g} outside the run's {self.total} batches")
        return 1 if g < self.end1 else 2 if g < self.end2 else 3

    def bounds(self, step: int) -> tuple[int, int]:
        """``(first, end)`` global batch indices of ``step``."""
        return {1: (0, self.end1), 2: (self.end1, self.end2), 3: (self.end2, self.total)}[step]


def plan_steps(epochs: int, batches_per_epoch: int, split: tuple[float, float, float]) -> StepPlan:
    """Split a run into the three steps in proportion to ``split``.

    With ``epochs >= 3`` every step is a whole number of epochs, at least one each (the largest fractional
    parts win the rounding). With 1 or 2 epochs the steps are split by batches over the whole run, so a step
    may start in the middle of an epoch (``epochs=1``: one epoch runs a short step 1, step 2 and step 3).

    Raises:
        StepError: a non-positive fraction, or fewer than 3 batches in the run.
    """
    if len(split) != 3 or min(split) <= 0:
        raise StepError(f"step_split needs three positive fractions, got {tuple(split)}")
    if epochs < 1 or batches_per_epoch < 1:
        raise StepError(f"a run needs at least one epoch and one batch, got {epochs} x {batches_per_epoch}")
    units = epochs if epochs >= 3 else epochs * batches_per_epoch
    if units < 3:
        raise StepError(f"three training steps need at least 3 batches, the run has {units}")
    n = _apportion(units, split)
    scale = batches_per_epoch if epochs >= 3 else 1
    total = epochs * batches_per_epoch
    return StepPlan(batches_per_epoch, n[0] * scale, (n[0] + n[1]) * scale, total)


def _apportion(units: int, split: tuple[float, float, float]) -> list[int]:
    """Largest-remainder apportionment of ``units`` to three parts, each at least 1."""
    total = float(sum(split))
    quota = [units * f / total for f in split]
    n = [max(1, int(q)) for q in quota]
    while sum(n) < units:
        i = max(range(3), key=lambda k: quota[k] - n[k])
        n[i] += 1
    while sum(n) > units:
        i = max((k for k in range(3) if n[k] > 1), key=lambda k: n[k] - quota[k])
        n[i] -= 1
    return n


__all__ = [
    "STEPS",
    "StepError",
    "StepPlan",
    "apply_step",
    "binary_weight_proxies",
    "binary_weight_quant_enabled",
    "plan_steps",
    "set_binary_weight_quant",
]
