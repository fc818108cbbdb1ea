"""The end-to-end flow: train -> export -> lower -> verify -> estimate -> HLS + C-sim -> thresholds -> report.

Each step declares the files it reads and writes; it is skipped when all its outputs exist and are newer than
all its inputs (make-style), so re-running the flow after a change redoes only what depends on it. The resolved
configuration is written to ``DIR/flow.json`` (only when it changes) and is the training step's input.
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
    if path is None:
        return FlowConfig()
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise UserError(f"{p}: cannot read the flow config ({e.strerror or e})") from None
    import yaml

    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise UserError(f"{p}: not valid YAML/JSON ({e})") from None
    if not isinstance(doc, dict):
        raise UserError(f"{p}: expected a mapping of flow settings")
    known = {f.name: f for f in dataclasses.fields(FlowConfig)}
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise UserError(f"{p}: unknown flow setting(s) {', '.join(unknown)}; known: {', '.join(known)}")
    try:
        return FlowConfig(**doc)
    except TypeError as e:
        raise UserError(f"{p}: {e}") from None


@dataclass
class Step:
    name: str
    inputs: list[Path]
    outputs: list[Path]
    run: Callable[[], str]
    enabled: bool = True
    #: a JSON output whose ``ok`` must be true for the step to count as done (a failed check is rerun)
    ok_file: Path | None = None


def _stale(step: Step) -> bool:
    if not all(p.exists() for p in step.outputs):
        return True
    if step.ok_file is not None:
        try:
            if not json.loads(step.ok_file.read_text()).get("ok"):
                return True
        except (OSError, json.JSONDecodeError):
            return True
    newest_in = max((p.stat().st_mtime for p in step.inputs if p.exists()), default=0.0)
    oldest_out = min(p.stat().st_mtime for p in step.outputs)
    return oldest_out < newest_in


def _write_json(path: Path, doc: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(doc, indent=1, default=_json_default) + "\n")
    os.replace(tmp, path)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


class Flow:
    """The steps of one run directory."""

    def __init__(self, cfg: FlowConfig, out: Path, echo: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.out = out
        self.echo = echo
        d = out
        self.flow_json = d / "flow.json"
        self.ckpt = d / "checkpoint.pt"
        self.metrics = d / "metrics.json"
        self.onnx = d / "model.onnx"
        self.hw = d / "hw" / "graph.json"
        self.verify_json = d / "verify.json"
        self.estimates = d / "estimates.json"
        self.folding_json = d / "folding.json"
        self.hls_dir = d / "hls" / cfg.model
        self.csim_json = d / "hls" / "csim.json"
        self.thresholds = d / "thresholds.npz"
        self.report = d / "report.html"
        self._graph = None

    # ------------------------------------------------------------------------------------------------- steps
    def steps(self) -> list[Step]:
        c = self.cfg
        dynamic = c.model.startswith("dybnn")
        folding_in = [Path(c.folding)] if c.folding != "auto" else []
        return [
            Step("train", [self.flow_json], [self.ckpt, self.metrics], self.do_train),
            Step("export", [self.ckpt], [self.onnx], self.do_export),
            Step("lower", [self.onnx], [self.hw], self.do_lower),
            Step(
                "verify",
                [self.onnx, self.hw, self.ckpt],
                [self.verify_json],
                self.do_verify,
                ok_file=self.verify_json,
            ),
            Step(
                "estimate",
                [self.hw, self.flow_json, *folding_in],
                [self.estimates, self.folding_json],
                self.do_estimate,
            ),
            Step(
                "hls",
                [self.hw, self.folding_json],
                [self.csim_json],
                self.do_hls,
                enabled=c.csim,
                ok_file=self.csim_json,
            ),
            Step("thresholds", [self.ckpt], [self.thresholds], self.do_thresholds, enabled=dynamic),
            Step(
                "report",
                [
                    self.metrics,
                    self.verify_json,
                    self.estimates,
                    self.csim_json,
                    self.thresholds,
                    self.flow_json,
                ],
                [self.report],
                self.do_report,
            ),
        ]

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
        from training.train import TrainConfig, train

        c = self.cfg
        resume = self.ckpt.exists() and not _stale_vs(self.ckpt, self.flow_json) and not _done(self.ckpt)
        tc = TrainConfig(
            model=c.model, dataset=c.dataset, epochs=c.epochs, seed=c.seed, batch_size=c.batch_size, **c.train
        )
        m = train(tc, self.out, resume=resume, overwrite=not resume, quiet=False)
        return f"test accuracy {100 * m['final_test_acc']:.2f} %"

    def do_export(self) -> str:
        from training.export import export_checkpoint

        export_checkpoint(self.out, self.onnx)
        return f"{self.onnx.name} ({self.onnx.stat().st_size / 1e6:.2f} MB)"

    def do_lower(self) -> str:
        from hwsim.lower import lower

        g = lower(self.onnx)
        g.save(self.hw.parent)
        self._graph = g
        counts = ", ".join(f"{k} {v}" for k, v in sorted(g.count().items()))
        return f"{len(g.nodes)} nodes ({counts})"

    def do_verify(self) -> str:
        from hwsim.verify import verify

        x = self._test_images(self.cfg.verify_samples)
        rep = verify(self.out, samples=len(x), qonnx_samples=self.cfg.qonnx_samples, x=x, graph=self.graph())
        _write_json(self.verify_json, rep.to_json())
        self.echo(rep.table())
        if not rep.ok:
            raise UserError(f"verification found mismatches (see {self.verify_json})")
        return "all levels identical"

    def do_estimate(self) -> str:
        from hls.devices import resolve_part
        from hls.estimate import EstimateConfig, GraphModel, finn_reference_estimate, folding_search
        from hls.estimate.design import config_for
        from hls.estimate.report import to_document
        from hls.folding import load, to_json

        c = self.cfg
        g = self.graph()
        device = resolve_part(c.part)
        ecfg = config_for(device, EstimateConfig())
        m = GraphModel(g, ecfg)
        if c.folding == "auto":
            folding = folding_search(g, c.clock_ns, fit=device, cfg=ecfg, model=m)
        else:
            folding = load(g, c.folding)
        est = m.estimate(folding, c.clock_ns, device)
        doc = to_document(est, folding, g, finn_reference_estimate(g, folding), ecfg)
        doc.setdefault("clock_ns", c.clock_ns)
        _write_json(self.estimates, doc)
        _write_json(self.folding_json, to_json(folding))
        return f"{doc['fps']:.1f} frames/s, bottleneck {doc['bottleneck']}, fits {device.part}: {doc.get('fits')}"

    def do_hls(self) -> str:
        from hls.csim import run_csim
        from hls.devices import resolve_part
        from hls.folding import load
        from hls.project import write_project

        c = self.cfg
        g = self.graph()
        folding = load(g, self.folding_json)
        prj = write_project(g, self.hls_dir, resolve_part(c.part).part, c.clock_ns, folding)
        x = self._test_images(c.csim_samples)
        res = run_csim(prj, g, x)
        doc = {
            "ok": res.ok,
            "samples": res.frames,
            "mismatches": res.total_mismatches,
            "build_seconds": res.build_s,
            "run_seconds": res.run_s,
            "cycles": res.cycles,
            "expected_cycles": res.model_cycles,
            "project": str(prj),
        }
        _write_json(self.csim_json, doc)
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
        _write_json(self.flow_json, doc)

    def run(self, only: list[str] | None = None, force: bool = False) -> list[tuple[str, str, float, str]]:
        self.write_config()
        rows = []
        steps = self.steps()
        for i, s in enumerate(steps, 1):
            if not s.enabled:
                rows.append((s.name, "off", 0.0, ""))
                continue
            if only and s.name not in only:
                rows.append((s.name, "not asked", 0.0, ""))
                continue
            if not force and not _stale(s):
                rows.append((s.name, "up to date", 0.0, ""))
                self.echo(f"[{i}/{len(steps)}] {s.name}: up to date")
                continue
            self.echo(f"[{i}/{len(steps)}] {s.name} ...")
            t0 = time.perf_counter()
            note = s.run()
            dt = time.perf_counter() - t0
            rows.append((s.name, "done", dt, note))
            self.echo(f"[{i}/{len(steps)}] {s.name}: {note} ({dt:.1f} s)")
        return rows


def _stale_vs(out: Path, inp: Path) -> bool:
    return inp.exists() and out.stat().st_mtime < inp.stat().st_mtime


def _done(ckpt: Path) -> bool:
    try:
        from training.checkpoint import read_checkpoint

        return bool(read_checkpoint(ckpt).get("done"))
    except Exception:  # noqa: BLE001 - an unreadable checkpoint is simply not a finished run
        return False


def summary_table(rows: list[tuple[str, str, float, str]]) -> str:
    w = max(len(r[0]) for r in rows)
    lines = [f"{'step':{w}s}  {'status':10s}  {'seconds':>8s}  result", "-" * (w + 40)]
    for name, status, dt, note in rows:
        lines.append(f"{name:{w}s}  {status:10s}  {dt:8.1f}  {note}")
    return "\n".join(lines)
