"""FixedDense: multi-bit matrix-vector product (classifier, hyper functions outside DynamicSign)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, NodeValidationError, OutputStage, check_array


@dataclass(frozen=True, eq=False, kw_only=True)
class FixedDense(Node):
    """``acc[..., o] = sum_c q[..., c] * w[o, c]``; ``weights`` ``(Cout, Cin)`` signed ``w_bits``-bit at ``w_frac``.

    ``acc`` has ``in.frac + w_frac`` fraction bits; ``stage`` (usually affine with the bias) makes the output.
    """

    weights: np.ndarray
    w_bits: int
    w_frac: int
    stage: OutputStage

    op_type = "FixedDense"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=2)
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
        return int(self.weights.shape[1])
