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
    # a hyper_context: stem network: the HyperContext node and the forks of its context vector go, its frame
    # output is its input again
    ctx = {n.outputs[1] for n in graph.nodes if isinstance(n, N.HyperContext)}
    ctx |= {t for n in graph.nodes if isinstance(n, N.Duplicate) and n.inputs[0] in ctx for t in n.outputs}
    same = {n.outputs[0]: n.inputs[0] for n in graph.nodes if isinstance(n, N.HyperContext)}
    for n in graph.nodes:
        if isinstance(n, N.HyperContext) or (isinstance(n, N.Duplicate) and n.inputs[0] in ctx):
            continue
        ins = tuple(same.get(t, t) for t in n.inputs if t not in ctx)
        if isinstance(n, N.DynamicSign):
            dt = graph.spec(n.inputs[0]).dtype
            frac = dt.frac if isinstance(dt, Fixed) else 0
            nodes.append(
                N.Sign(
                    name=n.name,
                    inputs=ins,
                    outputs=n.outputs,
                    thr=_to_grid(n.tau, n.tau_frac, frac),
                    invert=np.zeros(n.channels, np.uint8),
                )
            )
        elif isinstance(n, N.DynamicPReLU):
            nodes.append(
                N.PReLU(
                    name=n.name,
                    inputs=ins,
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
            nodes.append(n if ins == n.inputs else n.replace(inputs=ins))
    return HwGraph(
        name=f"{graph.name}-static",
        inputs=list(graph.inputs),
        outputs=list(graph.outputs),
        tensors={t: s for t, s in graph.tensors.items() if t not in ctx and t not in same},
        nodes=nodes,
        metadata={**graph.metadata, "static_equivalent_of": graph.name},
    )


def has_dynamic(graph: HwGraph) -> bool:
    return any(isinstance(n, (N.DynamicSign, N.DynamicPReLU)) for n in graph.nodes)
