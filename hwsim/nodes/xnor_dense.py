"""XnorDense: binary-weight matrix-vector product."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import MatrixNode, OutputStage, check_array


@dataclass(frozen=True, eq=False, kw_only=True)
class XnorDense(MatrixNode):
    """``acc[..., o] = sum_c a[..., c] * w[o, c]`` with ``w`` in {-1,+1} as bits ``(Cout, Cin)``.

    Bipolar input: XNOR-popcount. Fixed-point input: ``+-x`` adds at the input's fraction bits.
    Leading axes (e.g. spatial positions after a SlidingWindow) are batch. ``stage`` makes the output.
    """

    stage: OutputStage

    op_type = "XnorDense"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=2, kind="b")
        self.stage.validate(self.name, self.cout)
