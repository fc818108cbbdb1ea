"""The lowering's pass pipeline over the hardware graph; the pass contract, its driver and the generic passes
live in :mod:`hwsim.passes`."""

from __future__ import annotations

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.infer import infer
from hwsim.passes import DropUnusedTensors, InsertDuplicates, Pass, PassLimitError, run_passes, with_nodes
from hwsim.types import Fixed, Float

__all__ = [
    "DEFAULT_PIPELINE",
    "AddLabelSelect",
    "DropUnusedTensors",
    "InsertDuplicates",
    "Pass",
    "PassLimitError",
    "run_passes",
]


class AddLabelSelect(Pass):
    """Add a :class:`~hwsim.nodes.LabelSelect` (top-1) on the logits as a second graph output ``label``."""

    def __init__(self, k: int = 1) -> None:
        self.k = k

    def apply(self, g: HwGraph) -> tuple[HwGraph, bool]:
        if any(isinstance(n, N.LabelSelect) for n in g.nodes) or len(g.outputs) != 1:
            return g, False
        t = g.outputs[0]
        spec = g.spec(t)
        if not isinstance(spec.dtype, (Fixed, Float)) or len(spec.shape) != 1 or spec.shape[0] < 2:
            return g, False
        out = "label"
        while out in g.tensors:
            out += "_"
        node = N.LabelSelect(name="label_select", inputs=(t,), outputs=(out,), k=self.k)
        g2 = with_nodes(g, [*g.nodes, node], [t, out])
        g2.tensors[out] = infer(node, [spec])[0]
        return g2, True


DEFAULT_PIPELINE: list[type[Pass]] = [AddLabelSelect, InsertDuplicates, DropUnusedTensors]
