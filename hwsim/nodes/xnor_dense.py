"""XnorDense: binary-weight matrix-vector product."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, OutputStage, check_array


@dataclass(frozen=True, eq=False, kw_only=True)
class XnorDense(Node):
    """``acc[..., o] = sum_c a[..., c] * w[o, c]`` with ``w`` in {-1,+1} as bits ``(Cout, Cin)``.

    Bipolar input: XNOR-popcount. Fixed-point input: ``+-x`` adds at the input's fraction bits.
    Leading axes (e.g. spatial positions after a SlidingWindow) are batch. ``stage`` makes the output.
    """

    weights: np.ndarray
    stage: OutputStage

    op_type = "XnorDense"

    def validate(self) -> None:
        check_array(self.name, "weights", self.weights, ndim=2, kind="b")
        self.stage.validate(self.name, self.cout)

    @property
    def cout(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cin(self) -> int:
        return int(self.weights.shape[1])
