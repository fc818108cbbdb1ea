"""``static_equivalent``: the same network with static RSign / RPReLU, to show what dynamic thresholds
cost."""

from __future__ import annotations

import numpy as np

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.types import Fixed


def _to_grid(v: np.ndarray, frac: int, target_frac: int) -> np.ndarray:
    """Values ``v * 2**-frac`` as thresholds on the ``target_frac`` grid: ``q >= t`` iff ``q*2**-tf >=
    v*2**-f``, so round up when the target grid is coarser."""
    v = v.astype(np.int64)
    if target_frac >= frac:
        return v << (target_frac - frac)
    d = 1 << (frac - target_frac)
    return -((-v) // d)


def static_equivalent(graph: HwGraph) -> HwGraph:
    """A copy of ``graph`` with every DynamicSign replaced by a Sign on its static threshold ``tau`` and every
    DynamicPReLU by a PReLU with its static ``gamma``/``zeta``/``beta`` (the hyper functions dropped).

    Tensor names, shapes and types are unchanged, so the same folding applies to both graphs.
    """
    nodes: list[N.Node] = []
    for n in graph.nodes:
        if isinstance(n, N.DynamicSign):
            dt = graph.spec(n.inputs[0]).dtype
            frac = dt.frac if isinstance(dt, Fixed) else 0
            nodes.append(
                N.Sign(
                    name=n.name,
                    inputs=n.inputs,
                    outputs=n.outputs,
                    thr=_to_grid(n.tau, n.tau_frac, frac),
                    invert=np.zeros(n.channels, np.uint8),
                )
            )
        elif isinstance(n, N.DynamicPReLU):
            nodes.append(
                N.PReLU(
                    name=n.name,
                    inputs=n.inputs,
                    outputs=n.outputs,
                    gamma=n.gamma,
                    gamma_frac=n.gamma_frac,
                    zeta=n.zeta,
                    zeta_frac=n.zeta_frac,
                    beta=n.beta,
                    beta_frac=n.beta_frac,
                    out=n.out,
                )
            )
        else:
            nodes.append(n)
    return HwGraph(
        name=f"{graph.name}-static",
        inputs=list(graph.inputs),
        outputs=list(graph.outputs),
        tensors=dict(graph.tensors),
        nodes=nodes,
        metadata={**graph.metadata, "static_equivalent_of": graph.name},
    )


def has_dynamic(graph: HwGraph) -> bool:
    return any(isinstance(n, (N.DynamicSign, N.DynamicPReLU)) for n in graph.nodes)
