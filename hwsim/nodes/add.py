"""Add: residual addition of two fixed-point streams (with the shortcut FIFO in hardware)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class Add(Node):
    """``y = a + b`` exactly on the finer grid of the two, then requantized to ``out`` when set."""

    out: Fixed | None

    op_type = "Add"
    n_inputs = 2
