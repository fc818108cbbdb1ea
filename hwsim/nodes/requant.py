"""Requant: requantization of a fixed-point stream that no other node absorbs."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class Requant(Node):
    """``y = requant(x -> out)``: round half to even to ``out.frac``, saturate to ``out.bits``."""

    out: Fixed

    op_type = "Requant"
