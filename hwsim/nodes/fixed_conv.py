"""FixedConv: multi-bit convolution (the stem, real downsample shortcuts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, NodeValidationError, OutputStage, check_array, check_pair


@dataclass(frozen=True, eq=False, kw_only=True)
class FixedConv(Node):
    """``acc[n,y,x,o] = sum_{i,j,c} q[n, y*sh+i-pt, x*sw+j-pl, c] * w[o,i,j,c]`` with zero padding.

    ``weights`` are integers ``(Cout, KH, KW, Cin)`` of ``w_bits`` bits (signed) at ``w_frac`` fraction bits
    (per-channel power-of-two weight scales are folded into ``stage.mul``). ``acc`` has
    ``in.frac + w_frac`` fraction bits; ``stage`` makes the output.
    """

    weights: np.ndarray
    w_bits: int
    w_frac: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    stage: OutputStage

    op_type = "FixedConv"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=4, shape=(None, *self.kernel))
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        check_pair(self.name, "pad", self.pad, 0)
        lo, hi = -(1 << (self.w_bits - 1)), (1 << (self.w_bits - 1)) - 1
        if self.weights.size and (self.weights.min() < lo or self.weights.max() > hi):
            raise NodeValidationError(
                f"node {self.name!r}: weights exceed the signed {self.w_bits}-bit range"
            )
        self.stage.validate(self.name, self.cout)

    @property
    def cout(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cin(self) -> int:
        return int(self.weights.shape[3])
