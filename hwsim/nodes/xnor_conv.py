"""XnorConv: binary-weight convolution (XNOR-popcount on bits, or +-x adds on a fixed-point input)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import MatrixNode, NodeValidationError, OutputStage, WindowNode, check_array, check_pair


@dataclass(frozen=True, eq=False, kw_only=True)
class XnorConv(MatrixNode, WindowNode):
    """``acc[n,y,x,o] = sum_{i,j,c} a[n, y*sh+i-pt, x*sw+j-pl, c] * w[o,i,j,c]`` with ``w`` in {-1,+1}.

    ``weights`` are bits ``(Cout, KH, KW, Cin)`` (bit 1 is +1). On a bipolar input the product is XNOR and the
    sum a popcount (``dot = 2*popcount(xnor) - K``); positions outside the map take ``pad_value`` (+1, -1, or 0
    meaning "contributes nothing"). On a fixed-point input (the 8-bit first layer of CNV) the product is ``+-x``,
    ``pad_value`` must be 0 and ``acc`` has the input's fraction bits. ``stage`` turns ``acc`` into the output.
    """

    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]  # top, left, bottom, right
    pad_value: int
    stage: OutputStage

    op_type = "XnorConv"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=4, shape=(None, *self.kernel), kind="b")
        check_pair(self.name, "kernel", self.kernel, 1)
        check_pair(self.name, "stride", self.stride, 1)
        check_pair(self.name, "pad", self.pad, 0)
        if self.pad_value not in (-1, 0, 1):
            raise NodeValidationError(
                f"node {self.name!r}: pad_value must be -1, 0 or +1, got {self.pad_value}"
            )
        self.stage.validate(self.name, self.cout)
