"""Read a run directory into plain records, tolerating missing and unreadable files.

Layout of a run directory (each file written by one step; any of them may be absent):

==========================  =====================  ==========================================================
file                        step                   content
==========================  =====================  ==========================================================
``config.json``             train                  the training configuration (``training.train.TrainConfig``)
``metrics.json``            train                  per-epoch records (``records``, or ``epochs`` as a list),
                                                   ``final_test_acc``
``model.onnx``              export                 the QONNX model
``hw/graph.json``           lower                  the hardware graph (``nodes``: list with ``op_type``)
``verify.json``             verify                 :class:`runfiles.records.VerifyReport` (typed, checked)
``estimates.json``          estimate               :class:`runfiles.records.EstimatesRecord` (typed, checked)
``hls/csim.json``           hls                    ``ok``, ``samples``, ``mismatches``, ``build_seconds``,
                                                   ``run_seconds``, ``cycles``, ``expected_cycles``
``thresholds.npz``          thresholds             ``sites`` and per site ``<site>.thresholds`` (samples x
                                                   channels), ``<site>.tau`` (channels)
``study.json``              study                  ``models``: name -> ``seeds``, ``acc``, ``mean``, ``std``,
                                                   ``hw`` (``lut``, ``bram18``, ``latency_cycles``, ``fps``)
==========================  =====================  ==========================================================

Nothing here draws or formats; :mod:`reports.sections` does.
"""

from __future__ import annotations

import json
import os
import shlex
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runfiles import layout as L
from runfiles.records import EstimatesRecord, Record, RtlSimRecord, RunFileError, VerifyReport

#: step -> file of the run directory that shows the step is done (relative path)
STEP_FILES: dict[str, str] = {
    "train": L.METRICS_JSON,
    "export": L.MODEL_ONNX,
    "lower": f"{L.HW_DIR}/{L.GRAPH_JSON}",
    "verify": L.VERIFY_JSON,
    "estimate": L.ESTIMATES_JSON,
    "hls": f"{L.HLS_DIR}/{L.CSIM_JSON}",
    "thresholds": L.THRESHOLDS_NPZ,
    "study": L.STUDY_JSON,
}
CONFIG_FILE = L.CONFIG_JSON

#: step -> the command that produces its file; ``{dir}`` is the (shell-quoted) run directory.
#: One table, so that the report's hints follow the CLI when a verb changes.
STEP_COMMANDS: dict[str, str] = {
    "train": "dybnn train --model dybnn-tiny --dataset mnist5k --epochs 3 --out {dir}",
    "export": "dybnn export {dir}",
    "lower": "dybnn lower {dir}/model.onnx --out {dir}/hw",
    "verify": "dybnn flow --out {dir} --only verify",
    "estimate": "dybnn estimate {dir}/model.onnx --part xc7z020clg400-1 --clock-ns 10 --json --out {dir}/estimates.json",
    "hls": "dybnn flow --out {dir} --only hls",
    "thresholds": "dybnn flow --out {dir} --only thresholds",
    "study": "dybnn study --out {dir}",
    "rtl": "dybnn rtl {dir} --part xc7z020clg400-1 --clock-ns 10 --out {dir}/rtl --sim",
}

#: step -> one line: what the step is
STEP_TITLES: dict[str, str] = {
    "train": "Training",
    "export": "QONNX export",
    "lower": "Hardware graph",
    "verify": "Verification",
    "estimate": "Resource and performance estimate",
    "hls": "HLS C-simulation",
    "thresholds": "Dynamic thresholds",
    "study": "Static vs dynamic thresholds",
    "rtl": "RTL simulation (Verilator)",
}


def step_command(step: str, run_dir: str | os.PathLike) -> str:
    """The command that produces ``step``'s file in ``run_dir`` (shell-quoted path)."""
    return STEP_COMMANDS[step].format(dir=shlex.quote(str(run_dir)))


@dataclass(frozen=True)
class RunRecords:
    """What a run directory holds. A record is ``None`` when its file is missing or unreadable; ``errors`` says
    why for unreadable ones (``step -> message``)."""

    run_dir: Path
    config: Mapping[str, Any] | None = None
    metrics: Mapping[str, Any] | None = None
    model_onnx: Path | None = None
    graph: Mapping[str, Any] | None = None
    verify: VerifyReport | None = None
    estimates: EstimatesRecord | None = None
    csim: Mapping[str, Any] | None = None
    thresholds: Mapping[str, np.ndarray] | None = None
    study: Mapping[str, Any] | None = None
    #: ``rtl_sim.json`` (``dybnn rtl RUN_DIR --sim``); the report shows it only when present
    rtl_sim: RtlSimRecord | None = None
    #: step -> relative path of the file read (or expected)
    files: Mapping[str, str] = field(default_factory=dict)
    #: step -> why its file could not be read
    errors: Mapping[str, str] = field(default_factory=dict)
    #: step -> why its record is stale (it was made from another checkpoint, model or graph than the run holds)
    stale: Mapping[str, str] = field(default_factory=dict)

    def record(self, step: str) -> Any:
        """The record of ``step`` (``train`` -> metrics, ``export`` -> the model path, ...)."""
        return {
            "train": self.metrics,
            "export": self.model_onnx,
            "lower": self.graph,
            "verify": self.verify,
            "estimate": self.estimates,
            "hls": self.csim,
            "thresholds": self.thresholds,
            "study": self.study,
            "rtl": self.rtl_sim,
        }[step]


def _read_json(path: Path) -> Mapping[str, Any]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)  # NaN/Infinity are accepted: Python's json writes them for nan losses
    if not isinstance(doc, dict):
        raise ValueError(f"expected a JSON object, got {type(doc).__name__}")
    return doc


def read_thresholds(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load ``thresholds.npz`` fully into memory: ``{"sites": array of str, "<site>.thresholds": (N, C),
    "<site>.tau": (C,)}``; ``sites`` is derived from the keys when the file lacks it."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    if "sites" not in arrays:
        arrays["sites"] = np.array(
            sorted(k.removesuffix(".thresholds") for k in arrays if k.endswith(".thresholds"))
        )
    for site in threshold_sites(arrays):
        thr = arrays.get(f"{site}.thresholds")
        if thr is None or thr.ndim != 2:
            raise ValueError(f"site {site!r}: expected a 2-D array {site}.thresholds (samples x channels)")
        tau = arrays.get(f"{site}.tau")
        if tau is not None and tau.shape != (thr.shape[1],):
            raise ValueError(f"site {site!r}: tau has shape {tau.shape}, expected ({thr.shape[1]},)")
    return arrays


def threshold_sites(thresholds: Mapping[str, np.ndarray]) -> list[str]:
    """The DySign site names of a thresholds record, in recorded order."""
    if "sites" in thresholds:
        return [str(s) for s in np.asarray(thresholds["sites"]).reshape(-1)]
    return sorted(k.removesuffix(".thresholds") for k in thresholds if k.endswith(".thresholds"))


def _find_csim(run_dir: Path) -> Path:
    """``hls/csim.json``, else the first ``hls/<project>/csim.json`` (a project per model name)."""
    p = run_dir / STEP_FILES["hls"]
    if p.exists():
        return p
    hls = run_dir / L.HLS_DIR
    found = sorted(hls.glob(f"*/{L.CSIM_JSON}")) if hls.is_dir() else []
    return found[0] if found else p


def load_run(run_dir: str | os.PathLike) -> RunRecords:
    """Read every file of ``run_dir`` that the report uses; a missing file gives ``None``, an unreadable one
    ``None`` plus a message in ``errors``. Raises ``NotADirectoryError`` when ``run_dir`` is not a directory."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise NotADirectoryError(f"{run_dir}: not a directory (expected a run directory)")
    files = dict(STEP_FILES)
    csim_path = _find_csim(run_dir)
    files["hls"] = csim_path.relative_to(run_dir).as_posix()
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}

    def attempt(step: str, key: str, path: Path, reader) -> None:
        if not path.exists():
            return
        rel = path.relative_to(run_dir).as_posix()
        try:
            out[key] = reader(path)
        except RunFileError as e:  # names the file and the field already
            errors[step] = str(e)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            errors[step] = f"{rel}: {e}"

    def record(cls: type[Record]):
        return lambda path: cls.from_json(_read_json(path), path.relative_to(run_dir).as_posix())

    attempt("config", "config", run_dir / CONFIG_FILE, _read_json)
    attempt("train", "metrics", run_dir / files["train"], _read_json)
    attempt("lower", "graph", run_dir / files["lower"], _read_json)
    attempt("verify", "verify", run_dir / files["verify"], record(VerifyReport))
    attempt("estimate", "estimates", run_dir / files["estimate"], record(EstimatesRecord))
    attempt("hls", "csim", csim_path, _read_json)
    attempt("thresholds", "thresholds", run_dir / files["thresholds"], read_thresholds)
    attempt("study", "study", run_dir / files["study"], _read_json)
    files["rtl"] = L.RTL_SIM_JSON
    attempt("rtl", "rtl_sim", run_dir / L.RTL_SIM_JSON, record(RtlSimRecord))
    onnx = run_dir / files["export"]
    if onnx.is_file():
        out["model_onnx"] = onnx
    return RunRecords(run_dir=run_dir, files=files, errors=errors, stale=staleness(run_dir, out), **out)


#: step -> the steps whose products it is made from
STEP_INPUTS: dict[str, tuple[str, ...]] = {
    "export": ("train",),
    "lower": ("export",),
    "verify": ("train", "export", "lower"),
    "estimate": ("lower",),
    "hls": ("lower",),
    "thresholds": ("train",),
    "rtl": ("lower",),
}
#: ``made_from`` key -> (the file it stands for, the step that writes it)
_DIGEST_FILES = {
    "checkpoint_sha256": (L.CHECKPOINT, "train"),
    "onnx_sha256": (L.MODEL_ONNX, "export"),
    "graph_sha256": (f"{L.HW_DIR}/", "lower"),
}


def staleness(run_dir: Path, records: Mapping[str, Any]) -> dict[str, str]:
    """Which steps' records were made from other products than the run holds now, and why.

    Each output records the SHA-256 of what it was made from (``made_from`` in ``verify.json``,
    ``estimates.json``, ``hls/csim.json``; the manifests ``.dybnn-export.json``, ``hw/.dybnn-lower.json``,
    ``.dybnn-thresholds.json``); a record whose digest differs from the current file is stale, and so is
    everything made from a stale record. Records without ``made_from`` (older runs) are taken as they are.
    """
    from runfiles.outputs import changed_inputs, made_from, run_digests

    current = run_digests(run_dir)
    recorded: dict[str, Mapping[str, Any] | None] = {
        "export": made_from(run_dir, "export"),
        "lower": made_from(run_dir / L.HW_DIR, "lower"),
        "thresholds": made_from(run_dir, "thresholds"),
    }
    for step, key in (("verify", "verify"), ("estimate", "estimates"), ("rtl", "rtl_sim")):
        rec = records.get(key)
        recorded[step] = rec.made_from if rec is not None else None
    csim = records.get("csim")
    recorded["hls"] = csim.get("made_from") if isinstance(csim, Mapping) else None
    stale: dict[str, str] = {}
    for step, inputs in STEP_INPUTS.items():  # in flow order, so a step's inputs are decided first
        changed = changed_inputs(recorded.get(step), current)
        if changed:
            name = _DIGEST_FILES[changed[0]][0]
            stale[step] = f"made from another {name} than the one in the run directory"
            continue
        upstream = [s for s in inputs if s in stale]
        if upstream:
            stale[step] = f"made from the {upstream[0]} output, which is stale"
    return stale


def epoch_records(metrics: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The per-epoch records of ``metrics.json``: ``records`` (as ``training.train`` writes it) or ``epochs``
    when that is a list."""
    recs = metrics.get("records")
    if recs is None and isinstance(metrics.get("epochs"), list):
        recs = metrics["epochs"]
    return [r for r in (recs or []) if isinstance(r, Mapping)]


def final_test_acc(metrics: Mapping[str, Any]) -> float | None:
    """``final_test_acc``, else the last epoch's ``test_acc`` (a run still training)."""
    if metrics.get("final_test_acc") is not None:
        return metrics["final_test_acc"]
    recs = epoch_records(metrics)
    return recs[-1].get("test_acc") if recs else None


def is_dynamic_model(name: str, entry: Mapping[str, Any]) -> bool:
    """Whether a study entry is the dynamic-threshold model: its ``dynamic`` flag, else a ``dybnn`` /
    ``dynamic`` name."""
    if entry.get("dynamic") is not None:
        return bool(entry["dynamic"])
    n = name.lower()
    return n.startswith("dybnn") or n == "dynamic"


def study_models(study: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """``(name, entry)`` of a study, static models first (then in file order)."""
    models = study.get("models") or {}
    items = [(str(k), v) for k, v in models.items() if isinstance(v, Mapping)]
    return sorted(items, key=lambda kv: is_dynamic_model(*kv))
