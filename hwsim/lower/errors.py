"""Errors of the QONNX -> hardware-graph lowering."""

from __future__ import annotations


class LoweringError(ValueError):
    """The ONNX model holds a pattern the lowering does not support, or a value it cannot represent exactly.

    The message names the ONNX node, its op type and what was expected, e.g. ``unsupported pattern at node Conv_3
    (Conv): expected BipolarQuant or Quant weights, got float initializer``.

    Attributes:
        node: name of the ONNX node (``""`` when the error concerns the whole model).
        op_type: its op type.
    """

    def __init__(self, message: str, node: str = "", op_type: str = "") -> None:
        super().__init__(message)
        self.node = node
        self.op_type = op_type


def unsupported(node, what: str) -> LoweringError:
    """``unsupported pattern at node NAME (OP): WHAT`` for an ONNX ``NodeProto``."""
    return LoweringError(
        f"unsupported pattern at node {node.name} ({node.op_type}): {what}", node.name, node.op_type
    )
