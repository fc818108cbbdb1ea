"""GlobalPool: per-channel sum over the feature map, then a shift."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class GlobalPool(Node):
    """``(H, W, C) -> (C,)``: ``sum_{h,w} p * 2**-shift`` (exact: fraction bits grow by ``shift``), then
    requantized to ``out`` when set. ``shift = ceil(log2(H*W))`` is the hardware "mean".

    ``p = requant(q -> pre)`` element by element when ``pre`` is set (round half to even, saturate), else
    ``p = q``: a narrow ``pre`` bounds the sum by ``H*W*2**(pre.bits-1)`` whatever the input's width (float32 in
    PyTorch and onnxruntime is exact below ``2**24`` units; see ``docs/numerics.md``)."""

    shift: int
    out: Fixed | None
    #: requantization of every element before the sum (None: the input as is)
    pre: Fixed | None = None

    op_type = "GlobalPool"
