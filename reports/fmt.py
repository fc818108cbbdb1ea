"""Number formatting shared by every table of ``report.html`` and ``summary.md``.

One formatter per kind of number, so that the same JSON value is written the same way everywhere (tests parse
the text back and compare it with the JSON):

* counts (resources, cycles, tensors, elements, mismatches): ``12,345`` (comma thousands separator);
* accuracies (fractions in ``[0, 1]`` as ``training.train`` writes them): ``98.12 %`` (percent, 2 decimals);
* utilization (fraction of the part): ``12.3 %`` (percent, 1 decimal);
* losses: 4 decimals; frames per second: 1 decimal with thousands separators; seconds: 1 decimal;
* anything missing, ``null`` or NaN: ``n/a``.
"""

from __future__ import annotations

import math
from typing import Any

NA = "n/a"


def _is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def fmt_int(v: Any) -> str:
    """A count: ``12,345``. Floats that hold an integer (``12.0``) are accepted; other floats keep 1 decimal."""
    if _is_missing(v):
        return NA
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def fmt_float(v: Any, digits: int = 4) -> str:
    """A real number with a fixed number of decimals and thousands separators."""
    if _is_missing(v):
        return NA
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{float(v):,.{digits}f}"


def fmt_acc(v: Any) -> str:
    """An accuracy given as a fraction: ``0.98123 -> '98.12 %'``."""
    if _is_missing(v):
        return NA
    return f"{100.0 * float(v):.2f} %"


def fmt_pct(v: Any) -> str:
    """A utilization given as a fraction of the part: ``0.1234 -> '12.3 %'``."""
    if _is_missing(v):
        return NA
    if isinstance(v, float) and math.isinf(v):
        return "inf"
    return f"{100.0 * float(v):.1f} %"


def fmt_fps(v: Any) -> str:
    """Frames per second: ``1,234.5``."""
    return fmt_float(v, 1)


def fmt_sci(v: Any) -> str:
    """A small real number such as a learning rate: ``1.00e-03``."""
    if _is_missing(v):
        return NA
    return f"{float(v):.2e}"


def fmt_seconds(v: Any) -> str:
    """A duration in seconds: ``12.3 s``."""
    if _is_missing(v):
        return NA
    return f"{float(v):,.1f} s"


def fmt_bool(v: Any, yes: str = "yes", no: str = "no") -> str:
    if v is None:
        return NA
    return yes if bool(v) else no


def fmt_value(v: Any) -> str:
    """Any JSON scalar or short list (configuration tables): ints as counts, floats with ``repr`` precision."""
    if _is_missing(v):
        return NA
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {fmt_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def parse_number(text: str) -> float:
    """Inverse of the formatters for tests and tools: ``'12,345' -> 12345.0``, ``'98.12 %' -> 98.12``."""
    t = text.strip().replace(",", "").removesuffix("%").removesuffix(" s").strip()
    return float(t)
