"""Static vs dynamic thresholds: train ReActNet and DyBNN models with the same budget over several seeds, then
estimate the hardware of each architecture; writes ``study.json`` (read by the report) and a markdown table."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from dybnn.errors import UserError
from dybnn.progress import Progress, report
from runfiles import layout as L
from runfiles.outputs import atomic_write_text


def validate(
    models: list[str],
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
            TrainConfig(model=m, dataset=dataset, epochs=epochs, augment_shift=augment_shift)
        except ConfigError as e:
            raise UserError(f"--models/--dataset: {e}") from None
    from hls.devices import UnknownPartError, resolve_part

    try:
        resolve_part(part)
    except UnknownPartError as e:
        raise UserError(f"--part: {e}") from None


def _run_dir(out: Path, model: str, seed: int) -> Path:
    return out / f"{model}-s{seed}"


def train_all(
    models: list[str],
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
            mp = d / L.METRICS_JSON
            if mp.exists() and json.loads(mp.read_text()).get("final_test_acc") is not None:
                continue
            cfg = {"model": m, "dataset": dataset, "epochs": epochs, "seed": s, "num_threads": 1, **extra}
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
    models: list[str],
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
        rec: dict[str, Any] = {"seeds": done, "acc": accs, "dynamic": m.startswith("dybnn")}
        if accs:
            rec["mean"] = statistics.fmean(accs)
            rec["std"] = statistics.stdev(accs) if len(accs) > 1 else 0.0
            rec["min"], rec["max"] = min(accs), max(accs)
            rec["hw"] = hardware(_run_dir(out, m, done[0]), part, clock_ns)
        doc["models"][m] = rec
    report(progress, "study: hardware estimates", len(models), len(models))
    return doc


def markdown(doc: dict[str, Any]) -> str:
    rows = [
        "| model | seeds | test accuracy (mean ± std) | min–max | LUT | BRAM18 | latency (cycles) | frames/s |",
        "|---|---|---|---|---:|---:|---:|---:|",
    ]
    for m, r in doc["models"].items():
        if not r.get("acc"):
            continue
        hw = r["hw"]
        rows.append(
            f"| {m} | {', '.join(map(str, r['seeds']))} | {100 * r['mean']:.2f} ± {100 * r['std']:.2f} % | "
            f"{100 * r['min']:.2f}–{100 * r['max']:.2f} % | {hw['lut']:,} | {hw['bram18']:g} | "
            f"{hw['latency_cycles']:,} | {hw['fps']:,.1f} |"
        )
    return "\n".join(rows)
