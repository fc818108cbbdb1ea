"""HyperContext: the shared context of the hardware-aware DyBNN variant (``hyper_context: stem``)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class HyperContext(Node):
    """``x (H, W, C) -> (x, s)``: the frame unchanged, and ``s = requant(sum_{h,w} p * 2**-shift -> stat)`` with
    ``p = requant(x -> pre)`` when ``pre`` is set (:class:`GlobalPool`'s arithmetic), one vector per image.

    Every dynamic unit of a ``hyper_context: stem`` network reads ``s`` as its second input (its hyper function's
    statistic). The hardware holds the one frame while it pools it and releases it after ``s``, so ``s`` reaches
    every dynamic unit before its own frame does: the units stream, no frame buffer per site.
    Outputs: ``(frame, context)``.
    """

    shift: int
    stat: Fixed
    #: requantization of every element before the sum (None: the input as is)
    pre: Fixed | None = None

    op_type = "HyperContext"

    def validate(self) -> None:
        if len(self.outputs) != 2:
            raise NodeValidationError(
                f"node {self.name!r} (HyperContext) has two outputs (frame, context), got {len(self.outputs)}"
            )
        if self.shift < 0:
            raise NodeValidationError(f"node {self.name!r}: field 'shift' must be >= 0, got {self.shift}")
