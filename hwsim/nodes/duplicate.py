"""Duplicate: a stream fork."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node


@dataclass(frozen=True, eq=False, kw_only=True)
class Duplicate(Node):
    """Copy one stream to every output (a tensor read by several nodes needs a fork in a dataflow design)."""

    op_type = "Duplicate"
