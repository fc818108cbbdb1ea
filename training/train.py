"""Quantization-aware training of the registered models: ReActNet's two steps, then an integer fine-tune.

A run (:func:`train`) goes through the steps of :mod:`training.steps` -- binary activations with real weights,
binary weights initialized from step 1, then BatchNorm folded into fixed point and fine-tuned -- each with a
fresh Adam optimizer whose learning rate decays linearly to 0 within the step (ReActNet trains its two steps as
separate runs; folding changes the parameters anyway). Weight decay applies to conv/FC weights only:
``weight_decay`` in step 1, ``weight_decay_binary`` (0, as ReActNet) afterwards. The loss is cross-entropy, or
with a ``teacher`` the ReActNet-style distributional loss ``T**2 * KL(softmax(t/T) || softmax(s/T))`` (mixed
with cross-entropy when ``kd_alpha < 1``).

Files of a run directory, each replaced atomically (temporary file, then ``os.replace``):

* ``config.json`` -- the :class:`TrainConfig` (loadable with :func:`load_config`);
* ``checkpoint.pt`` -- after every epoch (see :mod:`training.checkpoint`); ``done: True`` once finished;
* ``metrics.json`` -- per-epoch records ``{epoch, step, steps, train_loss, train_acc, test_loss, test_acc, lr,
  seconds}``, the run's model/dataset description and, at the end, ``final_test_acc`` / ``final_test_loss``.

``resume=True`` continues from the last completed epoch. Under ``torchrun`` (``WORLD_SIZE > 1``) the run is
data-parallel (gloo, DistributedDataParallel, DistributedSampler); only rank 0 writes files or prints.
``python -m training.train CONFIG OUT_DIR`` runs :func:`train` (also under ``torchrun``).

The configuration lives in :mod:`training.train_config`, checkpoints in :mod:`training.checkpoint`, the step
recipe in :mod:`training.steps` and the data-parallel plumbing in :mod:`training.distributed`; this module
re-exports what a caller needs (``TrainConfig``, ``load_config``, ``load_checkpoint`` and the errors).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from runfiles.layout import CONFIG_JSON as CONFIG_NAME
from runfiles.layout import METRICS_JSON as METRICS_NAME
from runfiles.outputs import atomic_write_json
from training.checkpoint import (
    CHECKPOINT_NAME,
    FORMAT,
    VERSION,
    CheckpointError,
    atomic_torch_save,
    build_from_checkpoint,
    load_checkpoint,
    model_config_to_dict,
    model_state_dict,
    quant_stats_state,
    read_checkpoint,
)
from training.data import DatasetInfo, Datasets, check_input_shape, get_dataset
from training.distributed import DistContext
from training.layers import is_folded
from training.models import MODELS, build_model
from training.steps import STEPS, StepPlan, apply_step, plan_steps
from training.train_config import ConfigError, TrainConfig, load_config

#: Fields that may differ between a run and its resumption (they do not change the result).
RUNTIME_FIELDS = frozenset({"num_workers", "device", "num_threads", "data_root", "download"})


class OutputDirError(ValueError):
    """An output directory that cannot be written or that already holds another run."""


# --------------------------------------------------------------------------------------------- losses, eval


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 1.0,
    alpha: float = 1.0,
) -> torch.Tensor:
    """``alpha * T**2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``, averaged over the batch.

    With ``T = 1`` and ``alpha = 1`` this is ReActNet's distributional loss up to the teacher's entropy (a
    constant), so the gradients are the same.
    """
    t = temperature
    kd = F.kl_div(
        F.log_softmax(student / t, 1), F.log_softmax(teacher / t, 1), reduction="batchmean", log_target=True
    )
    loss = kd * (t * t)
    if alpha < 1.0:
        loss = alpha * loss + (1.0 - alpha) * F.cross_entropy(student, labels)
    return loss


@torch.no_grad()
def _eval_sums(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[float, int, int]:
    """Summed cross-entropy, correct predictions and images of ``loader`` in ``eval()`` mode."""
    was_training = model.training
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    try:
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += int((logits.argmax(1) == y).sum())
            count += len(y)
    finally:
        model.train(was_training)
    return loss_sum, correct, count


def evaluate(
    model: nn.Module, loader: DataLoader, device: str | torch.device | None = None
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` in ``eval()`` mode over ``loader`` (one process).

    Returns:
        ``(loss, accuracy)``; ``(nan, nan)`` for an empty loader.
    """
    if device is None:
        device = next(model.parameters()).device
    loss_sum, correct, count = _eval_sums(model, loader, torch.device(device))
    if count == 0:
        return float("nan"), float("nan")
    return loss_sum / count, correct / count


# --------------------------------------------------------------------------------------------- output dir


def check_output_dir(out: Path, resume: bool = False, overwrite: bool = False) -> None:
    """Fail early, before anything is written, when ``out`` cannot hold this run.

    Raises:
        OutputDirError: ``out`` is not a directory, lies under a file, is not writable, or already holds a run
            (unless ``resume`` or ``overwrite``).
    """
    if out.exists() and not out.is_dir():
        raise OutputDirError(f"output directory {out} exists and is not a directory")
    anc = out
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        raise OutputDirError(f"cannot create output directory {out}: {anc} is a file, not a directory")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise OutputDirError(f"output directory {out} is not writable (no write permission on {anc})")
    if (out / CHECKPOINT_NAME).exists() and not resume and not overwrite:
        raise OutputDirError(
            f"output directory {out} already holds a run ({CHECKPOINT_NAME}); resume it, pass overwrite, "
            f"or choose another directory"
        )


def _create_output_dir(out: Path) -> None:
    """Create ``out`` and check that it is writable. An overwritten run's files are not deleted here: each is
    replaced when its successor is saved (``checkpoint.pt`` after the first epoch), so an interrupted overwrite
    never leaves the directory without a checkpoint."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise OutputDirError(f"output directory {out} is not writable ({err.strerror or err})") from None


def _stored_config(out: Path) -> TrainConfig | None:
    """The configuration in ``out/config.json`` (written when a run starts), or None."""
    p = out / CONFIG_NAME
    if not p.is_file():
        return None
    try:
        return load_config(p)
    except ConfigError:
        return None


def run_config(out: str | os.PathLike) -> TrainConfig | None:
    """The configuration of the run in ``out``: the one its ``config.json`` names (the run that was started last,
    even if it was interrupted before its first checkpoint), else its checkpoint's; None when there is neither."""
    out = Path(out)
    cfg = _stored_config(out)
    if cfg is not None:
        return cfg
    if (out / CHECKPOINT_NAME).exists():
        return TrainConfig.from_dict(read_checkpoint(out)["train_config"])
    return None


# --------------------------------------------------------------------------------------------- teacher


def load_teacher(spec: str, info: DatasetInfo) -> nn.Module:
    """The frozen distillation teacher: a run directory / checkpoint of ours, or a TorchScript float model.

    Raises:
        ConfigError: a model name (an untrained model teaches nothing), a missing path, a file that is
            neither, or a teacher for another input shape or class count.
    """
    p = Path(spec)
    if not p.exists():
        hint = (
            " (a registry model name; a teacher must be trained: pass its run directory)"
            if spec in MODELS
            else ""
        )
        raise ConfigError(f"teacher {spec!r} does not exist{hint}")
    if p.is_dir() or _is_our_checkpoint(p):
        try:
            teacher, meta = load_checkpoint(p)
        except CheckpointError as err:
            raise ConfigError(f"teacher: {err}") from None
        try:
            check_input_shape(teacher, info)
        except ValueError as err:
            raise ConfigError(f"teacher: {err}") from None
        if int(meta["num_classes"]) != info.num_classes:
            raise ConfigError(
                f"teacher {spec} has {meta['num_classes']} classes, dataset {info.name!r} has {info.num_classes}"
            )
    else:
        try:
            teacher = torch.jit.load(str(p), map_location="cpu")
        except Exception:
            raise ConfigError(
                f"teacher {spec}: neither a dybnn checkpoint nor a TorchScript file (torch.jit.save of a float model)"
            ) from None
    teacher.eval()
    for q in teacher.parameters():
        q.requires_grad_(False)
    with torch.no_grad():
        try:
            shape = tuple(teacher(torch.zeros(2, *info.input_shape)).shape)
        except Exception as err:
            raise ConfigError(
                f"teacher {spec} fails on a {info.input_shape} input ({type(err).__name__})"
            ) from None
    if shape != (2, info.num_classes):
        raise ConfigError(
            f"teacher logits {shape} do not match the model's (2, {info.num_classes}) for dataset {info.name!r}"
        )
    return teacher


def _is_our_checkpoint(p: Path) -> bool:
    try:
        read_checkpoint(p)
        return True
    except CheckpointError:
        return False


# --------------------------------------------------------------------------------------------- the run


def _make_optimizer(model: nn.Module, lr: float, weight_decay: float) -> torch.optim.Adam:
    """Adam with weight decay on conv/FC weights only (not on thresholds, shifts, scales or BatchNorm)."""
    decay_ids = {
        id(m.weight)
        for m in model.modules()
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad
    }
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if id(p) in decay_ids]
    rest = [p for p in params if id(p) not in decay_ids]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.Adam([g for g in groups if g["params"]], lr=lr)


def _rng_state() -> dict[str, Any]:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": [np_state[0], np_state[1].tolist(), *np_state[2:]],
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuplify(state["python"]))
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), *rest))


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


class _Trainer:
    """The state of one run: data, model, the current step's optimizer, metrics so far."""

    def __init__(self, cfg: TrainConfig, out: Path, data: Datasets, ctx: DistContext, quiet: bool) -> None:
        self.cfg, self.out, self.data, self.ctx, self.quiet = cfg, out, data, ctx, quiet
        self.device = torch.device(
            f"cuda:{ctx.local_rank}" if cfg.device == "cuda" and ctx.parallel else cfg.device
        )
        self.bars_off = quiet or not ctx.main or not sys.stderr.isatty()
        self.sampler = DistributedSampler(
            data.train, num_replicas=ctx.world, rank=ctx.rank, shuffle=True, seed=cfg.seed, drop_last=False
        )
        # Dropping a ragged last batch keeps BatchNorm away from a batch of one.
        drop = len(self.sampler) > cfg.batch_size
        self.train_loader = DataLoader(
            data.train,
            batch_size=cfg.batch_size,
            sampler=self.sampler,
            drop_last=drop,
            num_workers=cfg.num_workers,
        )
        shard = Subset(data.test, range(ctx.rank, len(data.test), ctx.world))
        self.test_loader = DataLoader(shard, batch_size=max(256, cfg.batch_size), num_workers=cfg.num_workers)
        nb = len(self.train_loader)
        if cfg.max_steps_per_epoch is not None:
            nb = min(nb, cfg.max_steps_per_epoch)
        try:
            self.plan: StepPlan = plan_steps(cfg.epochs, nb, cfg.step_split)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        self.model: nn.Module | None = None
        self.net: nn.Module | None = None
        self.teacher: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.step = 0
        self.base_lr = cfg.lr
        self.lr = cfg.lr
        self.records: list[dict[str, Any]] = []
        self.start_epoch = 0
        self.seconds = 0.0

    # ---- setup

    def build(self, ckpt: dict[str, Any] | None) -> None:
        cfg, info = self.cfg, self.data.info
        if ckpt is None:
            torch.manual_seed(cfg.seed)
            model = build_model(cfg.model, info.input_shape, info.num_classes, cfg.model_config())
        else:
            if ckpt["batches_per_epoch"] != self.plan.batches_per_epoch:
                raise CheckpointError(
                    f"{self.out / CHECKPOINT_NAME}: written with {ckpt['batches_per_epoch']} batches per epoch, now "
                    f"{self.plan.batches_per_epoch} (different world size or data); cannot resume"
                )
            model = build_from_checkpoint(ckpt, self.out / CHECKPOINT_NAME)
            check_input_shape(model, info)
        self.model = model.to(self.device)
        self.model.train()
        if cfg.teacher is not None:
            self.teacher = load_teacher(cfg.teacher, info).to(self.device)
        if ckpt is not None:
            self.records = list(ckpt["metrics"]["records"])
            self.seconds = float(ckpt["metrics"].get("seconds", 0.0))
            self.start_epoch = int(ckpt["epoch"])
            self.step = int(ckpt["step"])
            g = self.start_epoch * self.plan.batches_per_epoch
            if self.plan.step_at(g) == self.step:  # continue the same step: its optimizer and schedule
                self._new_optimizer()
                self.optimizer.load_state_dict(ckpt["optimizer"])
                self.net = self.ctx.wrap(self.model)
            _set_rng_state(ckpt["rng"])

    def _new_optimizer(self) -> None:
        cfg = self.cfg
        self.base_lr = cfg.lr * (cfg.finetune_lr_scale if self.step == 3 else 1.0)
        wd = cfg.weight_decay if self.step == 1 else cfg.weight_decay_binary
        self.optimizer = _make_optimizer(self.model, self.base_lr, wd)

    def enter_step(self, step: int) -> None:
        """Switch the model to ``step`` (fold BatchNorm for 3) with a fresh optimizer and DDP wrapper."""
        self.ctx.broadcast_module(self.model)  # identical BatchNorm statistics on every rank before folding
        apply_step(self.model, step)
        self.model.to(self.device)
        self.step = step
        self._new_optimizer()
        self.net = None  # release the old DDP wrapper (and its gradient hooks) before making a new one
        self.net = self.ctx.wrap(self.model)  # folding changes the parameters: re-wrap
        first, end = self.plan.bounds(step)
        self.say(f"step {step}: {STEPS[step]} (batches {first}..{end - 1}, lr {self.base_lr:g})")

    def set_lr(self, g: int) -> None:
        first, end = self.plan.bounds(self.step)
        self.lr = self.base_lr * (1.0 - (g - first) / (end - first))
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr

    def loss(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.teacher is None:
            return F.cross_entropy(logits, y)
        with torch.no_grad():
            t = self.teacher(x)
        return distillation_loss(logits, t, y, self.cfg.kd_temperature, self.cfg.kd_alpha)

    def say(self, msg: str) -> None:
        if self.ctx.main and not self.quiet:
            tqdm.write(msg, file=sys.stderr)

    # ---- epochs

    def run(self) -> dict[str, Any]:
        cfg = self.cfg
        for epoch in range(self.start_epoch, cfg.epochs):
            t0 = time.perf_counter()
            loss_sum, correct, count = _train_epoch(self, epoch)
            loss_sum, correct, count = self.ctx.sum([loss_sum, correct, count])
            self.ctx.check_in_sync(self.model)
            self.ctx.broadcast_module(self.model)  # rank 0's running statistics everywhere
            te_loss, te_correct, te_count = self.ctx.sum(
                list(_eval_sums(self.model, self.test_loader, self.device))
            )
            seconds = time.perf_counter() - t0
            self.seconds += seconds
            nb = self.plan.batches_per_epoch
            steps = sorted({self.plan.step_at(g) for g in range(epoch * nb, (epoch + 1) * nb)})
            rec = {
                "epoch": epoch + 1,
                "step": self.step,
                "steps": steps,
                "train_loss": loss_sum / count,
                "train_acc": correct / count,
                "test_loss": te_loss / te_count,
                "test_acc": te_correct / te_count,
                "lr": self.lr,
                "seconds": round(seconds, 3),
            }
            self.records.append(rec)
            done = epoch + 1 == cfg.epochs
            self.say(
                f"epoch {epoch + 1}/{cfg.epochs} step {self.step}: train loss {rec['train_loss']:.4f} "
                f"acc {rec['train_acc']:.4f} | test loss {rec['test_loss']:.4f} acc {rec['test_acc']:.4f} "
                f"| {seconds:.1f} s"
            )
            if self.ctx.main:
                metrics = self.metrics(done)
                atomic_torch_save(self.out / CHECKPOINT_NAME, self.checkpoint(epoch + 1, done, metrics))
                atomic_write_json(self.out / METRICS_NAME, metrics, indent=2)
        return self.metrics(True)

    def metrics(self, done: bool) -> dict[str, Any]:
        info = self.data.info
        m: dict[str, Any] = {
            "model": self.cfg.model,
            "dataset": info.to_dict(),
            "input_shape": list(info.input_shape),
            "num_classes": info.num_classes,
            "epochs": self.cfg.epochs,
            "world_size": self.ctx.world,
            "threads": torch.get_num_threads(),
            "batches_per_epoch": self.plan.batches_per_epoch,
            "step_batches": {str(s): list(self.plan.bounds(s)) for s in STEPS},
            "done": done,
            "seconds": round(self.seconds, 3),
            "records": list(self.records),
        }
        if done and self.records:
            m["final_test_acc"] = self.records[-1]["test_acc"]
            m["final_test_loss"] = self.records[-1]["test_loss"]
        return m

    def checkpoint(self, epoch: int, done: bool, metrics: dict[str, Any]) -> dict[str, Any]:
        info = self.data.info
        first, end = self.plan.bounds(self.step)
        return {
            "format": FORMAT,
            "version": VERSION,
            "model_name": self.cfg.model,
            "input_shape": list(info.input_shape),
            "num_classes": info.num_classes,
            "model_config": model_config_to_dict(self.cfg.model_config()),
            "train_config": self.cfg.to_dict(),
            "dataset": info.to_dict(),
            "model_state": model_state_dict(self.model),
            "quant_stats": quant_stats_state(self.model),
            "step": self.step,
            "folded": is_folded(self.model),
            "epoch": epoch,
            "global_batch": epoch * self.plan.batches_per_epoch,
            "batches_per_epoch": self.plan.batches_per_epoch,
            "world_size": self.ctx.world,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {"kind": "linear-to-zero", "base_lr": self.base_lr, "first": first, "end": end},
            "rng": _rng_state(),
            "metrics": metrics,
            "done": done,
        }


def random_shift(x: torch.Tensor, k: int) -> torch.Tensor:
    """Translate each image of ``x (N, C, H, W)`` by a random offset in ``[-k, k]^2`` (border replicated).

    Uses the global torch RNG, whose state the checkpoint saves, so a resumed run draws the same shifts.
    """
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (k, k, k, k), mode="replicate")
    dy = torch.randint(0, 2 * k + 1, (n,))
    dx = torch.randint(0, 2 * k + 1, (n,))
    out = torch.empty_like(x)
    for oy in range(2 * k + 1):
        for ox in range(2 * k + 1):
            idx = ((dy == oy) & (dx == ox)).nonzero(as_tuple=True)[0]
            if len(idx):
                out[idx] = padded[idx, :, oy : oy + h, ox : ox + w]
    return out


def _train_epoch(tr: _Trainer, epoch: int) -> tuple[float, int, int]:
    """One pass over (at most ``max_steps_per_epoch`` batches of) the training split.

    Returns:
        Summed loss, correct predictions and images seen (this process only).
    """
    nb = tr.plan.batches_per_epoch
    tr.sampler.set_epoch(epoch)
    tr.model.train()
    loss_sum, correct, count = 0.0, 0, 0
    bar = tqdm(
        total=nb, desc=f"epoch {epoch + 1}/{tr.cfg.epochs}", disable=tr.bars_off, leave=False, file=sys.stderr
    )
    try:
        for b, (x, y) in enumerate(tr.train_loader):
            if b >= nb:
                break
            g = epoch * nb + b
            step = tr.plan.step_at(g)
            if step != tr.step or tr.optimizer is None:
                tr.enter_step(step)
            tr.set_lr(g)
            x, y = x.to(tr.device), y.to(tr.device)
            if tr.cfg.augment_shift:
                x = random_shift(x, tr.cfg.augment_shift)
            logits = tr.net(x)
            loss = tr.loss(logits, x, y)
            tr.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            tr.optimizer.step()
            loss_sum += loss.item() * len(y)
            correct += int((logits.detach().argmax(1) == y).sum())
            count += len(y)
            bar.set_postfix(
                step=tr.step, loss=f"{loss_sum / count:.3f}", acc=f"{correct / count:.3f}", refresh=False
            )
            bar.update(1)
    finally:
        bar.close()
    return loss_sum, correct, count


def default_threads(world_size: int = 1) -> int:
    """Torch threads per process: the usable cores shared among the ranks, but 1 on a machine that is already
    busy (1-minute load average >= cores - 0.5). The small tensors of these models make intra-op threads pay
    off only on idle cores: measured on 2 cores, 2 threads are 1.4x faster than 1 when idle and 5-10x slower
    when another process competes for the cores (OpenMP workers wait for the preempted one)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    threads = max(1, cores // max(1, world_size))
    try:
        if os.getloadavg()[0] >= cores - 0.5:
            return 1
    except OSError:
        pass
    return threads


def _differences(cfg: TrainConfig, stored: TrainConfig) -> list[str]:
    a, b = cfg.to_dict(), stored.to_dict()
    return [f"{k}={a[k]!r} (checkpoint: {b[k]!r})" for k in a if k not in RUNTIME_FIELDS and a[k] != b[k]]


def _check_resume_config(cfg: TrainConfig, stored: TrainConfig, source: Path) -> None:
    diff = _differences(cfg, stored)
    if diff:
        raise ConfigError(
            f"{source}: cannot resume with different settings: {', '.join(diff)}; "
            f"use the run's configuration or another output directory"
        )


def train(
    cfg: TrainConfig | None,
    out_dir: str | os.PathLike,
    resume: bool = False,
    quiet: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train ``cfg.model`` on ``cfg.dataset`` through the three steps, writing ``out_dir`` as it goes.

    Args:
        cfg: the run's configuration; may be None with ``resume`` (the checkpoint's configuration is used).
        out_dir: run directory (created; must not hold another run unless ``resume`` or ``overwrite``).
        resume: continue the run in ``out_dir`` from its last completed epoch (a finished run is left as it is;
            an empty directory starts a new run). Runtime fields (:data:`RUNTIME_FIELDS`) may change; any other
            difference from the checkpoint's configuration is an error.
        quiet: no progress bars and no messages.
        overwrite: replace a run already in ``out_dir``.

    Returns:
        The final content of ``metrics.json``.

    Raises:
        ConfigError, OutputDirError, CheckpointError: before anything is written, with a one-line message.
    """
    ctx = DistContext.from_env()
    threads = torch.get_num_threads()
    try:
        return _train(cfg, Path(out_dir), resume, quiet, overwrite, ctx)
    finally:
        torch.set_num_threads(threads)
        ctx.close()


def _train(
    cfg: TrainConfig | None, out: Path, resume: bool, quiet: bool, overwrite: bool, ctx: DistContext
) -> dict[str, Any]:
    def say(msg: str) -> None:
        if ctx.main and not quiet:
            print(msg, file=sys.stderr)

    check_output_dir(out, resume, overwrite)
    ckpt = None
    if resume and cfg is None:
        cfg = _stored_config(out)
    if resume and (out / CHECKPOINT_NAME).exists():
        ckpt = read_checkpoint(out)
        stored = TrainConfig.from_dict(ckpt["train_config"])
        if cfg is None:
            cfg = stored
        elif _differences(cfg, stored) and _stored_config(out) == cfg:
            # config.json names another run than the checkpoint: an overwrite was interrupted before its
            # first epoch was saved; start that run (the old checkpoint is replaced after its first epoch)
            say(f"{out}: {CHECKPOINT_NAME} belongs to the run that {CONFIG_NAME} replaced; starting that run")
            ckpt = None
        else:
            _check_resume_config(cfg, stored, out / CHECKPOINT_NAME)
        if ckpt is not None and ckpt.get("done"):
            say(f"{out}: run already finished ({ckpt['epoch']} epochs); nothing to do")
            if ctx.main and not (out / METRICS_NAME).exists():
                atomic_write_json(out / METRICS_NAME, ckpt["metrics"], indent=2)
            return ckpt["metrics"]
        if ckpt is not None:
            say(f"{out}: resuming after epoch {ckpt['epoch']} of {cfg.epochs}")
    elif cfg is None:
        raise ConfigError(
            f"no configuration given and nothing to resume in {out} (no {CHECKPOINT_NAME} or {CONFIG_NAME})"
        )
    elif resume:
        say(f"{out}: no checkpoint yet; starting a new run")

    torch.set_num_threads(cfg.num_threads or default_threads(ctx.world))
    data = get_dataset(
        cfg.dataset,
        root=cfg.data_root,
        input_size=cfg.input_size,
        resize_mode=cfg.resize_mode,
        download=cfg.download,
        max_train_samples=cfg.max_train_samples,
        max_test_samples=cfg.max_test_samples,
    )
    tr = _Trainer(cfg, out, data, ctx, quiet)
    tr.build(ckpt)
    if ctx.main:
        _create_output_dir(out)
        atomic_write_json(out / CONFIG_NAME, cfg.to_dict(), indent=2)
    say(
        f"training {cfg.model} on {cfg.dataset} {data.info.input_shape}: {cfg.epochs} epochs x "
        f"{tr.plan.batches_per_epoch} batches of {cfg.batch_size}"
        + (f" x {ctx.world} ranks" if ctx.parallel else "")
    )
    return tr.run()


def main(argv: list[str] | None = None) -> int:
    """``python -m training.train CONFIG OUT_DIR [--resume] [--quiet] [--overwrite]`` (works under torchrun)."""
    ap = argparse.ArgumentParser(prog="python -m training.train", description="Train a dybnn model.")
    ap.add_argument("config", help="YAML or JSON TrainConfig")
    ap.add_argument("out_dir", help="run directory")
    ap.add_argument("--resume", action="store_true", help="continue the run in OUT_DIR")
    ap.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    ap.add_argument("--overwrite", action="store_true", help="replace a run already in OUT_DIR")
    args = ap.parse_args(argv)
    try:
        metrics = train(load_config(args.config), args.out_dir, args.resume, args.quiet, args.overwrite)
    except (ConfigError, OutputDirError, CheckpointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not args.quiet and int(os.environ.get("RANK", "0")) == 0:
        print(f"final test accuracy {metrics.get('final_test_acc', float('nan')):.4f}", file=sys.stderr)
    return 0


__all__ = [
    "CONFIG_NAME",
    "METRICS_NAME",
    "RUNTIME_FIELDS",
    "CheckpointError",
    "ConfigError",
    "OutputDirError",
    "TrainConfig",
    "check_output_dir",
    "default_threads",
    "distillation_loss",
    "evaluate",
    "load_checkpoint",
    "load_config",
    "load_teacher",
    "main",
    "run_config",
    "train",
]

if __name__ == "__main__":
    sys.exit(main())
