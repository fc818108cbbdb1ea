"""InputQuant: the float32 graph input to fixed point (or to bits)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class InputQuant(Node):
    """``q = clip(round_half_even(x * 2**out.frac))`` into ``out``; or, with ``out=None``, bit ``= x >= 0``.

    ``x * 2**frac`` is exact for float32 ``x`` (a power-of-two scale), so this matches Brevitas/QONNX exactly.
    """

    out: Fixed | None

    op_type = "InputQuant"

    def validate(self) -> None:
        if self.out is not None and not isinstance(self.out, Fixed):
            raise NodeValidationError(f"node {self.name!r}: field 'out' must be Fixed or None")
