"""The end-to-end flow: train -> export -> lower -> verify -> estimate -> HLS + C-sim -> thresholds -> report.

Each step declares the files it reads, the settings it uses and the files it writes. After a step runs, the
flow records in ``DIR/.dybnn-flow.json`` a key (SHA-256 of its settings and of the content of its inputs) and
the SHA-256 of each output. The key also covers the code the step runs: the source files of the packages of
this project it uses and the versions of the libraries it depends on, so an upgraded or edited dybnn redoes the
steps whose code changed. A step is up to date when its outputs exist with the recorded content and its key
is unchanged, so re-running the flow after a change redoes only what depends on it (changing ``csim_samples``
reruns the C simulation, not the training), and a file replaced by another command (``dybnn train --overwrite``,
``dybnn lower``) or deleted is noticed whatever its mtime.

The training step is up to date when ``checkpoint.pt`` is finished (``done``) and was trained with the
configuration asked for; an unfinished checkpoint of the same configuration is resumed (Ctrl-C or SIGTERM during
training loses at most the epoch in progress), and a checkpoint of another configuration is retrained (the old
one is replaced only when the first new epoch is saved, so an interrupted run never lacks a checkpoint).

The resolved configuration is written to ``DIR/flow.json`` (only when it changes); ``dybnn flow --out DIR``
without ``--config`` on an existing run reuses it. The whole configuration is validated (model, dataset, part,
types, training keys) before the first step, and nothing is written when it is invalid.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dybnn.errors import UserError
from dybnn.progress import Progress, progress_kwargs
from runfiles import layout as L
from runfiles.outputs import atomic_write_json, digest, file_sha256, record_export, record_files, run_digests


@dataclass(frozen=True)
class FlowConfig:
    """What ``dybnn flow`` runs; load from YAML/JSON with :func:`load_flow_config` (unknown keys are an error)."""

    #: model name (see ``dybnn models``)
    model: str = "dybnn-tiny"
    #: data set name (mnist5k, digits, synthetic, ...)
    dataset: str = "mnist5k"
    #: training epochs (all three steps together)
    epochs: int = 12
    #: training seed
    seed: int = 0
    #: training batch size
    batch_size: int = 64
    #: further TrainConfig fields, e.g. {"lr": 0.002}
    train: dict[str, Any] = field(default_factory=lambda: {"augment_shift": 2})
    #: FPGA part or board alias
    part: str = "xc7z020clg400-1"
    #: clock period in ns
    clock_ns: float = 10.0
    #: "auto" (the fastest folding that fits the part) or a folding JSON file
    folding: str = "auto"
    #: test images compared across torch / ref / numba
    verify_samples: int = 100
    #: of those, images also run through QONNX execute_onnx (slow)
    qonnx_samples: int = 20
    #: generate the HLS project and C-simulate it with g++
    csim: bool = True
    #: images C-simulated
    csim_samples: int = 20
    #: images used for the dynamic-threshold figures
    threshold_samples: int = 200

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_flow_config(path: str | os.PathLike | None) -> FlowConfig:
    """Read and validate a flow configuration (``None``: the defaults).

    Raises:
        UserError: unreadable file, not a mapping, an unknown key, or an invalid value (named).
    """
    if path is None:
        return validate_flow_config(FlowConfig())
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{p}: is a directory, expected a flow.yaml or flow.json file")
    try:
        text = p.read_text()
    except OSError as e:
        raise UserError(f"{p}: cannot read the flow config ({e.strerror or e})") from None
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{p}: not valid YAML/JSON ({str(e).splitlines()[0]})") from None
    return flow_config_from_dict(doc, str(p))


def flow_config_from_dict(doc: Any, where: str) -> FlowConfig:
    """A validated :class:`FlowConfig` from a mapping; errors name ``where`` and the field."""
    if not isinstance(doc, dict):
        raise UserError(f"{where}: expected a mapping of flow settings")
    known = {f.name: f for f in dataclasses.fields(FlowConfig)}
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise UserError(f"{where}: unknown flow setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    kinds = {"int": int, "float": float, "str": str, "bool": bool}
    vals: dict[str, Any] = {}
    for k, v in doc.items():
        t = known[k].type
        if t in kinds:
            want = kinds[t]
            ok = isinstance(v, want) and not (want is not bool and isinstance(v, bool))
            if want is float and isinstance(v, int) and not isinstance(v, bool):
                v, ok = float(v), True
            if not ok:
                what = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}[
                    t
                ]
                raise UserError(f"{where}: {k} must be {what}, got {v!r}")
        elif not isinstance(v, dict):
            raise UserError(f"{where}: {k} must be a mapping of training settings, got {v!r}")
        vals[k] = v
    try:
        return validate_flow_config(FlowConfig(**vals), where)
    except TypeError as e:
        raise UserError(f"{where}: {e}") from None


def validate_flow_config(cfg: FlowConfig, where: str = "flow config") -> FlowConfig:
    """Check every setting before anything runs: the training config (model, dataset, ``train:`` keys and
    types), the part, the clock, the folding file and the sample counts.

    Raises:
        UserError: naming ``where`` and the field.
    """
    import math

    checks = [
        (
            math.isfinite(cfg.clock_ns) and cfg.clock_ns > 0,
            f"clock_ns must be a positive number, got {cfg.clock_ns}",
        ),
        (cfg.verify_samples >= 1, f"verify_samples must be >= 1, got {cfg.verify_samples}"),
        (cfg.qonnx_samples >= 0, f"qonnx_samples must be >= 0, got {cfg.qonnx_samples}"),
        (cfg.csim_samples >= 1, f"csim_samples must be >= 1, got {cfg.csim_samples}"),
        (cfg.threshold_samples >= 1, f"threshold_samples must be >= 1, got {cfg.threshold_samples}"),
    ]
    for ok, msg in checks:
        if not ok:
            raise UserError(f"{where}: {msg}")
    clash = sorted(set(cfg.train) & {"model", "dataset", "epochs", "seed", "batch_size"})
    if clash:
        raise UserError(f"{where}: set {', '.join(clash)} at the top level, not under train:")
    try:
        train_config(cfg)
    except ValueError as e:  # ConfigError names the key
        raise UserError(f"{where}: {e}") from None
    from hls.devices import UnknownPartError, resolve_part

    try:
        resolve_part(cfg.part)
    except UnknownPartError as e:
        raise UserError(f"{where}: part: {e}") from None
    if cfg.folding != "auto":
        f = Path(cfg.folding)
        if not f.is_file():
            raise UserError(f"{where}: folding: {f} is not a file (give 'auto' or a folding JSON file)")
    return cfg


def train_config(cfg: FlowConfig):
    """The :class:`training.train.TrainConfig` of a flow configuration (validated by its constructor)."""
    from training.train_config import TrainConfig

    return TrainConfig.from_dict(
        {
            "model": cfg.model,
            "dataset": cfg.dataset,
            "epochs": cfg.epochs,
            "seed": cfg.seed,
            "batch_size": cfg.batch_size,
            **cfg.train,
        }
    )


@dataclass
class Step:
    name: str
    inputs: list[Path]
    outputs: list[Path]
    run: Callable[[], str]
    enabled: bool = True
    #: a JSON output whose ``ok`` must be true for the step to count as done (a failed check is rerun)
    ok_file: Path | None = None
    #: the settings the step uses (part of its key)
    settings: dict[str, Any] = field(default_factory=dict)
    #: a freshness test of its own instead of the recorded key (the training step)
    fresh: Callable[[], bool] | None = None
    #: the project packages whose source the step runs (part of its key, with :data:`LIBRARIES`)
    code: tuple[str, ...] = ()


#: third-party libraries whose version can change a step's result
LIBRARIES = ("torch", "brevitas", "qonnx", "onnx", "onnxruntime", "numpy", "numba")
#: source files that count as a package's code (Python, templates, RTL, headers)
CODE_SUFFIXES = (".py", ".j2", ".sv", ".v", ".h", ".hpp", ".cpp", ".tcl")
_CODE_DIGESTS: dict[str, str] = {}


def code_digest(packages: tuple[str, ...]) -> str | None:
    """SHA-256 of the source files of ``packages`` (paths and content) and of the versions of
    :data:`LIBRARIES`; None when no packages are named. Computed once per package per process."""
    if not packages:
        return None
    import importlib.metadata
    import importlib.util

    parts: dict[str, str | None] = {}
    for pkg in sorted(set(packages)):
        if pkg not in _CODE_DIGESTS:
            spec = importlib.util.find_spec(pkg)
            roots = list(spec.submodule_search_locations or []) if spec else []
            files = {}
            for root in roots:
                for f in sorted(Path(root).rglob("*")):
                    if f.suffix in CODE_SUFFIXES and "__pycache__" not in f.parts and f.is_file():
                        files[f.relative_to(root).as_posix()] = file_sha256(f)
            _CODE_DIGESTS[pkg] = digest(files)
        parts[pkg] = _CODE_DIGESTS[pkg]
    for lib in LIBRARIES:
        try:
            parts[lib] = importlib.metadata.version(lib)
        except importlib.metadata.PackageNotFoundError:
            parts[lib] = None
    return digest(parts)


#: the flow's record of the steps it ran: key and output digests per step
STATE_NAME = ".dybnn-flow.json"


def step_key(step: Step, root: Path) -> str:
    """SHA-256 of the step's settings, of the content of its inputs (a missing input counts as None) and of
    its code (:func:`code_digest`)."""
    return digest(
        {
            "settings": step.settings,
            "inputs": {_rel(p, root): file_sha256(p) for p in step.inputs},
            "code": code_digest(step.code),
        }
    )


def _rel(p: Path, root: Path) -> str:
    try:
        return p.relative_to(root).as_posix()
    except ValueError:
        return str(p)


def _ok(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text()).get("ok"))
    except (OSError, ValueError, AttributeError):
        return False


def _stale(step: Step, state: dict[str, Any], root: Path) -> str | None:
    """Why ``step`` must run (None: it is up to date)."""
    missing = [p for p in step.outputs if not p.exists()]
    if missing:
        return f"{_rel(missing[0], root)} is missing"
    if step.ok_file is not None and not _ok(step.ok_file):
        return f"{_rel(step.ok_file, root)} records a failure"
    if step.fresh is not None:
        return None if step.fresh() else "not finished with this configuration"
    rec = state.get(step.name)
    if not isinstance(rec, dict):
        return "no record of a previous run"
    if rec.get("key") != step_key(step, root):
        return "its inputs, settings or code changed"
    outs = rec.get("outputs") or {}
    for p in step.outputs:
        if outs.get(_rel(p, root)) != file_sha256(p):
            return f"{_rel(p, root)} was changed since"
    return None


class Flow:
    """The steps of one run directory."""

    def __init__(
        self,
        cfg: FlowConfig,
        out: Path,
        echo: Callable[[str], None] = print,
        progress: Progress | None = None,
    ) -> None:
        self.cfg = cfg
        self.out = out
        self.echo = echo
        #: passed to the long library calls that take ``progress=`` (export, verify, C simulation)
        self.progress = progress
        d = out
        self.flow_json = d / L.FLOW_JSON
        self.ckpt = d / L.CHECKPOINT
        self.metrics = d / L.METRICS_JSON
        self.onnx = d / L.MODEL_ONNX
        self.hw = d / L.HW_DIR / L.GRAPH_JSON
        self.verify_json = d / L.VERIFY_JSON
        self.estimates = d / L.ESTIMATES_JSON
        self.folding_json = d / L.FOLDING_JSON
        self.hls_dir = d / L.HLS_DIR / cfg.model
        self.csim_json = d / L.HLS_DIR / L.CSIM_JSON
        self.thresholds = d / L.THRESHOLDS_NPZ
        self.report = d / "report.html"
        self._graph = None

    # ------------------------------------------------------------------------------------------------- steps
    def steps(self) -> list[Step]:
        c = self.cfg
        dynamic = c.model.startswith("dybnn")
        folding_in = [Path(c.folding)] if c.folding != "auto" else []
        hw = [self.hw, self.hw.parent / L.PARAMS_NPZ]
        data = {"dataset": c.dataset, "input_size": c.train.get("input_size")}
        return [
            Step(
                "train",
                [],
                [self.ckpt, self.metrics],
                self.do_train,
                settings={"train": train_config(c).to_dict()},
                fresh=self.train_fresh,
            ),
            Step("export", [self.ckpt], [self.onnx], self.do_export, code=("training", "hwsim", "runfiles")),
            Step("lower", [self.onnx], hw, self.do_lower, code=("hwsim", "runfiles")),
            Step(
                "verify",
                [self.onnx, *hw, self.ckpt],
                [self.verify_json],
                self.do_verify,
                ok_file=self.verify_json,
                settings={**data, "samples": c.verify_samples, "qonnx_samples": c.qonnx_samples},
                code=("verify", "training", "hwsim", "runfiles"),
            ),
            Step(
                "estimate",
                [*hw, *folding_in],
                [self.estimates, self.folding_json],
                self.do_estimate,
                settings={"part": c.part, "clock_ns": c.clock_ns, "folding": c.folding},
                code=("hls", "hwsim", "runfiles"),
            ),
            Step(
                "hls",
                [*hw, self.folding_json],
                [self.csim_json, self.hls_dir / L.PROJECT_JSON],
                self.do_hls,
                enabled=c.csim,
                ok_file=self.csim_json,
                settings={**data, "part": c.part, "clock_ns": c.clock_ns, "samples": c.csim_samples},
                code=("hls", "hwsim", "runfiles"),
            ),
            Step(
                "thresholds",
                [self.ckpt],
                [self.thresholds],
                self.do_thresholds,
                enabled=dynamic,
                settings={**data, "samples": c.threshold_samples},
                code=("reports", "training", "runfiles"),
            ),
            Step(
                "report",
                [
                    self.metrics,
                    self.onnx,
                    *hw,
                    self.verify_json,
                    self.estimates,
                    self.csim_json,
                    self.thresholds,
                    self.flow_json,
                ],
                [self.report],
                self.do_report,
                code=("reports", "hls", "hwsim", "runfiles"),
            ),
        ]

    def train_fresh(self) -> bool:
        """The checkpoint is finished and was trained with this configuration."""
        stored, done = _checkpoint_config(self.ckpt)
        return done and stored is not None and _same_training(stored, train_config(self.cfg).to_dict())

    def _dataset(self):
        from training.data import get_dataset

        extra = self.cfg.train
        return get_dataset(self.cfg.dataset, input_size=extra.get("input_size"))

    def _test_images(self, n: int):
        import numpy as np

        ds = self._dataset()
        return ds.test.tensors[0][:n].numpy().astype(np.float32)

    def graph(self):
        from hwsim.graph import HwGraph

        if self._graph is None:
            self._graph = HwGraph.load(self.hw.parent)
        return self._graph

    def do_train(self) -> str:
        from training.train import train

        tc = train_config(self.cfg)
        stored, done = _checkpoint_config(self.ckpt)
        same = stored is not None and _same_training(stored, tc.to_dict())
        resume = same and not done
        if resume:
            self.echo(f"resuming the unfinished training in {self.ckpt}")
        elif stored is not None and not same:
            self.echo(
                f"{self.ckpt} was trained with other settings: training anew (it is replaced after epoch 1)"
            )
        m = train(tc, self.out, resume=resume, overwrite=not resume, quiet=False)
        return f"test accuracy {100 * m['final_test_acc']:.2f} %"

    def do_export(self) -> str:
        from training.export import export_checkpoint

        export_checkpoint(self.out, self.onnx, **progress_kwargs(export_checkpoint, self.progress))
        record_export(self.onnx, self.ckpt)
        return f"{self.onnx.name} ({self.onnx.stat().st_size / 1e6:.2f} MB)"

    def do_lower(self) -> str:
        from dybnn.commands.lower import graph_made_from
        from hwsim.lower import lower

        g = lower(self.onnx)
        g.save(self.hw.parent, made_from=graph_made_from(self.onnx))
        self._graph = g
        counts = ", ".join(f"{k} {v}" for k, v in sorted(g.count().items()))
        return f"{len(g.nodes)} nodes ({counts})"

    def do_verify(self) -> str:
        from verify.levels import verify

        x = self._test_images(self.cfg.verify_samples)
        rep = verify(
            self.out,
            samples=len(x),
            qonnx_samples=self.cfg.qonnx_samples,
            x=x,
            graph=self.graph(),
            **progress_kwargs(verify, self.progress),
        )
        rep.made_from = run_digests(self.out)
        atomic_write_json(self.verify_json, rep.to_json())
        self.echo(rep.table())
        if not rep.ok:
            raise UserError(f"verification found mismatches (see {self.verify_json})")
        return "all levels identical"

    def do_estimate(self) -> str:
        from hls.devices import resolve_part
        from hls.estimate import EstimateConfig, GraphModel, finn_reference_estimate, folding_search
        from hls.estimate.pipeline import config_for
        from hls.estimate.report import to_document
        from hls.folding import to_json

        c = self.cfg
        g = self.graph()
        device = resolve_part(c.part)
        ecfg = config_for(device, EstimateConfig())
        m = GraphModel(g, ecfg)
        if c.folding == "auto":
            folding = folding_search(g, c.clock_ns, fit=device, cfg=ecfg, model=m)
        else:
            from dybnn.commands.common import filled_note, load_folding

            folding, filled = load_folding(g, c.folding, ecfg)
            if filled:
                self.echo(filled_note(filled))
        est = m.estimate(folding, c.clock_ns, device)
        rec = dataclasses.replace(
            to_document(est, folding, g, finn_reference_estimate(g, folding), ecfg),
            made_from={"graph_sha256": run_digests(self.out)["graph_sha256"]},
        )
        atomic_write_json(self.estimates, rec.to_json())
        atomic_write_json(self.folding_json, to_json(folding))
        return f"{rec.fps:.1f} frames/s, bottleneck {rec.bottleneck}, fits {device.part}: {rec.fits}"

    def do_hls(self) -> str:
        from hls.csim import run_csim
        from hls.devices import resolve_part
        from hls.folding import load
        from hls.project import write_project

        c = self.cfg
        g = self.graph()
        folding = load(g, self.folding_json)
        made = {"graph_sha256": run_digests(self.out)["graph_sha256"]}
        prj = write_project(g, self.hls_dir, resolve_part(c.part).part, c.clock_ns, folding, made_from=made)
        x = self._test_images(c.csim_samples)
        res = run_csim(prj, g, x, **progress_kwargs(run_csim, self.progress))
        doc = {
            "ok": res.ok,
            "samples": res.frames,
            "mismatches": res.total_mismatches,
            "build_seconds": res.build_s,
            "run_seconds": res.run_s,
            "cycles": res.cycles,
            "expected_cycles": res.model_cycles,
            "project": str(prj),
            "made_from": made,
        }
        atomic_write_json(self.csim_json, doc)
        if not res.ok:
            raise UserError(f"C simulation does not match hwsim: {res.summary()}")
        return (
            f"{res.frames} frames, 0 mismatches, loop counts equal the cycle model; build {res.build_s:.0f} s"
        )

    def do_thresholds(self) -> str:
        import torch

        from reports.thresholds import collect_thresholds, save_thresholds
        from training.train import load_checkpoint

        model, _ = load_checkpoint(self.out)
        x = torch.from_numpy(self._test_images(self.cfg.threshold_samples))
        arrays = collect_thresholds(model, x)
        save_thresholds(self.thresholds, arrays)
        record_files(
            self.out, "thresholds", [self.thresholds.name], {"checkpoint_sha256": file_sha256(self.ckpt)}
        )
        return f"{len(arrays.get('sites', []))} dynamic sites"

    def do_report(self) -> str:
        from reports.build import build_report

        path = build_report(self.out)
        return str(path)

    # ------------------------------------------------------------------------------------------------- driver
    def write_config(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        doc = self.cfg.to_dict()
        if self.flow_json.exists():
            try:
                if json.loads(self.flow_json.read_text()) == json.loads(json.dumps(doc)):
                    return
            except json.JSONDecodeError:
                pass
        atomic_write_json(self.flow_json, doc)

    def read_state(self) -> dict[str, Any]:
        try:
            doc = json.loads((self.out / STATE_NAME).read_text())
        except (OSError, ValueError):
            return {}
        return doc.get("steps", {}) if isinstance(doc, dict) else {}

    def record(self, state: dict[str, Any], step: Step, key: str) -> None:
        state[step.name] = {
            "key": key,
            "outputs": {_rel(p, self.out): file_sha256(p) for p in step.outputs},
        }
        atomic_write_json(self.out / STATE_NAME, {"format": "dybnn-flow-state", "steps": state})

    def run(self, only: list[str] | None = None, force: bool = False) -> list[tuple[str, str, float, str]]:
        self.write_config()
        state = self.read_state()
        rows = []
        steps = self.steps()
        for i, s in enumerate(steps, 1):
            if not s.enabled:
                rows.append((s.name, "off", 0.0, ""))
                continue
            if only and s.name not in only:
                rows.append((s.name, "not asked", 0.0, ""))
                continue
            why = "--force" if force else _stale(s, state, self.out)
            if why is None:
                rows.append((s.name, "up to date", 0.0, ""))
                self.echo(f"[{i}/{len(steps)}] {s.name}: up to date")
                continue
            self.echo(f"[{i}/{len(steps)}] {s.name} ({why}) ...")
            key = step_key(s, self.out)
            if state.pop(s.name, None) is not None:  # a step that fails or is interrupted has no record
                atomic_write_json(self.out / STATE_NAME, {"format": "dybnn-flow-state", "steps": state})
            t0 = time.perf_counter()
            note = s.run()
            dt = time.perf_counter() - t0
            self.record(state, s, key)
            rows.append((s.name, "done", dt, note))
            self.echo(f"[{i}/{len(steps)}] {s.name}: {note} ({dt:.1f} s)")
        return rows


def _checkpoint_config(ckpt: Path) -> tuple[dict[str, Any] | None, bool]:
    """The training configuration and ``done`` flag of a checkpoint (None, False: absent or unreadable)."""
    if not ckpt.is_file():
        return None, False
    try:
        from training.checkpoint import read_checkpoint

        doc = read_checkpoint(ckpt)
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is simply not a usable run
        return None, False
    cfg = doc.get("train_config")
    return (cfg if isinstance(cfg, dict) else None), bool(doc.get("done"))


def _same_training(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two training configurations give the same result (runtime fields such as threads may differ)."""
    from training.train import RUNTIME_FIELDS

    keys = (set(a) | set(b)) - RUNTIME_FIELDS
    return all(json.dumps(a.get(k)) == json.dumps(b.get(k)) for k in keys)


def summary_table(rows: list[tuple[str, str, float, str]]) -> str:
    w = max(len(r[0]) for r in rows)
    lines = [f"{'step':{w}s}  {'status':10s}  {'seconds':>8s}  result", "-" * (w + 40)]
    for name, status, dt, note in rows:
        lines.append(f"{name:{w}s}  {status:10s}  {dt:8.1f}  {note}")
    return "\n".join(lines)
