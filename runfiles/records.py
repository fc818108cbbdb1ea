"""Typed records of the run directory's JSON files: ``verify.json``, ``estimates.json`` and ``rtl_sim.json``.

Each record is a dataclass whose fields are the file's keys, in the order they are written. ``to_json()`` gives
the document (the writers dump exactly that), ``from_json(doc, where)`` checks it: a missing or unknown key, or a
value of the wrong type, is a :class:`RunFileError` naming the file and the field (``estimates.json: field
layers[3].cycles: expected an integer, got 'x'``). Keys that only some writers add (``made_from``,
``estimate_seconds``, ...) are optional fields that are left out of the document when ``None``.

The writers: :mod:`verify.levels` builds :class:`VerifyReport` (``dybnn verify --json``, the flow's
``verify.json``), ``hls.estimate.report.to_document`` builds :class:`EstimatesRecord` (``dybnn estimate
--json``, the flow's ``estimates.json``), ``rtl.sim.SimResult.record`` builds :class:`RtlSimRecord` (``dybnn rtl
RUN_DIR --sim``, ``rtl_sim.json``). The reader: :mod:`reports`.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from runfiles.layout import ESTIMATES_JSON, RTL_SIM_JSON, VERIFY_JSON


class RunFileError(ValueError):
    """A run-directory file does not have the expected content (names the file and the field)."""


R = TypeVar("R", bound="Record")


def _type_name(t: Any) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}.get(
        t, getattr(t, "__name__", str(t))
    )


def _check(value: Any, t: Any, file: str, path: str) -> Any:
    """``value`` of field ``path`` checked against the annotation ``t`` (records are built, other values kept)."""
    where = f"{file}: field {path}"
    origin = typing.get_origin(t)
    if t is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        opts = [o for o in typing.get_args(t) if o is not type(None)]
        if value is None and len(opts) < len(typing.get_args(t)):
            return None
        errors = []
        for o in opts:
            try:
                return _check(value, o, file, path)
            except RunFileError as e:
                errors.append(str(e))
        raise RunFileError(errors[0] if len(errors) == 1 else f"{where}: unexpected value {value!r}")
    if origin is list:
        if not isinstance(value, list):
            raise RunFileError(f"{where}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(t)
        return [_check(v, item, file, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, Mapping):
            raise RunFileError(f"{where}: expected an object, got {type(value).__name__}")
        _, item = typing.get_args(t)
        return {str(k): _check(v, item, file, f"{path}.{k}") for k, v in value.items()}
    if isinstance(t, type) and issubclass(t, Record):
        return t._load(value, file, path)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(t)
    if ok is None:
        raise TypeError(f"unsupported annotation {t!r} at {where}")
    if not ok:
        raise RunFileError(f"{where}: expected {_type_name(t)}, got {value!r}")
    return value


def _dump(v: Any) -> Any:
    if isinstance(v, Record):
        return v.to_json()
    if isinstance(v, list):
        return [_dump(x) for x in v]
    if isinstance(v, dict):
        return {k: _dump(x) for k, x in v.items()}
    return v


class Record:
    """Base of the typed records: ``from_json`` validates a document, ``to_json`` writes the same keys in the same
    order. Fields named in ``OPTIONAL`` may be absent (then ``None``) and are not written when ``None``; fields
    whose name starts with ``_`` are not part of the document."""

    FILE: ClassVar[str] = "record"
    OPTIONAL: ClassVar[frozenset[str]] = frozenset()
    #: keys of the document that are derived from the fields (accepted on reading, recomputed on writing)
    DERIVED: ClassVar[frozenset[str]] = frozenset()
    #: the order of the keys in the document when it is not the fields' order (a subclass adds fields at the end)
    KEY_ORDER: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_json(cls: type[R], doc: Any, where: str | None = None) -> R:
        """The record of the document ``doc``; errors name ``where`` (default: the file the record is in)."""
        return cls._load(doc, where or cls.FILE, "")

    @classmethod
    def _load(cls: type[R], doc: Any, file: str, path: str) -> R:
        if not isinstance(doc, Mapping):
            what = f"field {path}: " if path else ""
            raise RunFileError(f"{file}: {what}expected a JSON object, got {type(doc).__name__}")
        hints = typing.get_type_hints(cls)
        names = set()
        kw: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name.startswith("_"):
                continue
            names.add(f.name)
            sub = f"{path}.{f.name}" if path else f.name
            if f.name not in doc:
                if f.name in cls.OPTIONAL:
                    continue
                raise RunFileError(f"{file}: missing field {sub}")
            kw[f.name] = _check(doc[f.name], hints[f.name], file, sub)
        unknown = [f"{path}.{k}" if path else k for k in doc if k not in names and k not in cls.DERIVED]
        if unknown:
            raise RunFileError(f"{file}: unknown field(s) {', '.join(unknown)}")
        return cls(**kw)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.KEY_ORDER or [f.name for f in dataclasses.fields(self)]:  # type: ignore[arg-type]
            v = getattr(self, name)
            if name.startswith("_") or (v is None and name in self.OPTIONAL):
                continue
            out[name] = _dump(v)
        return out


# ------------------------------------------------------------------------------------------------- verify.json


class VerifyPart(Record):
    """A record of ``verify.json`` (errors name that file)."""

    FILE: ClassVar[str] = VERIFY_JSON


@dataclass
class Mismatch(VerifyPart):
    """The first differing element of a pair of levels."""

    tensor: str
    node: str
    index: list[int]
    a: float
    b: float


@dataclass
class PairResult(VerifyPart):
    """Comparison of two levels."""

    a: str
    b: str
    samples: int = 0
    tensors: int = 0
    elements: int = 0
    mismatches: int = 0
    first: Mismatch | None = None
    bad_tensors: list[str] = field(default_factory=list)
    _seen: set = field(default_factory=set, repr=False)

    def compare(self, name: str, node: str, x: np.ndarray, y: np.ndarray) -> None:
        """Compare arrays ``x`` (level a) and ``y`` (level b) of tensor ``name`` exactly."""
        if name not in self._seen:
            self._seen.add(name)
            self.tensors += 1
        x, y = np.asarray(x), np.asarray(y)
        if x.shape != y.shape:
            self.elements += int(max(x.size, y.size))
            self.mismatches += int(max(x.size, y.size))
            if name not in self.bad_tensors:
                self.bad_tensors.append(name)
            if self.first is None:
                self.first = Mismatch(name, node, [], float("nan"), float("nan"))
            return
        neq = x != y
        n = int(neq.sum())
        self.elements += int(x.size)
        if n:
            self.mismatches += n
            if name not in self.bad_tensors:
                self.bad_tensors.append(name)
            if self.first is None:
                idx = tuple(int(i) for i in np.argwhere(neq)[0])
                self.first = Mismatch(name, node, list(idx), _num(x[idx]), _num(y[idx]))

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.tensors > 0

    @property
    def label(self) -> str:
        """``torch vs qonnx``."""
        return f"{self.a} vs {self.b}"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_seen", None)
        return d


def _num(v: Any) -> float:
    v = np.asarray(v).item()
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


@dataclass
class VerifyReport(VerifyPart):
    """``verify.json``: the levels that ran (samples per level), each pair's comparison, notes, seconds."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"made_from"})
    DERIVED: ClassVar[frozenset[str]] = frozenset({"ok"})

    model: str
    samples: dict[str, int]
    pairs: list[PairResult]
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    #: digests of the run's checkpoint, model and graph it was made from (the flow writes it)
    made_from: dict[str, str | None] | None = None

    @property
    def ok(self) -> bool:
        return (
            bool(self.pairs) and all(p.mismatches == 0 for p in self.pairs) and any(p.ok for p in self.pairs)
        )

    @property
    def levels(self) -> list[str]:
        """The levels that ran, in order."""
        return list(self.samples)

    @property
    def max_samples(self) -> int:
        """The most samples any level ran on."""
        return max(self.samples.values(), default=0)

    def to_json(self) -> dict[str, Any]:
        doc = {
            "model": self.model,
            "ok": self.ok,
            "samples": self.samples,
            "pairs": [p.to_json() for p in self.pairs],
            "notes": self.notes,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }
        if self.made_from is not None:
            doc["made_from"] = self.made_from
        return doc

    def table(self) -> str:
        """A plain-text table: level pair, samples, tensors compared, elements, mismatches, first mismatch."""
        rows = [
            (
                "levels",
                "samples",
                "tensors",
                "elements",
                "mismatches",
                "first mismatch (node, tensor, index, a vs b)",
            )
        ]
        for p in self.pairs:
            if p.first is None:
                first = "-"
            else:
                f = p.first
                first = f"{f.node} {f.tensor} [{','.join(map(str, f.index))}] {f.a!r} vs {f.b!r}"
            rows.append(
                (f"{p.a} vs {p.b}", str(p.samples), str(p.tensors), str(p.elements), str(p.mismatches), first)
            )
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = [f"verify {self.model}"]
        for i, r in enumerate(rows):
            lines.append(
                "  ".join(r[j].ljust(w[j]) if j < 1 else r[j].rjust(w[j]) for j in range(5)) + "  " + r[5]
            )
            if i == 0:
                lines.append("  ".join("-" * w[j] for j in range(5)) + "  " + "-" * len(r[5]))
        for n in self.notes:
            lines.append(f"note: {n}")
        lines.append("OK: all levels agree exactly" if self.ok else "FAILED: levels differ")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- estimates.json

#: resource keys of every resource record (``hls.estimate.records.RESOURCE_KEYS``)
RESOURCE_KEYS = ("lut", "ff", "bram18", "uram", "dsp")


class EstimatesPart(Record):
    """A record of ``estimates.json`` (errors name that file)."""

    FILE: ClassVar[str] = ESTIMATES_JSON


def _resource_row(name: str, doc: str, fields: list[tuple[str, type]]) -> type[EstimatesPart]:
    """A flat row of ``estimates.json``: ``fields``, then one integer per resource (rounded up)."""
    cls = dataclasses.make_dataclass(
        name, [*fields, *((k, int) for k in RESOURCE_KEYS)], bases=(EstimatesPart,), frozen=True
    )
    cls.__doc__ = doc
    cls.__module__ = __name__
    return cls


#: one node of the accelerator: folding, cycles per frame, resources
LayerRow = _resource_row(
    "LayerRow",
    "One node of the accelerator: folding, cycles per frame, resources (rounded up).",
    [("name", str), ("type", str), ("pe", int), ("simd", int), ("cycles", int)],
)
#: one inter-node or shortcut FIFO
FifoRow = _resource_row(
    "FifoRow", "One inter-node or shortcut FIFO.", [("name", str), ("depth", int), ("width", int)]
)


@dataclass(frozen=True)
class DeviceRecord(EstimatesPart):
    """The target part: family, part number, platform, full-chip capacity, and where the numbers come from."""

    family: str
    part: str
    platform: str
    capacity: dict[str, int]
    source: str
    shell: str | None


@dataclass(frozen=True)
class DesignSummary(EstimatesPart):
    """Totals and performance of one design (the dynamic or the static one in ``static_vs_dynamic``)."""

    totals: dict[str, int]
    system_totals: dict[str, int]
    fps: float
    max_cycles: int
    latency_cycles: int
    bottleneck: str


@dataclass(frozen=True)
class DynamicNodeCost(EstimatesPart):
    """What one dynamic node costs over its static counterpart."""

    name: str
    type: str
    static_type: str
    dynamic: dict[str, int]
    static: dict[str, int]
    frame_buffer: dict[str, int]
    dynamic_cycles: int
    static_cycles: int
    extra_latency_cycles: int


@dataclass(frozen=True)
class StaticVsDynamic(EstimatesPart):
    """The same network with static RSign/RPReLU at the same folding, beside the dynamic one."""

    dynamic: DesignSummary
    static: DesignSummary
    #: dynamic minus static: resources, ``fps``, ``latency_cycles``, ``shortcut_fifos`` (resources)
    delta: dict[str, Any]
    dynamic_nodes: list[DynamicNodeCost]


@dataclass(frozen=True)
class FinnReference(EstimatesPart):
    """FINN's own estimate of the same folding (no FF model: ``ff`` is null)."""

    totals: dict[str, int | None]
    layers: list[dict[str, Any]]


@dataclass(frozen=True)
class EstimatesRecord(DesignSummary):
    """``estimates.json``: resources, performance and fit of one folding of the hardware graph (its summary
    fields first, after ``graph`` and ``clock_ns``)."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset(
        {
            "finn_reference",
            "static_vs_dynamic",
            "estimate_seconds",
            "made_from",
            "target_fps",
            "target_met",
            "backend",
        }
    )

    graph: str
    clock_ns: float
    latency_us: float
    layers: list[LayerRow]
    fifos: list[FifoRow]
    #: node -> input tensor -> depth in stream words
    shortcut_fifos: dict[str, dict[str, int]]
    host_nodes: list[str]
    #: node -> ``{"pe": ..., "simd": ...}`` (``hls.folding.to_json``)
    folding: dict[str, dict[str, int]]
    device: DeviceRecord | None
    #: resource -> used / available (null: the part lacks a resource the design uses)
    utilization: dict[str, float | None] | None
    fits: bool | None
    finn_reference: FinnReference | None = None
    static_vs_dynamic: StaticVsDynamic | None = None
    #: seconds the estimate took (``dybnn estimate --json``)
    estimate_seconds: float | None = None
    #: digest of the hardware graph it was made from
    made_from: dict[str, Any] | None = None
    target_fps: float | None = None
    target_met: bool | None = None
    #: what was estimated: "hls" (the HLS design) or "rtl" (the RTL design, ``dybnn estimate --backend rtl``)
    backend: str | None = None


_SUMMARY_KEYS = tuple(f.name for f in dataclasses.fields(DesignSummary))
EstimatesRecord.KEY_ORDER = (
    "graph",
    "clock_ns",
    *_SUMMARY_KEYS,
    *(
        f.name
        for f in dataclasses.fields(EstimatesRecord)
        if f.name not in ("graph", "clock_ns", *_SUMMARY_KEYS)
    ),
)


# ---------------------------------------------------------------------------------------------- rtl_sim.json


class RtlSimPart(Record):
    """A record of ``rtl_sim.json`` (errors name that file)."""

    FILE: ClassVar[str] = RTL_SIM_JSON


@dataclass(frozen=True)
class RtlFifoRow(RtlSimPart):
    """One FIFO of the RTL design: the timing model's depth and the most words it held in the timed run."""

    tensor: str
    producer: str
    #: the consuming node, or null for a graph output
    consumer: str | None
    depth: int
    max_level: int
    style: str


@dataclass(frozen=True)
class RtlSimRecord(RtlSimPart):
    """``rtl_sim.json``: a Verilator simulation of the RTL design (``dybnn rtl RUN_DIR --sim``): exactness against
    hwsim, and the measured cycles, latency and FIFO occupancy beside the timing model's (``hls.timing``)."""

    OPTIONAL: ClassVar[frozenset[str]] = frozenset({"made_from", "stress_ok"})

    graph: str
    part: str
    clock_ns: float
    frames: int
    #: output values that differ from hwsim (level ref) in the timed run
    mismatches: int
    ok: bool
    #: null with fewer than 2 frames
    cycles_per_frame: int | None
    model_cycles_per_frame: int
    latency_cycles: int
    model_latency_cycles: int
    build_seconds: float
    run_seconds: float
    cycles_per_second: float
    fifos: list[RtlFifoRow]
    #: the run with random input gaps and output back-pressure was exact and did not stall (null: not run)
    stress_ok: bool | None = None
    made_from: dict[str, Any] | None = None
