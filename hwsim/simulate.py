"""Run a hardware graph on a batch: level ``ref`` (numpy, L2) or ``numba`` (bit-packed kernels, L3)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwsim.graph import GraphError, HwGraph
from hwsim.infer import infer
from hwsim.types import TensorSpec

#: the simulation levels of :func:`simulate` (the numpy reference, the Numba kernels); the verification
#: levels, torch and qonnx included, are :data:`verify.levels.LEVELS`
SIM_LEVELS = ("ref", "numba")


def _registry(level: str) -> dict[type, Callable]:
    if level == "ref":
        from hwsim.reference import REFERENCE

        return REFERENCE
    if level == "numba":
        from hwsim.kernels import KERNELS

        return KERNELS
    raise ValueError(f"unknown simulation level {level!r}; expected one of {SIM_LEVELS}")


def check_specs(graph: HwGraph) -> None:
    """Re-infer every node's output specs and compare with the graph's (catches a hand-edited graph.json)."""
    for node in graph.nodes:
        got = infer(node, [graph.spec(t) for t in node.inputs])
        for t, s in zip(node.outputs, got, strict=True):
            if graph.spec(t) != s:
                raise GraphError(
                    f"node {node.name!r}: output {t!r} is {graph.spec(t)} in the graph, {s} by inference"
                )


def to_graph_layout(x: np.ndarray, spec: TensorSpec) -> np.ndarray:
    """Accept a PyTorch-layout batch (N, C, H, W) or channels-last (N, H, W, C); return channels-last float32."""
    x = np.asarray(x, dtype=np.float32)
    want = tuple(spec.shape)
    if x.shape[1:] == want:
        return x
    if len(want) == 3 and x.ndim == 4 and (x.shape[2], x.shape[3], x.shape[1]) == want:
        return np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    if len(want) == 1 and x.ndim >= 2 and int(np.prod(x.shape[1:])) == want[0]:
        return x.reshape(x.shape[0], -1)
    raise ValueError(
        f"input of shape {x.shape} does not match the graph input {want} (channels last) or NCHW"
    )


def simulate(
    graph: HwGraph,
    x: np.ndarray,
    level: str = "numba",
    return_intermediates: bool = False,
) -> dict[str, np.ndarray]:
    """Run ``graph`` on the float batch ``x``; returns ``{output_name: array}`` (all tensors if asked).

    Bipolar tensors come back as uint8 bits (bit 1 is +1), fixed point as int64 integers, indices as int64.
    At level ``numba`` bipolar tensors travel between kernels packed (:class:`hwsim.kernels.PackedBits`) and
    fixed-point tensors in the narrowest integer type of their range; both are converted to the reference
    representation only here, on the way out.
    """
    reg = _registry(level)
    if len(graph.inputs) != 1:
        raise GraphError(f"graph {graph.name!r}: simulate expects one input, has {len(graph.inputs)}")
    env: dict[str, np.ndarray] = {graph.inputs[0]: to_graph_layout(x, graph.spec(graph.inputs[0]))}
    last_use: dict[str, int] = {}
    for i, node in enumerate(graph.nodes):
        for t in node.inputs:
            last_use[t] = i
    keep = set(graph.outputs)
    for i, node in enumerate(graph.nodes):
        fn = reg.get(type(node))
        if fn is None:
            raise NotImplementedError(f"level {level!r} has no implementation of node type {node.op_type}")
        in_specs = [graph.spec(t) for t in node.inputs]
        out_specs = [graph.spec(t) for t in node.outputs]
        outs = fn(node, [env[t] for t in node.inputs], in_specs, out_specs)
        for t, v in zip(node.outputs, outs, strict=True):
            env[t] = v
        if not return_intermediates:
            for t in node.inputs:
                if last_use.get(t) == i and t not in keep:
                    env.pop(t, None)
    result = env if return_intermediates else {t: env[t] for t in graph.outputs}
    if level == "numba":
        from hwsim.kernels import to_reference

        result = {t: to_reference(v, graph.spec(t)) for t, v in result.items()}
    return result


def fixed_to_float(q: np.ndarray, frac: int) -> np.ndarray:
    """Value of fixed-point integers as float64 (exact for |q| < 2**53)."""
    return np.ldexp(np.asarray(q, dtype=np.float64), -frac)
