"""Accelerator and host parts of a hardware graph.

Node types with ``host = True`` (:class:`~hwsim.nodes.FloatTail`) run in software after the accelerator. The
accelerator part of a graph drops them and every node that reads their outputs (e.g. the LabelSelect on float
logits); its outputs are the integer tensors that fed them. The HLS project, its C-simulation, the estimates and
the folding work on :func:`accelerator_part`; hwsim simulates the whole graph.
"""

from __future__ import annotations

from hwsim.graph import HwGraph


def host_nodes(g: HwGraph) -> list[str]:
    """Names of the nodes that run on the host: host node types and everything downstream of them."""
    soft: set[str] = set()
    names: list[str] = []
    for n in g.nodes:
        if type(n).host or any(t in soft for t in n.inputs):
            names.append(n.name)
            soft.update(n.outputs)
    return names


def accelerator_part(g: HwGraph) -> HwGraph:
    """``g`` without its host nodes; the tensors they read from the accelerator become graph outputs."""
    names = set(host_nodes(g))
    if not names:
        return g
    host = [n for n in g.nodes if n.name in names]
    soft = {t for n in host for t in n.outputs}
    nodes = [n for n in g.nodes if n.name not in names]
    outputs = [t for t in g.outputs if t not in soft]
    for n in host:
        for t in n.inputs:
            if t not in soft and t not in outputs:
                outputs.append(t)
    tensors = {t: s for t, s in g.tensors.items() if t not in soft}
    return HwGraph(g.name, list(g.inputs), outputs, tensors, nodes, dict(g.metadata))
