"""Training checkpoints: an atomic, versioned, ``weights_only``-loadable file, and the model behind it.

A checkpoint is ``torch.save`` of a plain dictionary (tensors, numbers, strings, lists, dicts) tagged
``{"format": "dybnn-checkpoint", "version": 2}``. It holds everything needed to rebuild the model exactly as it
was trained (registry name, input shape, classes, :class:`~training.models.ModelConfig`, the training step and
whether BatchNorm is folded, the state dict) and to continue the run (optimizer, learning-rate schedule,
random-number generator states, metrics so far).

Brevitas' runtime-statistics scales (``ParameterFromRuntimeStatsScaling``) do not save their statistics
counter or their running buffer, and treat any loaded value as final; :func:`quant_stats_state` saves both so
that a run resumed during the statistics phase continues exactly as if it had not stopped.
"""

from __future__ import annotations

import io
import os
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import brevitas.config
import torch
from brevitas.core.scaling.standalone import ParameterFromRuntimeStatsScaling
from torch import nn

from runfiles.layout import CHECKPOINT as CHECKPOINT_NAME
from runfiles.outputs import atomic_write_bytes
from training.layers import FoldableBatchNorm2d, HyperConfig, is_folded
from training.models import MODELS, ModelConfig, build_model
from training.steps import apply_step

#: Tag of every checkpoint file.
FORMAT = "dybnn-checkpoint"
#: Newest checkpoint layout this code reads and the one it writes. 2: the folded BatchNorm after a binary layer
#: has a 24-bit bias on the grid of ``a_c * x`` (version 1 folded it with a 16-bit bias on its own grid; the
#: state dict has the same keys, so a folded version-1 checkpoint is refused by its version).
VERSION = 2
#: Oldest version whose folded BatchNorms after binary layers this code computes as they were trained.
FOLDED_BIAS_VERSION = 2

_REQUIRED = (
    "model_name",
    "input_shape",
    "num_classes",
    "model_config",
    "model_state",
    "step",
    "folded",
    "epoch",
)


class CheckpointError(ValueError):
    """A missing, unreadable, foreign or inconsistent checkpoint (the message is one line)."""


# --------------------------------------------------------------------------------------------- atomic files


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> None:
    """Atomically ``torch.save`` ``obj`` (through :func:`runfiles.outputs.atomic_write_bytes`, the project's one
    atomic-write helper)."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


# --------------------------------------------------------------------------------------------- model state


@contextmanager
def _full_state_dict():
    """Make Brevitas save every runtime-statistics scale, even one that has not seen a batch yet."""
    old = brevitas.config._FULL_STATE_DICT
    brevitas.config._FULL_STATE_DICT = True
    try:
        yield
    finally:
        brevitas.config._FULL_STATE_DICT = old


def model_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` with every Brevitas scale included (detached copies)."""
    with _full_state_dict():
        return {k: v.detach().clone() for k, v in model.state_dict().items()}


def quant_stats_state(model: nn.Module) -> dict[str, dict[str, Any]]:
    """Counter and running buffer of every Brevitas runtime-statistics scale, by module name."""
    return {
        name: {"counter": int(m.counter), "buffer": m.buffer.detach().clone()}
        for name, m in model.named_modules()
        if isinstance(m, ParameterFromRuntimeStatsScaling)
    }


@torch.no_grad()
def load_quant_stats_state(model: nn.Module, state: dict[str, dict[str, Any]]) -> None:
    """Restore what :func:`quant_stats_state` saved (after ``load_state_dict``).

    While statistics are still being collected, Brevitas keeps the learned ``value`` at 1 and multiplies it by
    the buffer when collection ends; ``load_state_dict`` stored the buffer in ``value``, so it is reset here.
    """
    for name, m in model.named_modules():
        if isinstance(m, ParameterFromRuntimeStatsScaling) and name in state:
            m.counter = int(state[name]["counter"])
            m.buffer.copy_(state[name]["buffer"])
            if m.counter <= m.collect_stats_steps:
                m.value.fill_(1.0)


def model_config_to_dict(cfg: ModelConfig) -> dict[str, Any]:
    """A JSON-ready form of a :class:`ModelConfig`."""
    return asdict(cfg)


def model_config_from_dict(d: dict[str, Any]) -> ModelConfig:
    """Inverse of :func:`model_config_to_dict`."""
    d = dict(d)
    d["hyper"] = HyperConfig(**d.get("hyper", {}))
    return ModelConfig(**d)


# --------------------------------------------------------------------------------------------- reading


def checkpoint_file(path: str | os.PathLike) -> Path:
    """The checkpoint file of a run directory, or ``path`` itself when it is a file."""
    p = Path(path)
    return p / CHECKPOINT_NAME if p.is_dir() else p


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a checkpoint dictionary (run directory or file).

    Raises:
        CheckpointError: no such file, not a torch file, not a dybnn checkpoint, or a newer version.
    """
    f = checkpoint_file(path)
    expected = f"expected a {FORMAT} file written by `dybnn train` (a run directory holds {CHECKPOINT_NAME})"
    if not f.is_file():
        what = "no such file or directory" if not Path(path).exists() else f"no {CHECKPOINT_NAME} in it"
        raise CheckpointError(f"{path}: {what}; {expected}")
    try:
        ckpt = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types on corrupt or foreign data
        reason = str(err).strip().splitlines()[0][:120] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{f}: unreadable ({type(err).__name__}: {reason}); {expected}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{f}: not a dybnn checkpoint (no 'format': '{FORMAT}' tag); {expected}")
    version = ckpt.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{f}: checkpoint version {version!r} is not supported (this code reads <= {VERSION})"
        )
    missing = [k for k in _REQUIRED if k not in ckpt]
    if missing:
        raise CheckpointError(f"{f}: checkpoint lacks {', '.join(missing)}; {expected}")
    return ckpt


def build_from_checkpoint(ckpt: dict[str, Any], source: str | os.PathLike = "checkpoint") -> nn.Module:
    """Rebuild the model of a validated checkpoint dictionary: same step, same folding, same weights and scales.

    Raises:
        CheckpointError: unknown model name or a state dict that does not fit the rebuilt model.
    """
    name = ckpt["model_name"]
    if name not in MODELS:
        raise CheckpointError(
            f"{source}: model {name!r} is not in this version's registry ({', '.join(MODELS)})"
        )
    try:
        cfg = model_config_from_dict(ckpt["model_config"])
        with torch.random.fork_rng(devices=[]):  # the state dict overwrites every initial value
            model = build_model(name, tuple(ckpt["input_shape"]), int(ckpt["num_classes"]), cfg)
        apply_step(model, int(ckpt["step"]))
        if is_folded(model) != bool(ckpt["folded"]):
            raise ValueError(f"step {ckpt['step']} contradicts folded={ckpt['folded']}")
        scale_bias = [
            n for n, m in model.named_modules() if isinstance(m, FoldableBatchNorm2d) and m.affine is not None
        ]
        if scale_bias and int(ckpt.get("version", VERSION)) < FOLDED_BIAS_VERSION:
            raise CheckpointError(
                f"{source}: written by an older dybnn (checkpoint version {ckpt['version']}), whose folded "
                f"BatchNorm after a binary layer ({scale_bias[0]}) had a 16-bit bias on its own grid; the bias is "
                "now a 24-bit integer on the grid of a*x (exact in float32 for any statistics), a different "
                "function, so this folded checkpoint cannot be loaded: retrain the integer step from a step-2 "
                "checkpoint, or write a fresh random-init model with `dybnn export --random-init`"
            )
        try:
            model.load_state_dict(ckpt["model_state"], strict=True)
        except RuntimeError:
            _check_state_keys(model, ckpt["model_state"], source)  # a one-line diagnosis of the keys
            raise
        load_quant_stats_state(model, ckpt.get("quant_stats", {}))
    except CheckpointError:
        raise
    except (RuntimeError, TypeError, ValueError, KeyError) as err:
        first = str(err).strip().splitlines()[0][:160]
        raise CheckpointError(f"{source}: state does not fit model {name!r} ({first})") from None
    return model


def _check_state_keys(model: nn.Module, state: dict[str, Any], source: str | os.PathLike) -> None:
    """One-line errors for a state dict that ``load_state_dict`` refused, if its keys are the reason.

    A checkpoint written before :class:`~training.layers.GlobalSumShift` requantized its input to 8 bits
    (``pre_q``, the exact-by-construction statistic of the hyper functions and the global pooling) lacks exactly
    the ``pre_q`` quantizers' state. It cannot be completed: ``pre_q``'s scale is a statistic of the
    activations of the training run, and the model without it computed a different function (a sum of the
    unrequantized feature map), so such a checkpoint is refused with what to do instead. Likewise a folded
    checkpoint written before the BatchNorm after a real convolution was folded into that convolution
    (:meth:`training.layers.FixedConv2d.absorb`): it holds a separate ``affine`` scale-bias instead.
    """
    with _full_state_dict():
        expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing and not unexpected and all(".pre_q." in k for k in missing):
        modules = sorted({k.split(".pre_q.")[0] for k in missing})
        raise CheckpointError(
            f"{source}: written by an older dybnn, before the feature-map statistics (GlobalSumShift) gained "
            f"their 8-bit requantizer pre_q: no state for {len(modules)} of them (e.g. {modules[0]}.pre_q); "
            "the model now computes a different statistic, so this checkpoint cannot be completed: retrain it "
            "with `dybnn train`, or write a fresh random-init model with `dybnn export --random-init`"
        )
    absorbed = sorted(
        n for n, m in model.named_modules() if isinstance(m, FoldableBatchNorm2d) and m.absorbed
    )
    old_affine = [k for k in unexpected if k.split(".affine.")[0] in absorbed]
    if old_affine and len(old_affine) == len(unexpected) and all(k.endswith(".conv.bias") for k in missing):
        raise CheckpointError(
            f"{source}: written by an older dybnn, whose folded BatchNorm after a real convolution was a "
            f"separate scale-bias ({old_affine[0]}); the BatchNorm is now folded into the convolution's weights "
            "and a bias on its accumulator grid (exact in float32 for any statistics), a different function, so "
            "this folded checkpoint cannot be loaded: retrain the integer step from a step-2 checkpoint, or "
            "write a fresh random-init model with `dybnn export --random-init`"
        )
    if missing or unexpected:
        what = []
        if missing:
            what.append(f"{len(missing)} missing key(s), e.g. {missing[0]}")
        if unexpected:
            what.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[0]}")
        raise CheckpointError(
            f"{source}: state does not fit model {model.model_name!r} ({'; '.join(what)}); "
            "was it written by another version of dybnn?"
        )


def deployed_checkpoint(model: nn.Module, cfg: ModelConfig, **extra: Any) -> dict[str, Any]:
    """A checkpoint dictionary of an untrained model in its deployed state (training step 3: binary weights,
    BatchNorms folded), as ``dybnn export --random-init`` writes it beside ``model.onnx`` so that the torch
    level of ``dybnn verify`` rebuilds the very model that was exported (:func:`load_checkpoint`).

    ``model`` must come from :func:`~training.models.build_model` (``model_name``, ``input_shape``,
    ``num_classes``); ``extra`` entries (``seed``, ``origin``) are stored as they are.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_name": model.model_name,
        "input_shape": list(model.input_shape),
        "num_classes": int(model.num_classes),
        "model_config": model_config_to_dict(cfg),
        "model_state": model_state_dict(model),
        "quant_stats": quant_stats_state(model),
        "step": 3,
        "folded": is_folded(model),
        "epoch": 0,
        "done": False,
        **extra,
    }


def load_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """Load a trained model from a run directory or a checkpoint file, in ``eval()`` mode.

    The model is in the state of the step that wrote the checkpoint (real binary-layer weights for step 1,
    binary for 2, BatchNorm folded for 3), so it computes exactly what was evaluated during training.

    Args:
        path: a run directory (containing ``checkpoint.pt``) or a checkpoint file.

    Returns:
        ``(model, meta)``: ``meta`` is the checkpoint dictionary without the model, optimizer and RNG states
        (model name, input shape, classes, model and training configurations, step, folded, epoch, metrics,
        done, dataset).

    Raises:
        CheckpointError: see :func:`read_checkpoint` and :func:`build_from_checkpoint`.
    """
    f = checkpoint_file(path)
    ckpt = read_checkpoint(path)
    model = build_from_checkpoint(ckpt, f)
    model.eval()
    meta = {k: v for k, v in ckpt.items() if k not in ("model_state", "optimizer", "rng", "quant_stats")}
    return model, meta


__all__ = [
    "CHECKPOINT_NAME",
    "deployed_checkpoint",
    "FORMAT",
    "VERSION",
    "CheckpointError",
    "atomic_torch_save",
    "build_from_checkpoint",
    "checkpoint_file",
    "load_checkpoint",
    "load_quant_stats_state",
    "model_config_from_dict",
    "model_config_to_dict",
    "model_state_dict",
    "quant_stats_state",
    "read_checkpoint",
]
