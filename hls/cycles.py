"""Cycles per frame of each node for a folding: the iteration count of the node's pipelined (II=1) loop.

This is the single source of the cycle model: the estimator reports it and the HLS C-simulation counts the same
loop iterations (``#ifndef __SYNTHESIS__`` counters) -- tests check that both agree exactly. Pipeline fill
(a few cycles per loop, e.g. +7 in a published FINN CNV csynth report) is not included.
"""

from __future__ import annotations

from collections.abc import Callable

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hls.folding import Fold, matrix_dims

CYCLES: dict[type, Callable[[HwGraph, N.Node, Fold], int]] = {}


def cycle_rule(*classes: type) -> Callable:
    def deco(fn: Callable) -> Callable:
        for c in classes:
            CYCLES[c] = fn
        return fn

    return deco


def _elems(g: HwGraph, t: str) -> int:
    n = 1
    for d in g.spec(t).shape:
        n *= d
    return n


def node_cycles(g: HwGraph, node: N.Node, fold: Fold) -> int:
    fn = CYCLES.get(type(node))
    if fn is None:
        raise NotImplementedError(f"no cycle model for node type {node.op_type}")
    return int(fn(g, node, fold))


@cycle_rule(N.XnorConv, N.XnorDense, N.FixedConv, N.FixedDense)
def _matrix(g, node, f):
    """FINN MVAU: ``(MH/PE) * (MW/SIMD) * N`` (finn matrixvectoractivation.py get_exp_cycles)."""
    mh, mw, n = matrix_dims(g, node)
    return (mh // f.pe) * (mw // f.simd) * n


@cycle_rule(
    N.InputQuant, N.Sign, N.MultiThreshold, N.PReLU, N.Add, N.Requant, N.Duplicate, N.Flatten, N.Concat
)
def _stream_out(g, node, f):
    """Channel-wise streaming nodes: one PE-wide word of the output per cycle."""
    return _elems(g, node.outputs[0]) // f.pe


@cycle_rule(N.AvgPool, N.MaxPool, N.GlobalPool, N.SlidingWindow)
def _stream_in(g, node, f):
    """Pools and the window generator read every input word once: input elements / PE."""
    return max(_elems(g, node.inputs[0]), _elems(g, node.outputs[0])) // f.pe


@cycle_rule(N.LabelSelect)
def _label(g, node, f):
    return g.spec(node.inputs[0]).shape[-1] // f.pe


def _hyper_cycles(h: N.HyperFunction, pe: int) -> int:
    """The hyper-function MLP: ``(C_in * Hd + Hd * C_out) / PE`` MACs per cycle (after the frame)."""
    cin = h.w1.shape[1]
    return (cin * h.n_hidden + h.n_hidden * h.n_out + pe - 1) // pe


@cycle_rule(N.DynamicSign, N.DynamicPReLU)
def _dynamic(g, node, f):
    """Frame in (statistics on the fly, into the frame buffer), hyper function, frame out:
    ``2 * H*W*C/PE + hyper``. With a ping-pong frame buffer the initiation interval would be
    ``max(in, out)``; this model is the single-buffer design of the template."""
    frame = _elems(g, node.inputs[0]) // f.pe
    return 2 * frame + _hyper_cycles(node.hyper, f.pe)


def graph_cycles(g: HwGraph, folding: dict[str, Fold]) -> dict[str, int]:
    return {n.name: node_cycles(g, n, folding.get(n.name, Fold())) for n in g.nodes}
