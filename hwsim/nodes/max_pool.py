"""MaxPool: max pooling on fixed point, or OR on bits."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, WindowNode, check_pair


@dataclass(frozen=True, eq=False, kw_only=True)
class MaxPool(Node, WindowNode):
    """Window maximum; padded positions are ignored (``-inf``). On bits the maximum is an OR."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]

    op_type = "MaxPool"

    def validate(self) -> None:
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        check_pair(self.name, "pad", self.pad, 0)
