"""SlidingWindow: the convolution input generator (im2col on a stream)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError, WindowNode, check_pair


@dataclass(frozen=True, eq=False, kw_only=True)
class SlidingWindow(Node, WindowNode):
    """``(H, W, C) -> (OH, OW, KH*KW*C)``, window elements in ``(i, j, c)`` order, border = ``pad_value``.

    On bits, ``pad_value`` is -1 or +1 (a bit); on fixed point it must be 0. XnorDense/FixedDense then treat the
    ``OH, OW`` axes as batch (FINN's ConvolutionInputGenerator + MVAU split of a convolution).
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    pad_value: int

    op_type = "SlidingWindow"

    def validate(self) -> None:
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        check_pair(self.name, "pad", self.pad, 0)
        if self.pad_value not in (-1, 0, 1):
            raise NodeValidationError(f"node {self.name!r}: pad_value must be -1, 0 or +1")
