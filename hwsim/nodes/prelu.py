"""PReLU: ReActNet's RPReLU with static shifts, requantized."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, check_array
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class PReLU(Node):
    """``y = requant(PReLU_beta(x - gamma) + zeta -> out)`` per channel, exact before the requantization.

    ``PReLU_beta(v) = v if v >= 0 else beta * v``. ``gamma``/``zeta``/``beta`` integers at their ``*_frac``.
    """

    gamma: np.ndarray
    gamma_frac: int
    zeta: np.ndarray
    zeta_frac: int
    beta: np.ndarray
    beta_frac: int
    out: Fixed

    op_type = "PReLU"

    def validate(self) -> None:
        c = self.gamma.shape[0] if isinstance(self.gamma, np.ndarray) else None
        check_array(self.name, "gamma", self.gamma, ndim=1)
        check_array(self.name, "zeta", self.zeta, ndim=1, shape=(c,))
        check_array(self.name, "beta", self.beta, ndim=1, shape=(c,))

    @property
    def channels(self) -> int:
        return int(self.gamma.shape[0])
