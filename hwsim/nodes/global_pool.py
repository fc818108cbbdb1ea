"""GlobalPool: per-channel sum over the feature map, then a shift."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class GlobalPool(Node):
    """``(H, W, C) -> (C,)``: ``sum_{h,w} q * 2**-shift`` (exact: fraction bits grow by ``shift``), then
    requantized to ``out`` when set. ``shift = ceil(log2(H*W))`` is the hardware "mean"."""

    shift: int
    out: Fixed | None

    op_type = "GlobalPool"
