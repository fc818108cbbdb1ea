"""DynamicPReLU: DyBNN's dynamic RPReLU."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import HyperFunction, Node, check_array, check_inputs
from hwsim.types import Fixed


@dataclass(frozen=True, eq=False, kw_only=True)
class DynamicPReLU(Node):
    """``y = requant(PReLU_beta(x - (gamma + d[:C])) + (zeta + d[C:]) -> out)`` with ``d = hyper(x[n])`` (2C outputs).

    Exact before the final requantization. Like DynamicSign it needs the whole frame before it can emit.
    """

    gamma: np.ndarray
    gamma_frac: int
    zeta: np.ndarray
    zeta_frac: int
    beta: np.ndarray
    beta_frac: int
    hyper: HyperFunction
    out: Fixed

    op_type = "DynamicPReLU"
    #: one input ``x``, or ``(x, context)`` when ``hyper.context`` (the context vector of a HyperContext node)
    n_inputs = None

    def validate(self) -> None:
        check_inputs(self)
        c = self.gamma.shape[0] if isinstance(self.gamma, np.ndarray) else None
        check_array(self.name, "gamma", self.gamma, ndim=1)
        check_array(self.name, "zeta", self.zeta, ndim=1, shape=(c,))
        check_array(self.name, "beta", self.beta, ndim=1, shape=(c,))
        self.hyper.validate(self.name, self.channels, 2 * self.channels)

    @property
    def channels(self) -> int:
        return int(self.gamma.shape[0])
