"""Build a generated HLS project with g++ and C-simulate it, comparing every output value with hwsim exactly.

``run_csim(project_dir, graph, x)`` builds ``build/csim`` with the project's Makefile, writes the float32 input
frames, runs the testbench, reads the outputs and the loop-iteration counters, and compares them with
``hwsim.simulate.simulate(graph, x, level="ref")`` (integer equality) and with :mod:`hls.cycles` (loop by loop).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hls import cycles as C
from hls.folding import Fold
from hls.project import MANIFEST, expected_outputs, float_bits, is_project
from hls.timing import stream_graph
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part
from runfiles.progress import heartbeat


class CsimError(RuntimeError):
    """The C simulation could not be built or run (compiler error, crash, timeout, stream protocol error)."""


@dataclass
class CsimResult:
    """Outcome of one C simulation run."""

    #: per graph output: number of values that differ from hwsim
    mismatches: dict[str, int]
    #: per graph output: C simulation values, int64 ``(frames, elems)``
    outputs: dict[str, np.ndarray]
    #: per graph output: hwsim values, int64 ``(frames, elems)``
    expected: dict[str, np.ndarray]
    #: measured iterations of every pipelined loop in the first frame, ``"node/loop" -> count``
    loops: dict[str, int]
    #: the cycle model's trip count of the same loops
    model_loops: dict[str, int]
    #: measured cycles per frame of every node (its loops combined as in :func:`hls.cycles.combine`)
    cycles: dict[str, int]
    #: :func:`hls.cycles.node_cycles` of every node
    model_cycles: dict[str, int]
    frames: int
    build_s: float
    run_s: float
    log: str = ""
    #: loops whose count differs between frames (a data-dependent trip count would be a template bug)
    unsteady: list[str] = field(default_factory=list)

    @property
    def total_mismatches(self) -> int:
        return sum(self.mismatches.values())

    @property
    def cycle_mismatches(self) -> dict[str, tuple[int, int]]:
        """Loops whose measured count differs from the model: ``label -> (measured, model)``."""
        return {
            k: (v, self.model_loops.get(k, -1))
            for k, v in self.loops.items()
            if self.model_loops.get(k, -1) != v
        }

    @property
    def ok(self) -> bool:
        return self.total_mismatches == 0 and not self.cycle_mismatches and not self.unsteady

    def summary(self) -> str:
        parts = [f"{'PASS' if self.ok else 'FAIL'}: {self.frames} frame(s), "
                 f"{self.total_mismatches} mismatching output value(s)"]  # fmt: skip
        for k, v in self.mismatches.items():
            if v:
                parts.append(f"  {k}: {v} of {self.expected[k].size} values differ")
        cm = self.cycle_mismatches
        parts.append(f"loop counts: {len(self.loops) - len(cm)}/{len(self.loops)} equal to the cycle model")
        for k, (got, want) in cm.items():
            parts.append(f"  {k}: measured {got}, model {want}")
        parts.append(f"build {self.build_s:.1f} s, run {self.run_s:.1f} s")
        return "\n".join(parts)


def build(project_dir: str | os.PathLike, timeout: float = 600, jobs: int = 2) -> float:
    """``make build/csim`` in the project; returns the seconds it took. Raises :class:`CsimError` on failure."""
    d = Path(project_dir)
    if not is_project(d):
        raise CsimError(f"{d} is not a dybnn HLS project (no {MANIFEST})")
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            ["make", f"-j{jobs}", "build/csim"], cwd=d, capture_output=True, text=True, timeout=timeout
        )
    except FileNotFoundError:
        raise CsimError("make is not installed") from None
    except subprocess.TimeoutExpired:
        raise CsimError(f"{d}: building the C simulation took more than {timeout:.0f} s") from None
    if r.returncode != 0:
        raise CsimError(f"{d}: g++ build failed:\n{_tail(r.stdout + r.stderr)}")
    return time.perf_counter() - t0


def run_csim(
    project_dir: str | os.PathLike,
    graph: HwGraph,
    x: np.ndarray,
    timeout: float = 600,
    *,
    rebuild: bool = True,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> CsimResult:
    """Build (``make``) and run the C simulation of ``graph`` on the float batch ``x``; compare with hwsim.

    ``graph`` is the graph the project was written from (same outputs). The result holds the mismatch count per
    output, the measured and modelled loop counts and cycles, and the build and run times. ``progress(stage,
    done, total)`` counts the seconds of the build and of the run (:func:`runfiles.progress.heartbeat`).
    """

    d = Path(project_dir)
    graph = accelerator_part(graph)  # the project ends at the integers before a float tail
    deadline = time.perf_counter() + timeout
    with heartbeat(progress, "C simulation: g++ build, seconds"):  # one g++ run on top.cpp: no finer steps
        build_s = build(d, timeout) if rebuild or not (d / "build" / "csim").exists() else 0.0
    doc = json.loads((d / MANIFEST).read_text())
    names = [o["tensor"] for o in doc["outputs"]]
    missing = [t for t in names if t not in graph.tensors]
    if missing:
        raise CsimError(f"{d}: the project's outputs {missing} are not tensors of graph {graph.name!r}")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == len(graph.spec(graph.inputs[0]).shape):
        x = x[None]
    work = d / "build" / "run"
    work.mkdir(parents=True, exist_ok=True)
    bits = float_bits(graph, x)
    with open(work / "input.txt", "w") as f:
        f.write(f"{bits.shape[0]} {bits.shape[1]}\n")
        for row in bits:
            f.write(" ".join(map(str, row.tolist())) + "\n")
    t0 = time.perf_counter()
    try:
        with heartbeat(progress, f"C simulation: {len(x)} frame(s), seconds"):
            r = subprocess.run(
                [str((d / "build" / "csim").resolve()), str(work / "input.txt"), str(work)],
                capture_output=True, text=True, timeout=max(1.0, deadline - t0),
            )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise CsimError(
            f"{d}: the C simulation of {len(x)} frame(s) did not finish within the timeout"
        ) from None
    run_s = time.perf_counter() - t0
    log = r.stdout + r.stderr
    if r.returncode != 0:
        raise CsimError(f"{d}: the C simulation failed (exit status {r.returncode}):\n{_tail(log)}")
    if "WARNING: Hls::stream" in log:
        raise CsimError(
            f"{d}: stream protocol error (a node read an empty stream or left words behind):\n{_tail(log)}"
        )
    got = _read_outputs(work / "outputs.txt", len(x), [o["elems"] for o in doc["outputs"]])
    graph_for_ref = graph if list(graph.outputs) == names else _with_outputs(graph, names)
    exp = expected_outputs(graph_for_ref, x)
    outputs = {t: got[k] for k, t in enumerate(names)}
    mism = {t: int(np.count_nonzero(outputs[t] != exp[t])) for t in names}
    loops, unsteady = _read_loops(work / "loops.txt", len(x))
    model_loops, model_cycles, cycles = _model(graph, doc, loops)
    return CsimResult(mism, outputs, exp, loops, model_loops, cycles, model_cycles, len(x), build_s, run_s, log,
                      unsteady)  # fmt: skip


def _with_outputs(g: HwGraph, outputs: list[str]) -> HwGraph:
    return HwGraph(g.name, list(g.inputs), list(outputs), g.tensors, g.nodes, g.metadata)


def _model(graph: HwGraph, doc: dict, loops: dict[str, int]):
    folding = {
        k: Fold(v["pe"], v["simd"], v.get("buffers", 1), v.get("buffer_storage", "values"))
        for k, v in doc["folding"].items()
    }  # the stream graph forwards a shortcut only from a frame buffer of values (hls.timing.forward_frames)
    outs = [o["tensor"] for o in doc["outputs"]]
    g = graph if list(graph.outputs) == outs else _with_outputs(graph, outs)
    sg = stream_graph(g, {k: f for k, f in folding.items() if k in {n.name for n in g.nodes}})
    g2, fold2 = sg.graph, sg.folding
    model_loops: dict[str, int] = {}
    model_cycles: dict[str, int] = {}
    cycles: dict[str, int] = {}
    for n in g2.nodes:
        f = fold2.get(n.name, Fold())
        ml = C.node_loops(g2, n, f)
        for k, v in ml.items():
            model_loops[f"{n.name}/{k}"] = v
        model_cycles[n.name] = C.combine(type(n), ml)
        cycles[n.name] = C.combine(type(n), {k: loops.get(f"{n.name}/{k}", -1) for k in ml})
    model_loops.update(doc.get("width_converters", {}))
    return model_loops, model_cycles, cycles


def _read_outputs(path: Path, frames: int, elems: list[int]) -> list[np.ndarray]:
    outs = [np.zeros((frames, e), dtype=np.int64) for e in elems]
    lines = path.read_text().splitlines()
    if len(lines) != frames * len(elems):
        raise CsimError(f"{path}: {len(lines)} lines, expected {frames * len(elems)}")
    for i, line in enumerate(lines):
        vals = np.array(line.split(), dtype=np.int64)
        f, k = divmod(i, len(elems))
        if vals[0] != k or len(vals) - 1 != elems[k]:
            raise CsimError(f"{path}: line {i + 1} is not output {k} with {elems[k]} values")
        outs[k][f] = vals[1:]
    return outs


def _read_loops(path: Path, frames: int) -> tuple[dict[str, int], list[str]]:
    loops: dict[str, int] = {}
    unsteady = []
    for line in path.read_text().splitlines():
        name, first, total = line.split()
        loops[name] = int(first)
        if int(total) != frames * int(first):
            unsteady.append(name)
    return loops, unsteady


def _tail(s: str, n: int = 60) -> str:
    lines = s.strip().splitlines()
    return "\n".join(lines[-n:])
