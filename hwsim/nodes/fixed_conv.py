"""FixedConv: multi-bit convolution (the stem, real downsample shortcuts)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import MatrixNode, OutputStage, WindowNode, check_array, check_pair


@dataclass(frozen=True, eq=False, kw_only=True)
class FixedConv(MatrixNode, WindowNode):
    """``acc[n,y,x,o] = sum_{i,j,c} q[n, y*sh+i-pt, x*sw+j-pl, c] * w[o,i,j,c]`` with zero padding.

    ``weights`` are integers ``(Cout, KH, KW, Cin)`` of ``w_bits`` bits (signed) at ``w_frac`` fraction bits
    (per-channel power-of-two weight scales are folded into ``stage.mul``). ``acc`` has
    ``in.frac + w_frac`` fraction bits; ``stage`` makes the output.
    """

    w_bits: int
    w_frac: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]
    stage: OutputStage

    op_type = "FixedConv"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=4, shape=(None, *self.kernel), bits=self.w_bits)
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        check_pair(self.name, "pad", self.pad, 0)
        self.stage.validate(self.name, self.cout)
