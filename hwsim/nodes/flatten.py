"""Flatten: (H, W, C) -> (H*W*C,) in channels-last order (a no-op on the stream)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node


@dataclass(frozen=True, eq=False, kw_only=True)
class Flatten(Node):
    """Channels-last flatten; the lowering permutes the next dense layer's weights from PyTorch's (C, H, W) order."""

    op_type = "Flatten"
