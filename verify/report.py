"""The records of a verification: per pair of levels, what was compared and the first difference.

:meth:`VerifyReport.to_json` is the content of a run directory's ``verify.json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class Mismatch:
    """The first differing element of a pair of levels."""

    tensor: str
    node: str
    index: list[int]
    a: float
    b: float


@dataclass
class PairResult:
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

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_seen", None)
        return d


def _num(v: Any) -> float:
    v = np.asarray(v).item()
    return int(v) if isinstance(v, (int, np.integer)) else float(v)


@dataclass
class VerifyReport:
    model: str
    samples: dict[str, int]
    pairs: list[PairResult]
    notes: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            bool(self.pairs) and all(p.mismatches == 0 for p in self.pairs) and any(p.ok for p in self.pairs)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "ok": self.ok,
            "samples": self.samples,
            "pairs": [p.to_json() for p in self.pairs],
            "notes": self.notes,
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
        }

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
