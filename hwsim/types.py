"""Data types of hardware-graph tensors: fixed point with a power-of-two scale, or bipolar bits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hwsim.encoding import int_range


@dataclass(frozen=True)
class Fixed:
    """A ``bits``-bit integer ``q`` standing for ``q * 2**-frac`` (``signed``: two's complement)."""

    bits: int
    frac: int
    signed: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or not 1 <= self.bits <= 62:
            raise ValueError(f"Fixed.bits must be an int in [1, 62], got {self.bits!r}")
        if not isinstance(self.frac, int) or abs(self.frac) > 62:
            raise ValueError(f"Fixed.frac must be an int in [-62, 62], got {self.frac!r}")

    @property
    def lo(self) -> int:
        return int_range(self.bits, self.signed)[0]

    @property
    def hi(self) -> int:
        return int_range(self.bits, self.signed)[1]

    @property
    def scale(self) -> float:
        return 2.0**-self.frac

    def to_json(self) -> dict[str, Any]:
        return {"kind": "fixed", "bits": self.bits, "frac": self.frac, "signed": self.signed}

    def __str__(self) -> str:
        return f"{'s' if self.signed else 'u'}{self.bits}.f{self.frac}"


@dataclass(frozen=True)
class Bipolar:
    """A {-1, +1} value stored as one bit (bit 1 is +1; see :mod:`hwsim.encoding`)."""

    bits: int = 1

    def to_json(self) -> dict[str, Any]:
        return {"kind": "bipolar"}

    def __str__(self) -> str:
        return "bipolar"


@dataclass(frozen=True)
class Index:
    """An unsigned class index (LabelSelect output)."""

    bits: int = 32

    def to_json(self) -> dict[str, Any]:
        return {"kind": "index", "bits": self.bits}

    def __str__(self) -> str:
        return f"index{self.bits}"


@dataclass(frozen=True)
class Float:
    """The float32 graph input, before the input quantizer."""

    bits: int = 32

    def to_json(self) -> dict[str, Any]:
        return {"kind": "float"}

    def __str__(self) -> str:
        return "float32"


DType = Fixed | Bipolar | Index | Float


def dtype_from_json(d: dict[str, Any]) -> DType:
    kind = d.get("kind")
    if kind == "fixed":
        return Fixed(int(d["bits"]), int(d["frac"]), bool(d["signed"]))
    if kind == "bipolar":
        return Bipolar()
    if kind == "index":
        return Index(int(d.get("bits", 32)))
    if kind == "float":
        return Float()
    raise ValueError(f"unknown tensor dtype {d!r}; expected kind fixed, bipolar, index or float")


@dataclass(frozen=True)
class TensorSpec:
    """Per-sample shape (channels last: ``(H, W, C)`` or ``(C,)``) and data type of a graph tensor."""

    shape: tuple[int, ...]
    dtype: DType

    def to_json(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype.to_json()}

    @staticmethod
    def from_json(d: dict[str, Any]) -> TensorSpec:
        return TensorSpec(tuple(int(v) for v in d["shape"]), dtype_from_json(d["dtype"]))
