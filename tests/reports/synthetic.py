"""Synthetic records and run directories for the report tests (deterministic: no random numbers, so that the
summary snapshot does not depend on a generator's stream)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from runfiles.records import EstimatesRecord

LAYER_TYPES = [
    ("inp", "InputQuant"),
    ("stem", "FixedConv"),
    ("stem_add", "Add"),
    ("b0_dysign", "DynamicSign"),
    ("b0_swg", "SlidingWindow"),
    ("b0_conv3x3", "XnorConv"),
    ("b0_prelu", "DynamicPReLU"),
    ("b1_dysign", "DynamicSign"),
    ("b1_conv1x1", "XnorConv"),
    ("pool", "GlobalPool"),
    ("fc", "FixedDense"),
    ("top", "LabelSelect"),
]


def config() -> dict[str, Any]:
    return {
        "model": "dybnn-tiny",
        "dataset": "mnist5k",
        "epochs": 5,
        "batch_size": 64,
        "lr": 0.001,
        "seed": 0,
        "step_split": [0.4, 0.4, 0.2],
        "teacher": None,
        "hyper_lambda": 0.5,
    }


def metrics(epochs_key: str = "records") -> dict[str, Any]:
    recs = []
    for e in range(1, 6):
        step = 1 if e <= 2 else 2 if e <= 4 else 3
        recs.append(
            {
                "epoch": e,
                "step": step,
                "steps": [step],
                "train_loss": round(2.0 / e, 4),
                "train_acc": round(0.6 + 0.07 * e, 4),
                "test_loss": round(2.2 / e, 4),
                "test_acc": round(0.58 + 0.068 * e, 4),
                "lr": 0.001 * (1 - (e - 1) / 5),
                "seconds": 10.0 + e,
            }
        )
    m: dict[str, Any] = {
        "model": "dybnn-tiny",
        "dataset": {"name": "mnist5k"},
        "epochs": 5,
        "batches_per_epoch": 10,
        "step_batches": {"1": [0, 20], "2": [20, 40], "3": [40, 50]},
        "done": True,
        "seconds": 65.0,
        "final_test_acc": recs[-1]["test_acc"],
        "final_test_loss": recs[-1]["test_loss"],
    }
    if epochs_key == "records":
        m["records"] = recs
    else:
        m["epochs"] = recs
        del m["step_batches"]
    return m


def verify(mismatch: bool = False) -> dict[str, Any]:
    """A ``verify.json`` as ``verify.levels`` writes it (:class:`runfiles.records.VerifyReport`)."""
    counts = [
        ("torch", "qonnx", 14, 1_204_224),
        ("qonnx", "ref", 14, 1_204_224),
        ("ref", "numba", 12, 1_100_800),
    ]
    pairs = [
        {
            "a": a,
            "b": b,
            "samples": 16,
            "tensors": t,
            "elements": e,
            "mismatches": 0,
            "first": None,
            "bad_tensors": [],
        }
        for a, b, t, e in counts
    ]
    if mismatch:
        pairs[2]["mismatches"] = 3
        pairs[2]["bad_tensors"] = ["b0_conv3x3_out"]
        pairs[2]["first"] = {
            "tensor": "b0_conv3x3_out",
            "node": "b0_conv3x3",
            "index": [0, 3, 4, 7],
            "a": 12,
            "b": 10,
        }
    return {
        "model": "dybnn-tiny",
        "ok": not mismatch,
        "samples": {level: 16 for level in ("torch", "qonnx", "ref", "numba")},
        "pairs": pairs,
        "notes": [],
        "seconds": {"ref": 0.4, "numba": 0.1, "qonnx": 3.2, "torch": 0.6},
    }


def estimates() -> dict[str, Any]:
    """An ``estimates.json`` as ``dybnn estimate --json --target-fps 5000`` writes it
    (:class:`runfiles.records.EstimatesRecord`)."""
    layers = []
    for i, (name, typ) in enumerate(LAYER_TYPES):
        dyn = typ.startswith("Dynamic")
        xnor = typ == "XnorConv"
        layers.append(
            {
                "name": name,
                "type": typ,
                "pe": 4 if xnor else 1,
                "simd": 8 if xnor else 1,
                "cycles": 784 * (i % 4 + 1) + (12_544 if xnor and i == 5 else 0),
                "lut": 300 + 450 * i + (2_500 if xnor else 0),
                "ff": 200 + 300 * i,
                "bram18": 4 if dyn else (2 if xnor else 0),
                "uram": 0,
                "dsp": 3 if typ in ("FixedConv", "FixedDense") else 0,
            }
        )
    keys = ("lut", "ff", "bram18", "uram", "dsp")
    totals = {k: sum(r[k] for r in layers) for k in keys}
    system = {
        "lut": totals["lut"] + 5_000,
        "ff": totals["ff"] + 6_000,
        "bram18": totals["bram18"] + 4,
        "uram": 0,
        "dsp": totals["dsp"],
    }
    cap = {"lut": 53_200, "ff": 106_400, "bram18": 280, "uram": 0, "dsp": 220}
    max_cycles = max(r["cycles"] for r in layers)
    dynamic = {
        "totals": totals,
        "system_totals": system,
        "fps": 7_971.3,
        "max_cycles": max_cycles,
        "latency_cycles": 31_360,
        "bottleneck": "b0_conv3x3",
    }
    static_system = {**system, "lut": system["lut"] - 3_000, "ff": system["ff"] - 2_000}
    static_system["bram18"] = system["bram18"] - 12
    static = {
        **dynamic,
        "totals": {k: totals[k] - (system[k] - static_system[k]) for k in keys},
        "system_totals": static_system,
        "latency_cycles": 20_384,
    }
    return {
        "graph": "dybnn-tiny",
        "clock_ns": 10.0,
        **dynamic,
        "latency_us": 313.6,
        "layers": layers,
        "fifos": [],
        "shortcut_fifos": {},
        "host_nodes": [],
        "folding": {r["name"]: {"pe": r["pe"], "simd": r["simd"]} for r in layers},
        "device": {
            "family": "Zynq-7000",
            "part": "xc7z020clg400-1",
            "platform": "embedded",
            "capacity": cap,
            "source": "synthetic",
            "shell": "synthetic",
        },
        "utilization": {k: (system[k] / cap[k] if cap[k] else None) for k in cap},
        "fits": True,
        "static_vs_dynamic": {
            "dynamic": dynamic,
            "static": static,
            "delta": {k: system[k] - static_system[k] for k in keys},
            "dynamic_nodes": [],
        },
        "estimate_seconds": 0.2,
        "made_from": {},
        "target_fps": 5000.0,
        "target_met": True,
    }


def csim(ok: bool = True) -> dict[str, Any]:
    cyc = {name: 784 * (i % 4 + 1) for i, (name, _) in enumerate(LAYER_TYPES[:4])}
    return {
        "ok": ok,
        "samples": 16,
        "mismatches": 0 if ok else 2,
        "build_seconds": 21.4,
        "run_seconds": 0.8,
        "cycles": cyc,
        "expected_cycles": dict(cyc),
    }


def thresholds(samples: int = 40, channels: tuple[int, ...] = (48, 16)) -> dict[str, np.ndarray]:
    """Two DySign sites; values on a fixed-point grid (multiples of 2**-8), deterministic."""
    out: dict[str, np.ndarray] = {}
    names = [f"blocks.{i}.sign" for i in range(len(channels))]
    for i, (name, c) in enumerate(zip(names, channels, strict=True)):
        tau = np.round(np.sin(np.arange(c) * 0.7 + i) * 256) / 256
        s = np.arange(samples)[:, None]
        ch = np.arange(c)[None, :]
        delta = (
            np.round(0.5 * np.sin(0.37 * s * (ch % 5 + 1) + 0.11 * ch) * (0.2 + 0.8 * (ch % 3) / 2) * 256)
            / 256
        )
        out[f"{name}.thresholds"] = (tau[None, :] + delta).astype(np.float32)
        out[f"{name}.tau"] = tau.astype(np.float32)
    out["sites"] = np.array(names)
    return out


def study() -> dict[str, Any]:
    return {
        "models": {
            "dybnn-tiny": {
                "seeds": [0, 1, 2],
                "acc": [0.9712, 0.9688, 0.9731],
                "mean": 0.9710333,
                "std": 0.0017600,
                "hw": {"lut": 21_950, "bram18": 26, "latency_cycles": 31_360, "fps": 7_971.3},
            },
            "reactnet-tiny": {
                "seeds": [0, 1, 2],
                "acc": [0.9641, 0.9655, 0.9620],
                "mean": 0.9638667,
                "std": 0.0014383,
                "hw": {"lut": 18_950, "bram18": 14, "latency_cycles": 20_384, "fps": 7_971.3},
            },
        }
    }


def write_run(d: Path, skip: tuple[str, ...] = ()) -> Path:
    """A complete synthetic run directory in ``d``, minus the steps in ``skip``."""
    d.mkdir(parents=True, exist_ok=True)

    def dump(rel: str, obj: Any) -> None:
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(obj, indent=1))

    if "train" not in skip:
        dump("config.json", config())
        dump("metrics.json", metrics())
    if "export" not in skip:
        (d / "model.onnx").write_bytes(b"\x08\x07")  # presence is all the report checks
    if "lower" not in skip:
        dump("hw/graph.json", {"nodes": [{"op_type": t, "name": n} for n, t in LAYER_TYPES], "tensors": {}})
    if "verify" not in skip:
        dump("verify.json", verify())
    if "estimate" not in skip:
        dump("estimates.json", estimates())
    if "hls" not in skip:
        dump("hls/csim.json", csim())
    if "thresholds" not in skip:
        np.savez(d / "thresholds.npz", **thresholds())
    if "study" not in skip:
        dump("study.json", study())
    return d


def empty_estimates() -> EstimatesRecord:
    """An estimate with nothing to draw: no layers, no device."""
    doc = estimates()
    doc.update(layers=[], fifos=[], folding={}, device=None, utilization=None, fits=None)
    return EstimatesRecord.from_json(doc)
