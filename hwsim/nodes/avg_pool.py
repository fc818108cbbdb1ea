"""AvgPool: average pooling with a power-of-two window (sum then shift, exact)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError, WindowNode, check_pair
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class AvgPool(Node, WindowNode):
    """``y = sum over the KHxKW window / (KH*KW)``, ``KH*KW`` a power of two (exact: fraction bits grow by
    ``log2(KH*KW)``), no padding; requantized to ``out`` when set."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    out: Fixed | None

    op_type = "AvgPool"

    def validate(self) -> None:
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        n = self.kernel[0] * self.kernel[1]
        if n & (n - 1):
            raise NodeValidationError(
                f"node {self.name!r}: AvgPool window {self.kernel} is not a power of two"
            )

    @property
    def pad(self) -> tuple[int, int, int, int]:
        """No padding (the window geometry of :class:`~hwsim.nodes.base.WindowNode`)."""
        return (0, 0, 0, 0)

    @property
    def shift(self) -> int:
        return (self.kernel[0] * self.kernel[1]).bit_length() - 1
