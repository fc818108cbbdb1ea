"""Sign: static per-channel thresholds (RSign, or a folded float BatchNorm + sign)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, check_array


@dataclass(frozen=True, eq=False, kw_only=True)
class Sign(Node):
    """Output bit ``= (q[..., c] >= thr[c]) XOR invert[c]``; ``thr`` is on the input's grid (``in.frac``)."""

    thr: np.ndarray
    invert: np.ndarray

    op_type = "Sign"

    def validate(self) -> None:
        check_array(self.name, "thr", self.thr, ndim=1)
        check_array(self.name, "invert", self.invert, ndim=1, shape=(self.thr.shape[0],), kind="b")

    @property
    def channels(self) -> int:
        return int(self.thr.shape[0])
