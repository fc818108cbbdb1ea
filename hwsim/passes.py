"""The pass contract of the hardware graph (qonnx style) and the passes that every back end relies on.

A pass is an object with ``apply(graph) -> (graph, changed)`` that never mutates its input; :func:`run_passes`
repeats each pass of a pipeline (a list of pass instances) until it reports no change, and raises instead of
looping forever. The lowering (:mod:`hwsim.lower.passes`) adds its own passes to the ones here; the back ends
(:mod:`hls.timing`, the HLS project writer) run :class:`InsertDuplicates` on any graph they are given, so that a
graph built by hand streams exactly like a lowered one. This module imports no ONNX.
"""

from __future__ import annotations

from collections import Counter

from hwsim import nodes as N
from hwsim.graph import HwGraph


class Pass:
    """A graph transformation; ``apply`` returns the new graph and whether it changed anything."""

    def apply(self, g: HwGraph) -> tuple[HwGraph, bool]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return type(self).__name__ + "()"


class PassLimitError(RuntimeError):
    """A pass kept changing the graph past the iteration limit."""


def run_passes(g: HwGraph, passes: list[Pass], max_iter: int = 20) -> HwGraph:
    """Apply each pass of the pipeline repeatedly until it reports no change (at most ``max_iter`` times)."""
    for p in passes:
        for _ in range(max_iter):
            g, changed = p.apply(g)
            if not changed:
                break
        else:
            raise PassLimitError(f"pass {p!r} still changed the graph after {max_iter} iterations")
    return g


def with_nodes(g: HwGraph, nodes: list[N.Node], outputs: list[str] | None = None) -> HwGraph:
    """A copy of ``g`` with other nodes (and graph outputs)."""
    return HwGraph(
        g.name, list(g.inputs), list(outputs or g.outputs), dict(g.tensors), nodes, dict(g.metadata)
    )


class InsertDuplicates(Pass):
    """Give every tensor read more than once (by nodes or as a graph output) a :class:`~hwsim.nodes.Duplicate`
    fork right after its producer: a stream has exactly one reader in a dataflow design.

    The fork of tensor ``t`` is node ``dup_<t>`` with outputs ``<t>_d0, <t>_d1, ...`` (a ``_`` is appended
    while a name is taken); the readers take the copies in graph order, the graph outputs the last ones.
    """

    def apply(self, g: HwGraph) -> tuple[HwGraph, bool]:
        reads: Counter[str] = Counter()
        for n in g.nodes:
            reads.update(n.inputs)
        reads.update(g.outputs)
        forked = [t for t, c in reads.items() if c > 1]
        if not forked:
            return g, False
        copies: dict[str, list[str]] = {}
        tensors = dict(g.tensors)
        node_names = {n.name for n in g.nodes}
        dups: dict[str, N.Duplicate] = {}
        for t in forked:
            names = []
            for i in range(reads[t]):
                nm = f"{t}_d{i}"
                while nm in tensors:
                    nm += "_"
                names.append(nm)
                tensors[nm] = g.tensors[t]
            copies[t] = names
            dn = f"dup_{t}"
            while dn in node_names:
                dn += "_"
            node_names.add(dn)
            dups[t] = N.Duplicate(name=dn, inputs=(t,), outputs=tuple(names))
        used: Counter[str] = Counter()

        def take(t: str) -> str:
            if t not in copies:
                return t
            i = used[t]
            used[t] += 1
            return copies[t][i]

        nodes: list[N.Node] = [dups[t] for t in g.inputs if t in dups]
        for n in g.nodes:
            new = (
                n.replace(inputs=tuple(take(t) for t in n.inputs))
                if any(t in copies for t in n.inputs)
                else n
            )
            nodes.append(new)
            nodes.extend(dups[t] for t in n.outputs if t in dups)
        # graph outputs take the last copies, after every node input was served
        outputs = [take(t) for t in g.outputs]
        return HwGraph(g.name, list(g.inputs), outputs, tensors, nodes, dict(g.metadata)), True


class DropUnusedTensors(Pass):
    """Remove tensor specs that no node produces or reads (left behind by other passes)."""

    def apply(self, g: HwGraph) -> tuple[HwGraph, bool]:
        live = set(g.inputs) | set(g.outputs)
        for n in g.nodes:
            live.update(n.inputs)
            live.update(n.outputs)
        dead = [t for t in g.tensors if t not in live]
        if not dead:
            return g, False
        g2 = with_nodes(g, list(g.nodes))
        for t in dead:
            del g2.tensors[t]
        return g2, True
