"""FixedDense: multi-bit matrix-vector product (classifier, hyper functions outside DynamicSign)."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import MatrixNode, OutputStage, check_array


@dataclass(frozen=True, eq=False, kw_only=True)
class FixedDense(MatrixNode):
    """``acc[..., o] = sum_c q[..., c] * w[o, c]``; ``weights`` ``(Cout, Cin)`` signed ``w_bits``-bit at ``w_frac``.

    ``acc`` has ``in.frac + w_frac`` fraction bits; ``stage`` (usually affine with the bias) makes the output.
    """

    w_bits: int
    w_frac: int
    stage: OutputStage

    op_type = "FixedDense"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=2, bits=self.w_bits)
        self.stage.validate(self.name, self.cout)
