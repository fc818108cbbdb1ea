"""The paper's DyBNN backbones at 224x224 through the whole chain, on this machine: time and peak memory.

    python benchmarks/bench_paper_models.py --out /tmp/paper            # both models, every step
    python benchmarks/bench_paper_models.py --models dybnn-react-resnet18 --steps export,verify

For ``dybnn-reactnet-a`` and ``dybnn-react-resnet18`` (native 3x224x224) it runs the ``dybnn`` CLI, each step in
its own process, and records the wall time, the CPU time (user + system, all threads) and the peak resident
memory of that process (``os.wait4``, as ``/usr/bin/time -v`` reports them), and the 1-minute load average at
its end (the machine is shared: a load above 2 means the wall time is inflated):

* ``export``       ``dybnn export --model M --random-init --out DIR`` (synthetic calibration)
* ``export-real``  the same calibrated on 2 digits images resized to 224x224 (``--calib-data digits``)
* ``lower``        ``dybnn lower DIR/model.onnx --out DIR/hw``
* ``verify``       ``dybnn verify DIR --samples 2`` (torch, qonnx, ref, numba; exact or exit 1)
* ``verify-real``  the same on the digits-calibrated export
* ``estimate``     ``dybnn estimate DIR/model.onnx --part u250``
* ``hls-csim``     ``dybnn hls DIR/model.onnx --part u250 --clock-ns 4 --out DIR/hls --csim --samples 1`` (project
                   generation, g++ build of the C simulation, one frame, compared with hwsim exactly)
* ``train``        ``dybnn train --model M --config DIR/train-M-digits-224.yaml``: a few steps on the digits resized to
                   224x224 (3 epochs of one batch of 2 images, 8 training and 4 test images: one step of each
                   training step, BatchNorm folded in the third), no export

``--models all`` runs the whole registry (the ten models, each at its native input size), e.g.
``--models all --steps export,verify --samples 1``: every model exported from random init and verified exactly
on all four levels, PyTorch included (the export writes the checkpoint beside ``model.onnx``).

The numbers recorded in ``docs/performance.md`` come from this script; a failing step is reported with its exit
status and the last line of its output. Run it alone: it keeps both cores busy for several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

MODELS = ("dybnn-reactnet-a", "dybnn-react-resnet18")
STEPS = ("export", "export-real", "lower", "verify", "verify-real", "estimate", "hls-csim", "train")


def run(cmd: list[str], cwd: Path) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MiB) of the process, exit status, last output line."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(cwd) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = p.stdout.read() if p.stdout is not None else ""
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    lines = [ln for ln in out.splitlines() if ln.strip() and "Warning" not in ln and "warn(" not in ln]
    return {
        "cmd": " ".join(cmd[2:]),
        "seconds": round(wall, 1),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mib": round(usage.ru_maxrss / 1024),  # Linux: KiB
        "load": round(os.getloadavg()[0], 1),
        "exit": p.returncode,
        "last": lines[-1] if lines else "",
        "output": lines[-12:],
    }


def _train_config(out: Path, model: str) -> Path:
    """A few training steps on the digits resized to 224x224: 8 training and 4 test images, one batch of 2 per
    epoch, 3 epochs (one per training step, BatchNorm folded in the third)."""
    out.mkdir(parents=True, exist_ok=True)
    p = out / f"train-{model}-digits-224.yaml"
    p.write_text(
        f"model: {model}\ndataset: digits\ninput_size: 224\nepochs: 3\nbatch_size: 2\nmax_steps_per_epoch: 1\n"
        "max_train_samples: 8\nmax_test_samples: 4\n"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="work directory (one subdirectory per model)")
    ap.add_argument(
        "--models", default=",".join(MODELS), help="comma-separated names, or 'all' (the registry)"
    )
    ap.add_argument("--steps", default=",".join(STEPS))
    ap.add_argument("--samples", type=int, default=2, help="verify samples")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    py = [sys.executable, "-m", "dybnn"]
    steps = [s for s in a.steps.split(",") if s]
    records = []
    names = a.models.split(",")
    if a.models == "all":
        sys.path.insert(0, str(root))
        from training.models import MODELS as REGISTRY

        names = list(REGISTRY)
    for m in names:
        d = a.out / m
        real = a.out / f"{m}-digits"
        plan = {
            "export": [*py, "export", "--model", m, "--random-init", "--out", str(d)],
            "export-real": [*py, "export", "--model", m, "--random-init", "--out", str(real),
                            "--calib-data", "digits", "--calib-images", "2"],
            "lower": [*py, "lower", str(d / "model.onnx"), "--out", str(d / "hw")],
            "verify": [*py, "verify", str(d), "--samples", str(a.samples), "--qonnx-samples", str(a.samples)],
            "verify-real": [*py, "verify", str(real), "--samples", str(a.samples), "--qonnx-samples", str(a.samples)],
            "estimate": [*py, "estimate", str(d / "model.onnx"), "--part", "u250"],
            "hls-csim": [*py, "hls", str(d / "model.onnx"), "--part", "u250", "--clock-ns", "4",
                         "--out", str(d / "hls"), "--csim", "--samples", "1", "--timeout", "1200"],
            "train": [*py, "train", "--model", m, "--config", str(_train_config(a.out, m)),
                      "--out", str(a.out / f"{m}-train"), "--overwrite", "--no-export", "--quiet"],
        }  # fmt: skip
        for s in steps:
            r = {"model": m, "step": s, **run(plan[s], root)}
            records.append(r)
            if not a.json:
                print(f"{m:22s} {s:12s} {r['seconds']:8.1f} s wall {r['cpu_seconds']:8.1f} s cpu "
                      f"{r['peak_rss_mib']:7d} MiB  load {r['load']:4.1f}  exit {r['exit']}  {r['last'][:90]}",
                      flush=True)  # fmt: skip
                if r["exit"]:
                    print("\n".join("    " + ln for ln in r["output"]), flush=True)
    if a.json:
        print(json.dumps(records, indent=1))
    return 0 if all(r["exit"] == 0 for r in records) else 1


if __name__ == "__main__":
    raise SystemExit(main())
