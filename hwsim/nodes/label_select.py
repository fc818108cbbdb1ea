"""LabelSelect: top-k class indices."""

from __future__ import annotations

from dataclasses import dataclass

from hwsim.nodes.base import Node, NodeValidationError


@dataclass(frozen=True, eq=False, kw_only=True)
class LabelSelect(Node):
    """``(C,) -> (k,)`` indices of the ``k`` largest values, largest first; ties go to the lower index
    (``torch.argmax`` semantics)."""

    k: int = 1

    op_type = "LabelSelect"

    def validate(self) -> None:
        if self.k < 1:
            raise NodeValidationError(f"node {self.name!r}: k must be >= 1")
