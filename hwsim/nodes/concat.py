"""Concat: channel concatenation of streams."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node


@dataclass(frozen=True, eq=False, kw_only=True)
class Concat(Node):
    """Concatenate along the last (channel) axis. Fixed-point inputs are aligned exactly to the finest grid."""

    op_type = "Concat"
    n_inputs = None
