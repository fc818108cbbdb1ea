"""FloatTail: the float32 per-channel tail after the last matrix layer (a scale and bias producing the logits),
run on the host after the accelerator."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwsim.nodes.base import Node, NodeValidationError, check_array

#: the elementwise operations of a tail step: ``y = y OP c`` (``rsub``: ``c - y``, ``rdiv``: ``c / y``)
TAIL_OPS = ("add", "sub", "rsub", "mul", "div", "rdiv")


@dataclass(frozen=True, eq=False, kw_only=True)
class FloatTail(Node):
    """``y = float32(q * 2**-frac)`` of the fixed-point input ``q`` (exact: the lowering checks that every value
    fits float32's 24-bit significand), then for each step ``i`` in order ``y = y OP_i c_i[ch]``, one correctly
    rounded IEEE float32 operation each, as onnxruntime evaluates the ONNX ``Add``/``Sub``/``Mul``/``Div`` nodes
    (e.g. BNN-PYNQ's ``TensorNorm``: ``(x - mean) / sqrt(var + eps) * weight + bias``).

    ``consts`` ``(steps, C)`` holds the float32 constants as their IEEE bit patterns (``uint32`` values in int64),
    so that the graph file stores them exactly. The accelerator ends at the integers before this node
    (``host = True``): the HLS project, its C-simulation and the estimates stop there.
    """

    ops: tuple[str, ...]
    consts: np.ndarray

    op_type = "FloatTail"
    host = True

    def validate(self) -> None:
        if not isinstance(self.ops, tuple) or any(o not in TAIL_OPS for o in self.ops):
            raise NodeValidationError(
                f"node {self.name!r}: field 'ops' must be a tuple of {TAIL_OPS}, got {self.ops!r}"
            )
        check_array(self.name, "consts", self.consts, ndim=2, shape=(len(self.ops), None))
        if self.consts.size and (self.consts.min() < 0 or self.consts.max() > 0xFFFFFFFF):
            raise NodeValidationError(
                f"node {self.name!r}: consts must hold float32 bit patterns (0..2**32-1)"
            )

    @property
    def channels(self) -> int:
        return int(self.consts.shape[1])

    def constants(self) -> np.ndarray:
        """The constants as float32 ``(steps, C)``."""
        return self.consts.astype(np.uint32).view(np.float32)
