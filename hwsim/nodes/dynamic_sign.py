"""DynamicSign: DyBNN's dynamic threshold unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import HyperFunction, Node, check_array, check_inputs


@dataclass(frozen=True, eq=False, kw_only=True)
class DynamicSign(Node):
    """Output bit ``= x[n,h,w,c] >= tau[c] + delta(x[n])[c]`` (all on a common exact grid).

    ``tau`` is static at ``tau_frac``; ``delta`` comes from ``hyper`` (see :class:`HyperFunction`) applied to the
    whole feature map ``x[n]`` being binarized -- the hardware must buffer the frame (``H*W*C`` values) while the
    channel statistics and the hyper function are computed.
    """

    tau: np.ndarray
    tau_frac: int
    hyper: HyperFunction

    op_type = "DynamicSign"
    #: one input ``x``, or ``(x, context)`` when ``hyper.context`` (the context vector of a HyperContext node)
    n_inputs = None

    def validate(self) -> None:
        check_inputs(self)
        check_array(self.name, "tau", self.tau, ndim=1)
        self.hyper.validate(self.name, self.channels, self.channels)

    @property
    def channels(self) -> int:
        return int(self.tau.shape[0])
