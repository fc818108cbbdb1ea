"""Collect the dynamic thresholds of a trained DyBNN for ``thresholds.npz`` (the only module of ``reports`` that
uses torch, imported lazily).

``thresholds.npz`` holds, per DySign site (the module's qualified name in the model, e.g. ``blocks.0.0.sign``):

* ``<site>.thresholds`` -- float32 ``(samples, channels)``: ``tau_c + delta_c(x)`` for every sample, the value a
  channel is compared with (``+1 iff x >= threshold``), on the scale of the tensor being binarized (the residual
  stream);
* ``<site>.tau`` -- float32 ``(channels,)``: the static part ``tau_c``;

and ``sites``, the site names in module order (a string array, loadable without pickle).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np


def collect_thresholds(model: Any, x: Any, batch_size: int | None = None) -> dict[str, np.ndarray]:
    """Run ``model`` on ``x`` and record, at every :class:`training.layers.DySign`, the per-sample per-channel
    thresholds it applies.

    A forward pre-hook on each DySign captures the tensor it binarizes and evaluates ``DySign.thresholds`` on it
    (no gradient). The model runs in ``eval()`` mode (the deployed model's thresholds); its previous mode is
    restored, and the hooks removed, also when the forward pass fails.

    Args:
        model: a Brevitas DyBNN (``torch.nn.Module``) with at least one DySign.
        x: input batch ``(N, C, H, W)``, a torch tensor or a numpy array.
        batch_size: run ``x`` in chunks of this many samples (default: one pass).

    Returns:
        ``{"sites": array of str, "<site>.thresholds": (N, C) float32, "<site>.tau": (C,) float32}``.

    Raises:
        ValueError: the model has no DySign module, or ``x`` is empty.
    """
    import torch

    from training.layers import DySign

    sites = [(name or "dysign", m) for name, m in model.named_modules() if isinstance(m, DySign)]
    if not sites:
        raise ValueError(f"{type(model).__name__} has no DySign module: only a DyBNN has dynamic thresholds")
    xt = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if xt.shape[0] == 0:
        raise ValueError("x holds no sample")
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    xt = xt.to(device=device, dtype=torch.float32)
    captured: dict[str, list[np.ndarray]] = {name: [] for name, _ in sites}

    def make_hook(name: str):
        def hook(module, args) -> None:
            captured[name].append(module.thresholds(args[0]).detach().to("cpu", torch.float32).numpy())

        return hook

    handles = [m.register_forward_pre_hook(make_hook(name)) for name, m in sites]
    was_training = model.training
    step = int(batch_size) if batch_size else xt.shape[0]
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, xt.shape[0], step):
                model(xt[i : i + step])
            taus = {name: m.tau().detach().to("cpu", torch.float32).reshape(-1).numpy() for name, m in sites}
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out: dict[str, np.ndarray] = {"sites": np.array([name for name, _ in sites])}
    for name, _ in sites:
        out[f"{name}.thresholds"] = np.concatenate(captured[name], axis=0).astype(np.float32)
        out[f"{name}.tau"] = taus[name].astype(np.float32)
    return out


def save_thresholds(path: str | os.PathLike, arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``arrays`` (as :func:`collect_thresholds` returns them) to ``path`` atomically (temporary file in the
    same directory, then ``os.replace``)."""
    from runfiles.outputs import atomic_write

    path = Path(path)
    with atomic_write(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **{k: np.asarray(v) for k, v in arrays.items()})
    return path
