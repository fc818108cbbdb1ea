"""The quantizer sites of a model on both sides of the export, and the one rule that pairs them.

A *site* is the output of one quantizer: on the PyTorch side an enabled Brevitas quant proxy (activation
quantizers -- fixed-point QuantIdentity/QuantReLU and binarization sites --, weight and bias quantizers), captured
with forward hooks in call order; on the QONNX side a ``Quant``/``BipolarQuant`` node, in the file's node order
(the exporter writes nodes in trace order). A QONNX site is an ``activation`` when its input depends on the graph
input, else a ``parameter``. A 2-D parameter feeding a ``MatMul`` was stored transposed (``W^T``; cleanup folds
the Transpose into the initializer): it is compared transposed back, in PyTorch's ``(out, in)`` layout.

Pairing (:func:`pair_sites`): in order of occurrence within each (kind, shape) -- the per-sample shape for
activations, the full shape for parameters --, which is robust to interleaving of independent branches. Cleanup
sorts the graph topologically, which may swap independent same-shape sites (the two 1x1 convs of a widening
ReActNet block); when a ``same(i, j)`` test is given, order-paired sites that differ are re-paired among
themselves by exact equality, so a swap is not reported as a mismatch while a wrong value still is.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

ACTIVATION = "activation"
PARAMETER = "parameter"


@dataclass(frozen=True)
class TorchSite:
    """The output of one Brevitas quant proxy on a batch."""

    name: str  #: qualified name of the quant proxy (``layers.3.fc.weight_quant``)
    kind: str  #: :data:`ACTIVATION` or :data:`PARAMETER`
    value: np.ndarray

    @property
    def key(self) -> tuple[str, tuple[int, ...]]:
        """The pairing key: kind and per-sample shape (activations) or shape (parameters)."""
        shape = self.value.shape[1:] if self.kind == ACTIVATION else self.value.shape
        return self.kind, tuple(shape)


@dataclass(frozen=True)
class OnnxSite:
    """One ``Quant``/``BipolarQuant`` node of a QONNX graph."""

    node: str
    tensor: str  #: its output tensor
    op_type: str
    kind: str  #: :data:`ACTIVATION` or :data:`PARAMETER`
    transposed: bool  #: a parameter that feeds a ``MatMul``: stored as ``W^T`` when it is 2-D

    def key(self, shape: Sequence[int]) -> tuple[str, tuple[int, ...]]:
        """The pairing key of this site for a value (or static shape) ``shape`` of its tensor, batch included
        for an activation."""
        shape = tuple(int(d) for d in shape)
        if self.kind == ACTIVATION:
            return self.kind, shape[1:]
        return self.kind, shape[::-1] if self.transposed and len(shape) == 2 else shape

    def torch_layout(self, value: np.ndarray) -> np.ndarray:
        """``value`` of this site in PyTorch's layout (a transposed weight transposed back)."""
        return value.T if self.transposed and value.ndim == 2 else value


def torch_sites(model: Any, x: np.ndarray, parameters: bool = False) -> tuple[list[TorchSite], np.ndarray]:
    """Outputs of every enabled Brevitas activation quantizer (and, with ``parameters``, weight and bias
    quantizer), in call order, and the logits, of ``model`` in ``eval()`` mode on ``x``."""
    import torch
    from brevitas.proxy import (
        ActQuantProxyFromInjector,
        BiasQuantProxyFromInjector,
        WeightQuantProxyFromInjector,
    )

    from training.exactness import module_tensors

    kinds: tuple[type, ...] = (ActQuantProxyFromInjector,)
    if parameters:
        kinds += (WeightQuantProxyFromInjector, BiasQuantProxyFromInjector)
    captured: list[TorchSite] = []
    handles = []
    for name, m in model.named_modules():
        if isinstance(m, kinds) and m.is_quant_enabled:
            kind = ACTIVATION if isinstance(m, ActQuantProxyFromInjector) else PARAMETER

            def hook(_m, _args, out, name=name, kind=kind):
                t = module_tensors(out)
                if t:
                    captured.append(TorchSite(name, kind, t[0].detach().cpu().numpy().copy()))

            handles.append(m.register_forward_hook(hook))
    model.eval()
    try:
        with torch.no_grad():
            logits = module_tensors(model(torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32))))[0]
    finally:
        for h in handles:
            h.remove()
    return captured, logits.detach().cpu().numpy()


def onnx_sites(proto: Any) -> list[OnnxSite]:
    """Every ``Quant``/``BipolarQuant`` node of the ONNX model ``proto``, in the file's node order."""
    g = proto.graph
    inits = {i.name for i in g.initializer}
    dyn = {i.name for i in g.input} - inits
    for n in g.node:  # the exporter writes nodes in trace order; keep it
        if any(t in dyn for t in n.input):
            dyn.update(n.output)
    readers: dict[str, list[str]] = {}
    for n in g.node:
        for t in n.input:
            readers.setdefault(t, []).append(n.op_type)
    out = []
    for n in g.node:
        if n.op_type in ("Quant", "BipolarQuant"):
            kind = ACTIVATION if n.input[0] in dyn else PARAMETER
            transposed = kind == PARAMETER and "MatMul" in readers.get(n.output[0], [])
            out.append(OnnxSite(n.name, n.output[0], n.op_type, kind, transposed))
    return out


def pair_sites(
    torch_keys: Sequence[tuple[str, Hashable]],
    onnx_keys: Sequence[tuple[str, Hashable]],
    same: Callable[[int, int], bool] | None = None,
) -> tuple[list[tuple[int, int]], list[str], list[str]]:
    """Pair PyTorch sites with QONNX sites by order of occurrence within each key (see the module docstring).

    Args:
        torch_keys: ``(name, key)`` of every PyTorch site, in call order.
        onnx_keys: ``(name, key)`` of every QONNX site, in node order.
        same: ``same(i, j)`` is True when PyTorch site ``i`` equals QONNX site ``j`` exactly; when given,
            order pairs that differ are re-paired among themselves by equality.

    Returns:
        ``(pairs, unmatched PyTorch names, unmatched QONNX names)``, ``pairs`` as sorted ``(i, j)`` indices.
    """
    queues: dict[Hashable, list[int]] = {}
    for j, (_, key) in enumerate(onnx_keys):
        queues.setdefault(key, []).append(j)
    pairs, unmatched_torch = [], []
    for i, (name, key) in enumerate(torch_keys):
        queue = queues.get(key)
        if queue:
            pairs.append((i, queue.pop(0)))
        else:
            unmatched_torch.append(name)
    bad = [p for p in pairs if not same(*p)] if same is not None else []
    if bad:
        pairs = [p for p in pairs if p not in bad]
        free = [j for _, j in bad]
        leftover = []
        for i, j in bad:
            k = next((k for k in free if same(i, k)), None)
            if k is None:
                leftover.append((i, j))
            else:
                free.remove(k)
                pairs.append((i, k))
        for i, j in leftover:  # still different: keep the order pairing where possible
            k = j if j in free else next(k for k in free if onnx_keys[k][1] == torch_keys[i][1])
            free.remove(k)
            pairs.append((i, k))
        pairs.sort()
    used = {j for _, j in pairs}
    unmatched_onnx = [onnx_keys[j][0] for j in range(len(onnx_keys)) if j not in used]
    return pairs, unmatched_torch, unmatched_onnx
