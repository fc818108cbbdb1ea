"""The configuration of a training run: :class:`TrainConfig`, read from YAML or JSON by :func:`load_config`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from training.data import DATASETS, RESIZE_MODES
from training.layers import ACT_STE, DELTA_BITS_RANGE, HYPER_CONTEXTS, HyperConfig
from training.models import ModelConfig, get_spec


class ConfigError(ValueError):
    """An invalid training configuration (unknown key, bad value, or a resume with different settings)."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run.

    With ``epochs >= 3`` every step lasts a whole number of epochs (at least one each, in proportion to
    ``step_split``). With ``epochs`` 1 or 2 the steps are split by batches over the run: ``epochs=1`` is one
    epoch that runs a short step 1, step 2 and step 3 in turn (see :func:`training.steps.plan_steps`).
    """

    #: model name from :data:`training.models.MODELS`
    model: str
    #: dataset name from :data:`training.data.DATASETS`
    dataset: str
    #: number of epochs over the training split (all steps together)
    epochs: int = 3
    #: images per batch and process (the global batch is ``batch_size * WORLD_SIZE``)
    batch_size: int = 64
    #: Adam learning rate at the start of steps 1 and 2 (linear decay to 0 within each step)
    lr: float = 1e-3
    #: learning rate of step 3 relative to ``lr``
    finetune_lr_scale: float = 0.1
    #: weight decay of conv/FC weights in step 1 (ReActNet: 1e-5)
    weight_decay: float = 1e-5
    #: weight decay of conv/FC weights in steps 2 and 3 (ReActNet: 0)
    weight_decay_binary: float = 0.0
    #: relative lengths of step 1 (real weights), step 2 (binary weights), step 3 (integer fine-tune)
    step_split: tuple[float, float, float] = (0.4, 0.4, 0.2)
    #: seed of the weight initialization and of the data order
    seed: int = 0
    #: distillation teacher: a run directory / checkpoint file of ours, or a TorchScript file (float model)
    teacher: str | None = None
    #: distillation temperature T
    kd_temperature: float = 1.0
    #: weight of the distillation loss; ``1 - kd_alpha`` weighs cross-entropy (used only with a teacher)
    kd_alpha: float = 1.0
    #: DataLoader worker processes
    num_workers: int = 0
    #: torch device ("cpu", "cuda", "cuda:1")
    device: str = "cpu"
    #: torch CPU threads per process (None: usable cores / WORLD_SIZE, or 1 when the machine is already busy)
    num_threads: int | None = None
    #: directory of torchvision datasets (None: $DYBNN_DATA or ~/.cache/dybnn/data)
    data_root: str | None = None
    #: allow torchvision to download a missing dataset
    download: bool = False
    #: resize images to input_size x input_size (None: native size); the model is built for the data's shape
    input_size: int | None = None
    #: "bilinear" or "nearest"
    resize_mode: str = "bilinear"
    #: keep a fixed subset of at most this many training images
    max_train_samples: int | None = None
    #: keep a fixed subset of at most this many test images
    max_test_samples: int | None = None
    #: activation straight-through estimator: "approxsign" or "hardtanh"
    ste: str = "approxsign"
    #: padded border of binary 3x3 convs: 0, +1 or -1
    pad_value: float = 0.0
    #: hyper-function reduction ratio r (DyBNN)
    hyper_reduction: int = 16
    #: hyper-function lambda, a power of two (DyBNN)
    hyper_lambda: float = 0.5
    #: hyper-function squashing function: "hardtanh" or "tanh" (DyBNN)
    hyper_squash: str = "hardtanh"
    #: what the hyper functions read (DyBNN): "self" (the paper, a frame buffer per dynamic site) or "stem" (the
    #: hardware-aware variant: one context vector pooled once per image from the stem; docs/hyper-context.md)
    hyper_context: str = "self"
    #: bits of the hyper function's output, so of every ``delta`` (DyBNN; 2..16): trades accuracy against the
    #: width of the delta buffers and threshold compares in hardware
    hyper_delta_bits: int = 8
    #: channel width multiplier
    width_mult: float = 1.0
    #: random translation of training images by up to this many pixels (0: none); pads by replicating borders
    augment_shift: int = 0
    #: stop every epoch after this many batches (None: the whole training split); for tests and smoke runs
    max_steps_per_epoch: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "step_split", tuple(float(f) for f in self.step_split))
        try:
            get_spec(self.model)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        checks = [
            (
                self.dataset in DATASETS,
                f"unknown dataset {self.dataset!r}; valid datasets: {', '.join(DATASETS)}",
            ),
            (self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.lr > 0, f"lr must be > 0, got {self.lr}"),
            (self.finetune_lr_scale > 0, f"finetune_lr_scale must be > 0, got {self.finetune_lr_scale}"),
            (self.weight_decay >= 0 and self.weight_decay_binary >= 0, "weight decays must be >= 0"),
            (
                len(self.step_split) == 3 and min(self.step_split) > 0,
                f"step_split needs three positive fractions, got {self.step_split}",
            ),
            (self.kd_temperature > 0, f"kd_temperature must be > 0, got {self.kd_temperature}"),
            (0.0 <= self.kd_alpha <= 1.0, f"kd_alpha must be in [0, 1], got {self.kd_alpha}"),
            (self.num_workers >= 0, f"num_workers must be >= 0, got {self.num_workers}"),
            (
                self.num_threads is None or self.num_threads >= 1,
                f"num_threads must be >= 1, got {self.num_threads}",
            ),
            (
                self.input_size is None or self.input_size >= 1,
                f"input_size must be >= 1, got {self.input_size}",
            ),
            (self.resize_mode in RESIZE_MODES, f"resize_mode must be one of {', '.join(RESIZE_MODES)}"),
            (self.ste in ACT_STE, f"ste must be one of {', '.join(sorted(ACT_STE))}, got {self.ste!r}"),
            (self.pad_value in (0.0, 1.0, -1.0), f"pad_value must be 0, +1 or -1, got {self.pad_value}"),
            (self.hyper_reduction >= 1, f"hyper_reduction must be >= 1, got {self.hyper_reduction}"),
            (
                self.hyper_squash in ("hardtanh", "tanh"),
                f"hyper_squash must be hardtanh or tanh, got {self.hyper_squash!r}",
            ),
            (
                self.hyper_context in HYPER_CONTEXTS,
                f"hyper_context must be one of {', '.join(HYPER_CONTEXTS)}, got {self.hyper_context!r}",
            ),
            (
                DELTA_BITS_RANGE[0] <= self.hyper_delta_bits <= DELTA_BITS_RANGE[1],
                f"hyper_delta_bits must be in [{DELTA_BITS_RANGE[0]}, {DELTA_BITS_RANGE[1]}], "
                f"got {self.hyper_delta_bits}",
            ),
            (self.width_mult > 0, f"width_mult must be > 0, got {self.width_mult}"),
            (
                self.max_steps_per_epoch is None or self.max_steps_per_epoch >= 1,
                f"max_steps_per_epoch must be >= 1, got {self.max_steps_per_epoch}",
            ),
        ]
        for ok, msg in checks:
            if not ok:
                raise ConfigError(msg)

    def model_config(self) -> ModelConfig:
        """The :class:`~training.models.ModelConfig` these settings describe."""
        hyper = HyperConfig(
            reduction=self.hyper_reduction,
            lam=self.hyper_lambda,
            squash=self.hyper_squash,
            context=self.hyper_context,
            delta_bits=self.hyper_delta_bits,
        )
        return ModelConfig(
            ste=self.ste, pad_value=float(self.pad_value), hyper=hyper, width_mult=self.width_mult
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (the inverse of :meth:`from_dict`)."""
        d = asdict(self)
        d["step_split"] = list(self.step_split)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Build from a flat dictionary; unknown or missing keys raise :class:`ConfigError` naming them."""
        if not isinstance(d, dict):
            raise ConfigError(f"a training configuration must be a mapping, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError(
                f"unknown configuration key(s) {', '.join(map(repr, unknown))}; valid keys: {', '.join(names)}"
            )
        missing = [k for k in ("model", "dataset") if k not in d]
        if missing:
            raise ConfigError(f"configuration lacks required key(s) {', '.join(map(repr, missing))}")
        types = {f.name: f.type for f in fields(cls)}
        return cls(**{k: _coerce(k, types[k], v) for k, v in d.items()})


def _coerce(key: str, type_name: str, value: Any) -> Any:
    """Check ``value`` against a field's annotation (a string: ``int``, ``float | None``, ...), converting ints
    and numeric strings (YAML reads ``1e-3`` as a string) to float where a float is expected."""
    optional = type_name.endswith(" | None")
    base = type_name.removesuffix(" | None")
    if value is None and optional:
        return None
    expected = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}.get(
        base, "a list of three numbers"
    )
    bad = ConfigError(
        f"configuration key {key!r} must be {expected}{' or null' if optional else ''}, got {value!r}"
    )
    if base == "bool":
        if not isinstance(value, bool):
            raise bad
    elif base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif base == "float":
        if isinstance(value, bool):
            raise bad
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise bad from None
    elif base == "str":
        if not isinstance(value, str):
            raise bad
    else:  # the step split
        if not isinstance(value, (list, tuple)) or len(value) != 3:
            raise bad
        value = tuple(_coerce(key, "float", v) for v in value)
    return value


def load_config(path: str | os.PathLike) -> TrainConfig:
    """Read a :class:`TrainConfig` from a YAML (``.yaml``/``.yml``) or JSON file of flat ``key: value`` pairs.

    Raises:
        ConfigError: unreadable file, not a mapping, an unknown key (named) or an invalid value.
    """
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as err:
        raise ConfigError(f"cannot read configuration {p}: {err.strerror or err}") from None
    try:
        data = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0]
        raise ConfigError(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'} ({first})") from None
    try:
        return TrainConfig.from_dict(data if data is not None else {})
    except ConfigError as err:
        raise ConfigError(f"{p}: {err}") from None


__all__ = ["ConfigError", "TrainConfig", "load_config"]
