"""InputQuant: the float32 graph input to fixed point, to bits, or to ordered float keys."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError
from hwsim.types import Fixed

#: the output type of an InputQuant in key mode: the int32 ordered key of the float32 input
KEY_TYPE = Fixed(32, 0, True)


@dataclass(frozen=True, eq=False, kw_only=True)
class InputQuant(Node):
    """``q = clip(round_half_even(x * 2**out.frac))`` into ``out``; or, with ``out=None``, bit ``= x >= 0``.

    ``x * 2**frac`` is exact for float32 ``x`` (a power-of-two scale), so this matches Brevitas/QONNX exactly.

    With ``key=True`` (``out`` must be :data:`KEY_TYPE`) the output is the ordered integer key of ``x``
    (:func:`hwsim.encoding.float_key`): a following Sign or MultiThreshold then quantizes a float function of the
    input (``2x - 1``, a float BatchNorm) exactly, by thresholds on the key.
    """

    out: Fixed | None
    key: bool = False

    op_type = "InputQuant"

    def validate(self) -> None:
        if self.out is not None and not isinstance(self.out, Fixed):
            raise NodeValidationError(f"node {self.name!r}: field 'out' must be Fixed or None")
        if self.key and self.out != KEY_TYPE:
            raise NodeValidationError(f"node {self.name!r}: key mode needs out={KEY_TYPE}, got {self.out}")
