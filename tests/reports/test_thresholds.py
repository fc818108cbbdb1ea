"""``collect_thresholds`` on a real Brevitas DyBNN: the captured thresholds are the ones DySign applies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

from reports.run import read_thresholds  # noqa: E402
from reports.thresholds import collect_thresholds, save_thresholds  # noqa: E402
from training.layers import DySign  # noqa: E402
from training.models import build_model  # noqa: E402


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = build_model("dybnn-tiny", input_shape=(1, 16, 16))
    return m


def test_collect_shapes_and_restores_state(model) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 1, 16, 16)).astype(np.float32)
    model.train()
    out = collect_thresholds(model, x, batch_size=2)
    assert model.training  # mode restored
    sites = [n for n, m in model.named_modules() if isinstance(m, DySign)]
    assert list(out["sites"]) == sites and sites
    for name, m in model.named_modules():
        if isinstance(m, DySign):
            assert not m._forward_pre_hooks  # hooks removed
            c = m.tau().numel()
            assert out[f"{name}.thresholds"].shape == (5, c) and out[f"{name}.thresholds"].dtype == np.float32
            assert out[f"{name}.tau"].shape == (c,)


def test_thresholds_are_what_dysign_applies(model) -> None:
    """Binarizing each site's input at the captured thresholds reproduces the site's output exactly."""
    x = torch.as_tensor(np.random.default_rng(1).standard_normal((4, 1, 16, 16)).astype(np.float32))
    seen: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    hooks = []
    for name, m in model.named_modules():
        if isinstance(m, DySign):

            def hook(mod, args, output, name=name):
                seen[name] = (args[0].detach().numpy(), output.detach().numpy())

            hooks.append(m.register_forward_hook(hook))
    try:
        out = collect_thresholds(model, x)
    finally:
        for h in hooks:
            h.remove()
    for name, (inp, y) in seen.items():
        thr = out[f"{name}.thresholds"][:, :, None, None]
        np.testing.assert_array_equal(np.where(inp - thr >= 0, 1.0, -1.0), np.sign(y) + (y == 0))
        # the static part is the same for every sample; the dynamic part moves around it
        np.testing.assert_array_equal(
            out[f"{name}.tau"], model.get_submodule(name).tau().detach().reshape(-1).numpy()
        )


def test_save_and_read_back(model, tmp_path: Path) -> None:
    x = torch.zeros(2, 1, 16, 16)
    arrays = collect_thresholds(model, x)
    p = save_thresholds(tmp_path / "thresholds.npz", arrays)
    back = read_thresholds(p)
    assert set(back) == set(arrays)
    for k in arrays:
        np.testing.assert_array_equal(back[k], arrays[k])
    assert [q.name for q in tmp_path.iterdir()] == ["thresholds.npz"]


def test_static_model_has_no_sites() -> None:
    m = build_model("reactnet-tiny", input_shape=(1, 16, 16))
    with pytest.raises(ValueError, match="no DySign"):
        collect_thresholds(m, torch.zeros(1, 1, 16, 16))
