"""Static vs dynamic thresholds: train ReActNet and DyBNN models (and variants of them) with the same budget over
several seeds, then estimate the hardware of each architecture; writes ``study.json`` (read by the report), a
markdown table and the accuracy-vs-cost figure.

A study entry is a registry model, optionally with training-config fields that make it a variant:
``MODEL[:KEY=VALUE[:KEY=VALUE...]]``, e.g. ``dybnn-tiny:hyper_delta_bits=4`` (values are read as YAML scalars
and checked by :class:`training.train_config.TrainConfig`). The entry as written is its name in every output.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dybnn.errors import UserError
from dybnn.progress import Progress, report
from runfiles import layout as L
from runfiles.outputs import atomic_write_text

#: the registry models that are DyBNN as the paper describes it (every hyper function reads the tensor it
#: thresholds); other DyBNN-family models are variants
PAPER_DYNAMIC = frozenset({"dybnn-tiny", "dybnn-reactnet-a", "dybnn-react-resnet18"})


@dataclass(frozen=True)
class Entry:
    """One model of a study: its name (the spec as written), registry model and config overrides."""

    name: str
    model: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def dynamic(self) -> bool:
        """Dynamic thresholds (a DyBNN-family model)."""
        from training.models import get_spec

        return get_spec(self.model).family == "dybnn"

    @property
    def kind(self) -> str:
        """``static``, ``dynamic`` (a paper DyBNN as registered, :data:`PAPER_DYNAMIC`) or ``variant`` (a DyBNN
        with overrides, or another DyBNN-family registry model such as a hardware-aware variant)."""
        if not self.dynamic:
            return "static" if not self.overrides else "static variant"
        return "dynamic" if not self.overrides and self.model in PAPER_DYNAMIC else "variant"

    @property
    def dirname(self) -> str:
        """A file-system-safe form of the name (run directories are ``<dirname>-s<seed>``)."""
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.name.replace(":", "+"))


#: keys a study sets itself for every run (not allowed as overrides)
_STUDY_KEYS = ("model", "dataset", "epochs", "seed", "num_threads")


def parse_entry(spec: str) -> Entry:
    """``MODEL[:KEY=VALUE...]`` -> :class:`Entry` (the model and keys are checked by :func:`validate`).

    Raises:
        UserError: an empty model, a part without ``=``, a repeated key or a key the study sets itself.
    """
    import yaml

    spec = spec.strip()
    model, *parts = spec.split(":")
    if not model:
        raise UserError(f"--models: {spec!r} has no model name (expected MODEL[:KEY=VALUE...])")
    over: dict[str, Any] = {}
    for p in parts:
        key, eq, raw = p.partition("=")
        key = key.strip()
        if not eq or not key:
            raise UserError(f"--models: {spec!r}: {p!r} is not KEY=VALUE (expected MODEL[:KEY=VALUE...])")
        if key in _STUDY_KEYS:
            raise UserError(f"--models: {spec!r}: {key!r} is set by the study itself")
        if key in over:
            raise UserError(f"--models: {spec!r}: {key!r} given twice")
        try:
            over[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            over[key] = raw
    return Entry(spec, model, tuple(over.items()))


def parse_entries(models: str) -> list[Entry]:
    """A comma-separated list of entries; names must be unique."""
    entries = [parse_entry(m) for m in models.split(",") if m.strip()]
    names = [e.name for e in entries]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"--models: {', '.join(dup)} given twice")
    dirs = [e.dirname for e in entries]
    if len(set(dirs)) != len(dirs):
        raise UserError(f"--models: two entries map to the same run directory name ({', '.join(dirs)})")
    return entries


def validate(
    models: list[Entry],
    seeds: list[int],
    epochs: int,
    dataset: str,
    jobs: int,
    part: str,
    clock_ns: float,
    augment_shift: int = 0,
) -> None:
    """Check every option before anything is trained (models, dataset, part, numbers).

    Raises:
        UserError: naming the option and the valid values.
    """
    import math

    if not models:
        raise UserError("--models: give at least one model")
    if not seeds:
        raise UserError("--seeds: give at least one seed")
    if jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {jobs}")
    if not (math.isfinite(clock_ns) and clock_ns > 0):
        raise UserError(f"--clock-ns must be a positive number of ns, got {clock_ns}")
    from training.train_config import ConfigError, TrainConfig

    for m in models:
        try:
            TrainConfig.from_dict(
                {"model": m.model, "dataset": dataset, "epochs": epochs, "augment_shift": augment_shift,
                 **dict(m.overrides)}
            )  # fmt: skip
        except ConfigError as e:
            raise UserError(f"--models {m.name} / --dataset: {e}") from None
    from hls.devices import UnknownPartError, resolve_part

    try:
        resolve_part(part)
    except UnknownPartError as e:
        raise UserError(f"--part: {e}") from None


def _run_dir(out: Path, entry: Entry, seed: int) -> Path:
    return out / f"{entry.dirname}-s{seed}"


def train_all(
    models: list[Entry],
    seeds: list[int],
    epochs: int,
    dataset: str,
    out: Path,
    jobs: int,
    extra: dict[str, Any],
    *,
    progress: Progress | None = None,
) -> list[tuple[Path, str]]:
    """Train every (model, seed) not yet done, ``jobs`` processes at a time (1 torch thread each).

    Returns:
        ``(run directory, reason)`` of every training that failed (its ``train.log`` has the details).
    """
    todo = []
    for m in models:
        for s in seeds:
            d = _run_dir(out, m, s)
            cfg = {
                **extra,
                **dict(m.overrides),
                "model": m.model,
                "dataset": dataset,
                "epochs": epochs,
                "seed": s,
                "num_threads": 1,
            }
            mp, cp = d / L.METRICS_JSON, d / L.STUDY_CONFIG_JSON
            if mp.exists() and json.loads(mp.read_text()).get("final_test_acc") is not None:
                old = json.loads(cp.read_text()) if cp.exists() else None
                if old != cfg:
                    raise UserError(
                        f"{d}: holds a finished run of other settings ({cp.name}: {old}, this study: {cfg}); "
                        "choose another --out"
                    )
                continue  # done with these settings
            d.mkdir(parents=True, exist_ok=True)
            atomic_write_text(d / L.STUDY_CONFIG_JSON, json.dumps(cfg))
            todo.append(d)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    running: list[subprocess.Popen] = []
    procs: list[tuple[Path, subprocess.Popen]] = []
    total = len(todo)

    def finished() -> int:
        return sum(p.poll() is not None for _, p in procs)

    report(progress, "study: training", 0, total)
    for d in todo:
        while len(running) >= jobs:
            running[0].wait()
            running = [p for p in running if p.poll() is None]
            report(progress, "study: training", finished(), total)
        cmd = [
            sys.executable,
            "-m",
            "training.train",
            str(d / L.STUDY_CONFIG_JSON),
            str(d),
            "--quiet",
            "--overwrite",
        ]
        with open(d / "train.log", "w") as log:
            p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        running.append(p)
        procs.append((d, p))
    for p in running:
        p.wait()
        report(progress, "study: training", finished(), total)
    failed = []
    for d, p in procs:
        if p.returncode != 0:
            failed.append((d, _last_line(d / "train.log") or f"exit status {p.returncode}"))
    return failed


def _last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def hardware(run_dir: Path, part: str, clock_ns: float) -> dict[str, Any]:
    """Export, lower and estimate one trained run: LUT, BRAM18, latency and frames/s with automatic folding."""
    from hls.devices import resolve_part
    from hls.estimate import EstimateConfig, GraphModel, folding_search
    from hls.estimate.pipeline import config_for
    from hwsim.lower import lower
    from training.export import export_checkpoint

    onnx = run_dir / L.MODEL_ONNX
    if not onnx.exists():
        export_checkpoint(run_dir, onnx)
    g = lower(onnx)
    device = resolve_part(part)
    cfg = config_for(device, EstimateConfig())
    m = GraphModel(g, cfg)
    folding = folding_search(g, clock_ns, fit=device, cfg=cfg, model=m)
    est = m.estimate(folding, clock_ns, device)
    t = est.totals
    return {
        "lut": int(t.lut),
        "ff": int(t.ff),
        "bram18": float(t.bram18),
        "uram": float(t.uram),
        "dsp": int(t.dsp),
        "latency_cycles": int(est.latency_cycles),
        "fps": float(est.fps),
        "bottleneck": est.bottleneck,
    }


def collect(
    models: list[Entry],
    seeds: list[int],
    out: Path,
    part: str,
    clock_ns: float,
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"part": part, "clock_ns": clock_ns, "models": {}}
    for i, m in enumerate(models):
        report(progress, "study: hardware estimates", i, len(models))
        accs, done = [], []
        for s in seeds:
            mp = _run_dir(out, m, s) / L.METRICS_JSON
            if mp.exists():
                a = json.loads(mp.read_text()).get("final_test_acc")
                if a is not None:
                    accs.append(float(a))
                    done.append(s)
        rec: dict[str, Any] = {
            "model": m.model,
            "overrides": dict(m.overrides),
            "kind": m.kind,
            "seeds": done,
            "acc": accs,
            "dynamic": m.dynamic,
        }
        if accs:
            rec["mean"] = statistics.fmean(accs)
            rec["std"] = statistics.stdev(accs) if len(accs) > 1 else 0.0
            rec["min"], rec["max"] = min(accs), max(accs)
            rec["hw"] = hardware(_run_dir(out, m, done[0]), part, clock_ns)
        doc["models"][m.name] = rec
    report(progress, "study: hardware estimates", len(models), len(models))
    return doc


def markdown(doc: dict[str, Any]) -> str:
    """The study's table: one row per entry with accuracy over seeds and the seed-0 model's hardware."""
    rows = [
        "| model | kind | seeds | test accuracy (mean ± std) | min–max | LUT | BRAM18 | latency (cycles) "
        "| frames/s |",
        "|---|---|---|---|---|---:|---:|---:|---:|",
    ]
    for m, r in doc["models"].items():
        if not r.get("acc"):
            continue
        hw = r["hw"]
        rows.append(
            f"| {m} | {r.get('kind', '')} | {', '.join(map(str, r['seeds']))} | {100 * r['mean']:.2f} ± {100 * r['std']:.2f} % | "
            f"{100 * r['min']:.2f}–{100 * r['max']:.2f} % | {hw['lut']:,} | {hw['bram18']:g} | "
            f"{hw['latency_cycles']:,} | {hw['fps']:,.1f} |"
        )
    return "\n".join(rows)
