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
) -> None:
    """Train every (model, seed) not yet done, ``jobs`` processes at a time (1 torch thread each)."""
    todo = []
    for m in models:
        for s in seeds:
            d = _run_dir(out, m, s)
            mp = d / "metrics.json"
            if mp.exists() and json.loads(mp.read_text()).get("final_test_acc") is not None:
                continue
            cfg = {"model": m, "dataset": dataset, "epochs": epochs, "seed": s, "num_threads": 1, **extra}
            d.mkdir(parents=True, exist_ok=True)
            (d / "study_config.json").write_text(json.dumps(cfg))
            todo.append(d)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    running: list[subprocess.Popen] = []
    for d in todo:
        while len(running) >= jobs:
            running[0].wait()
            running = [p for p in running if p.poll() is None]
        cmd = [
            sys.executable,
            "-m",
            "training.train",
            str(d / "study_config.json"),
            str(d),
            "--quiet",
            "--overwrite",
        ]
        running.append(
            subprocess.Popen(cmd, env=env, stdout=open(d / "train.log", "w"), stderr=subprocess.STDOUT)
        )
    for p in running:
        p.wait()


def hardware(run_dir: Path, part: str, clock_ns: float) -> dict[str, Any]:
    """Export, lower and estimate one trained run: LUT, BRAM18, latency and frames/s with automatic folding."""
    from hls.devices import resolve_part
    from hls.estimate import EstimateConfig, GraphModel, folding_search
    from hls.estimate.design import config_for
    from hwsim.lower import lower
    from training.export import export_checkpoint

    onnx = run_dir / "model.onnx"
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


def collect(models: list[str], seeds: list[int], out: Path, part: str, clock_ns: float) -> dict[str, Any]:
    doc: dict[str, Any] = {"part": part, "clock_ns": clock_ns, "models": {}}
    for m in models:
        accs, done = [], []
        for s in seeds:
            mp = _run_dir(out, m, s) / "metrics.json"
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
