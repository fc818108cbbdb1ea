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
    "GateContextFrames",
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


class GateContextFrames(Pass):
    """The hardware-aware DyBNN variant (``hyper_context: stem``): a GlobalPool whose output is the context vector
    of dynamic units (their second input) becomes a :class:`~hwsim.nodes.HyperContext` with outputs
    ``(<x>_gated, context)``, placed right after the producer of its input ``x``, and every other reader of ``x``
    reads ``<x>_gated`` instead.

    The values are the same (the frame passes unchanged); the stream is not: the context node releases the frame
    only after its statistic, so the statistic reaches every dynamic unit before that unit's frame does, and one
    frame buffer (in the context node) replaces one per dynamic site.
    """

    def apply(self, g: HwGraph) -> tuple[HwGraph, bool]:
        dyn = (N.DynamicSign, N.DynamicPReLU)
        ctx = {n.inputs[1] for n in g.nodes if isinstance(n, dyn) and n.hyper.context}
        gp = next((n for n in g.nodes if isinstance(n, N.GlobalPool) and n.outputs[0] in ctx), None)
        if gp is None:
            return g, False
        c = gp.outputs[0]
        if c in g.outputs or any(
            c in n.inputs and not (isinstance(n, dyn) and n.hyper.context and n.inputs[1] == c)
            for n in g.nodes
        ):
            raise ValueError(
                f"node {gp.name!r}: the context vector {c!r} may only feed dynamic units' contexts"
            )
        if gp.out is None:
            raise ValueError(f"node {gp.name!r}: a context vector needs a requantized statistic (out)")
        x = gp.inputs[0]
        frame = f"{x}_gated"
        while frame in g.tensors:
            frame += "_"
        hc = N.HyperContext(
            name=gp.name, inputs=(x,), outputs=(frame, c), shift=gp.shift, stat=gp.out, pre=gp.pre
        )
        rest = [
            n if x not in n.inputs else n.replace(inputs=tuple(frame if t == x else t for t in n.inputs))
            for n in g.nodes
            if n is not gp
        ]
        at = next((i + 1 for i, n in enumerate(rest) if x in n.outputs), 0)
        g2 = with_nodes(g, [*rest[:at], hc, *rest[at:]])
        g2.tensors[frame] = g.tensors[x]
        meta = g2.metadata
        for key in ("onnx_tensor_map", "onnx_tensor"):
            if key in meta and x in meta[key]:
                meta[key] = dict(meta[key])
                v = meta[key][x]
                meta[key][frame] = dict(v) if isinstance(v, dict) else v
        return g2, True


DEFAULT_PIPELINE: list[type[Pass]] = [AddLabelSelect, GateContextFrames, InsertDuplicates, DropUnusedTensors]
