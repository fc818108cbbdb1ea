"""Analysis: worst-case magnitudes of the exact integer intermediates inside every node.

``infer`` types every *tensor*; this analysis lists what happens inside a node before its output requantizer
(accumulators, the affine stage, aligned sums, the hyper function's layers), so that the lowering can prove that
int64 arithmetic never overflows (62 bits with margin). The intervals are those of the one range analysis,
:func:`hwsim.ranges.node_ranges` (its ``steps``); this module only turns them into magnitudes.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.ranges import node_ranges
from hwsim.types import TensorSpec

#: largest magnitude (bits including sign) an int64 intermediate may reach
INT64_SAFE_BITS = 62


@dataclass(frozen=True)
class Bound:
    node: str
    what: str
    magnitude: int

    @property
    def bits(self) -> int:
        """Two's-complement bits needed for ``[-magnitude, magnitude]``."""
        return int(self.magnitude).bit_length() + 1


def node_bounds(node: N.Node, ins: list[TensorSpec]) -> list[Bound]:
    """Worst-case magnitudes inside ``node`` given its input specs."""
    return [Bound(node.name, what, iv.magnitude) for what, iv in node_ranges(node, ins).steps]


def integer_bounds(g: HwGraph) -> list[Bound]:
    """Every bound of every node of ``g``."""
    out: list[Bound] = []
    for n in g.nodes:
        out.extend(node_bounds(n, [g.spec(t) for t in n.inputs]))
    return out
