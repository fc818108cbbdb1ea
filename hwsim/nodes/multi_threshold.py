"""MultiThreshold: a monotone map from a fixed-point input to a small integer, as sorted thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, NodeValidationError, check_array
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class MultiThreshold(Node):
    """``y[..., c] = base + sum_t (q[..., c] >= thr[c, t])`` in ``out`` (FINN MultiThreshold, increasing maps).

    Realizes a float function feeding a quantizer exactly: thresholds come from bisection of the golden
    function over the integer input domain. ``thr`` rows are sorted ascending, on the input's grid.
    """

    thr: np.ndarray
    base: int
    out: Fixed

    op_type = "MultiThreshold"

    def validate(self) -> None:
        check_array(self.name, "thr", self.thr, ndim=2)
        if self.thr.shape[1] and np.any(np.diff(self.thr, axis=1) < 0):
            raise NodeValidationError(f"node {self.name!r}: thresholds must be sorted ascending per channel")
