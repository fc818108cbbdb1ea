"""Lowering QONNX -> hardware graph: exact equality PyTorch == QONNX == hwsim ref (== numba) on the dybnn models.

Models are exported here with the recipe of ``docs/sources.md`` (Brevitas export; calibrating train-mode
forwards or a few Adam steps, fold the BatchNorms, a few more, ``eval()``, ``export_qonnx(dynamo=False)``); the
lowering loads the raw export itself. :func:`exported` caches one export per configuration for the session.
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwsim import nodes as N  # noqa: E402
from hwsim.graph import HwGraph  # noqa: E402
from hwsim.lower import lower  # noqa: E402
from hwsim.onnx_values import hw_value  # noqa: E402
from hwsim.simulate import simulate  # noqa: E402
from verify.levels import LEVELS, verify  # noqa: E402


def export_model(
    name: str,
    path: Path,
    input_shape: tuple[int, int, int] | None = None,
    cfg=None,
    trained: bool = False,
    batch: int = 2,
    seed: int = 0,
    steps: int = 3,
    train_batch: int = 8,
):
    """Build a registered model, calibrate (and with ``trained`` take Adam steps), fold, export raw QONNX."""
    from brevitas.export import export_qonnx

    from training.layers import fold_batchnorms
    from training.models import build_model

    torch.manual_seed(seed)
    model = build_model(name, input_shape=input_shape, cfg=cfg)
    c, h, w = model.input_shape
    opt = torch.optim.Adam(model.parameters(), 1e-2) if trained else None
    model.train()
    for phase in range(2):
        for _ in range(steps):
            x = torch.randn(train_batch, c, h, w)
            if opt is None:
                with torch.no_grad():
                    model(x)
            else:
                loss = torch.nn.functional.cross_entropy(
                    model(x), torch.randint(0, model.num_classes, (train_batch,))
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        if phase == 0:
            fold_batchnorms(model)
            if opt is not None:
                opt = torch.optim.Adam(model.parameters(), 1e-2)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, args=torch.randn(batch, c, h, w), export_path=str(path), dynamo=False)
    return model


_CACHE_DIR: list[Path] = []


@cache
def exported(name: str, input_shape=None, cfg=None, trained: bool = False, batch: int = 2):
    """``(torch model, onnx path)``, exported once per configuration and session."""
    import tempfile

    if not _CACHE_DIR:
        import atexit
        import shutil

        _CACHE_DIR.append(Path(tempfile.mkdtemp(prefix="dybnn-lower-")))
        atexit.register(shutil.rmtree, _CACHE_DIR[0], ignore_errors=True)
    tag = f"{name}-{'x'.join(map(str, input_shape or ()))}-{abs(hash(cfg)) % 10**8}-{int(trained)}-{batch}"
    path = _CACHE_DIR[0] / f"{tag}.onnx"
    model = export_model(name, path, input_shape, cfg, trained, batch)
    return model, path


def assert_exact(report) -> None:
    """Every compared pair agrees on every element and every level that ran compared something."""
    assert report.pairs, report.table()
    for p in report.pairs:
        assert p.tensors > 0 and p.elements > 0, report.table()
        assert p.mismatches == 0, report.table()
    assert report.ok, report.table()


# ---------------------------------------------------------------------------------------------------------------
# the registry models, random init and briefly trained

SMALL = [
    ("dybnn-tiny", (1, 16, 16)),
    ("reactnet-tiny", (1, 16, 16)),
    ("lfc-w1a1", (1, 28, 28)),
    ("cnv-w1a1", (3, 32, 32)),
]


@pytest.mark.parametrize("trained", [False, True], ids=["random", "trained"])
@pytest.mark.parametrize(
    "name,shape", [pytest.param(m, s, marks=pytest.mark.xdist_group(f"lower-{m}"), id=m) for m, s in SMALL]
)
def test_levels_agree_exactly(name, shape, trained):
    model, path = exported(name, shape, None, trained)
    rep = verify(path, samples=12, levels=LEVELS, model=model, qonnx_samples=2, seed=1)
    assert_exact(rep)
    pairs = {(p.a, p.b) for p in rep.pairs}
    assert {("torch", "qonnx"), ("torch", "ref"), ("qonnx", "ref")} <= pairs
    assert ("ref", "numba") in pairs


@pytest.mark.parametrize(
    "name,shape",
    [
        pytest.param(m, s, marks=pytest.mark.xdist_group(f"lower-{m}"), id=m)
        for m, s in SMALL
        if m != "lfc-w1a1"
    ],
)
def test_logits_and_every_quantizer_equal_torch(name, shape, rng):
    """The logits (and the label) from the hardware graph equal PyTorch's, checked directly."""
    model, path = exported(name, shape, None, True)
    g = lower(path)
    x = rng.standard_normal((16, *shape)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy().astype(np.float64)
    out = simulate(g, x, level="ref")
    logits = g.metadata["logits"]
    rec = g.metadata["onnx_tensor_map"][logits]
    np.testing.assert_array_equal(hw_value(out[logits], rec), want)
    np.testing.assert_array_equal(out["label"][:, 0], np.argmax(want, axis=-1))


@pytest.mark.xdist_group("lower-dybnn-tiny")
def test_graph_structure_dybnn_tiny():
    _, path = exported("dybnn-tiny", (1, 16, 16), None, True)
    g = lower(path)
    c = g.count()
    assert c["DynamicSign"] == c["DynamicPReLU"] == 6
    assert c["XnorConv"] == 7 and c["FixedConv"] == 1 and c["FixedDense"] == 1
    assert c["InputQuant"] == 1 and c["GlobalPool"] == 1 and c["LabelSelect"] == 1
    assert g.outputs[1] == "label" and g.spec(g.outputs[0]).shape == (10,)
    # every tensor read twice has a fork, and the input of a dynamic unit is read once
    reads: dict[str, int] = {}
    for n in g.nodes:
        for t in n.inputs:
            reads[t] = reads.get(t, 0) + 1
    for t in g.outputs:
        reads[t] = reads.get(t, 0) + 1
    assert max(reads.values()) == 1
    for n in g.nodes:
        if isinstance(n, N.Duplicate):
            assert len(n.outputs) >= 2
    assert g.metadata["input_shape"] == [1, 16, 16]
    assert g.metadata["dynamic"] and all(
        isinstance(g.node(k), (N.DynamicSign, N.DynamicPReLU)) for k in g.metadata["dynamic"]
    )


@pytest.mark.xdist_group("lower-lfc-w1a1")
def test_graph_structure_lfc_flatten_after_binarization():
    _, path = exported("lfc-w1a1", (1, 28, 28), None, False)
    g = lower(path)
    assert [n.op_type for n in g.nodes[:3]] == ["InputQuant", "Flatten", "XnorDense"]
    assert g.nodes[0].out is None and g.spec(g.nodes[0].outputs[0]).shape == (28, 28, 1)
    dense = [n for n in g.nodes if isinstance(n, N.XnorDense)]
    assert [d.stage.mode for d in dense] == ["threshold"] * 3 + ["affine"]


@pytest.mark.xdist_group("lower-cnv-w1a1")
def test_cnv_flatten_permutes_weights_to_channels_last():
    """CNV's first dense layer reads a (1, 1, 256) map: the flatten order is trivial; with a larger map the
    permutation matters -- checked by the exact equality tests -- and the weights must be (Cout, H*W*C)."""
    _, path = exported("cnv-w1a1", (3, 32, 32), None, False)
    g = lower(path)
    fl = next(n for n in g.nodes if isinstance(n, N.Flatten))
    d = g.consumers(fl.outputs[0])[0]
    assert d.weights.shape[1] == int(np.prod(g.spec(fl.inputs[0]).shape))
    assert sum(isinstance(n, N.MaxPool) for n in g.nodes) == 2
    assert isinstance(g.nodes[1], N.XnorConv) and g.nodes[1].stage.mode == "threshold"


@pytest.mark.xdist_group("lower-reactnet-tiny")
@pytest.mark.parametrize("pad_value", [0.0, 1.0, -1.0], ids=["pad0", "pad+1", "pad-1"])
def test_pad_value_variants(pad_value):
    """Binary 3x3 convs padded with 0 (Conv pads, valid counts), +1 or -1 (an explicit ONNX Pad)."""
    from training.models import ModelConfig

    cfg = ModelConfig(pad_value=pad_value) if pad_value else None
    model, path = exported("reactnet-tiny", (1, 16, 16), cfg, False)
    g = lower(path)
    pads = {n.pad_value for n in g.nodes if isinstance(n, N.XnorConv) and any(n.pad)}
    assert pads == {int(pad_value)}
    rep = verify(path, samples=8, levels=("torch", "qonnx", "ref", "numba"), model=model, qonnx_samples=2)
    assert_exact(rep)


@pytest.mark.xdist_group("lower-dybnn-tiny")
def test_graph_save_load_round_trip(tmp_path, rng):
    _, path = exported("dybnn-tiny", (1, 16, 16), None, True)
    g = lower(path)
    g.save(tmp_path / "hw")
    g2 = HwGraph.load(tmp_path / "hw")
    assert [n.op_type for n in g2.nodes] == [n.op_type for n in g.nodes]
    assert g2.tensors == g.tensors and g2.outputs == g.outputs
    assert g2.metadata["onnx_tensor_map"] == g.metadata["onnx_tensor_map"]
    x = rng.standard_normal((4, 1, 16, 16)).astype(np.float32)
    a = simulate(g, x, level="ref", return_intermediates=True)
    b = simulate(g2, x, level="ref", return_intermediates=True)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.xdist_group("lower-dybnn-tiny")
@pytest.mark.parametrize("trained", [False, True], ids=["random", "trained"])
def test_tanh_hyper_functions_become_exact_thresholds(trained):
    """DyBNN with ``squash="tanh"``: every hyper function's tanh + 8-bit quantizer becomes 255 thresholds on the
    exact integer z, and all levels agree exactly."""
    from training.layers import HyperConfig
    from training.models import ModelConfig

    cfg = ModelConfig(dynamic=True, hyper=HyperConfig(squash="tanh"))
    model, path = exported("dybnn-tiny", (1, 16, 16), cfg, trained)
    g = lower(path)
    hypers = [n.hyper for n in g.nodes if isinstance(n, (N.DynamicSign, N.DynamicPReLU))]
    assert hypers and all(h.squash_thr is not None and h.squash_thr.shape == (255,) for h in hypers)
    rep = verify(path, samples=24, levels=LEVELS, model=model, graph=g, qonnx_samples=2, seed=3)
    assert_exact(rep)
    if trained:  # the hyper outputs spread over many levels: the thresholds matter
        from hwsim.reference import hyper_function

        x = np.random.default_rng(0).standard_normal((24, 1, 16, 16)).astype(np.float32)
        out = simulate(g, x, level="ref", return_intermediates=True)
        spread = [
            len(np.unique(hyper_function(n.hyper, out[n.inputs[0]], g.spec(n.inputs[0]).dtype.frac)))
            for n in g.nodes
            if isinstance(n, (N.DynamicSign, N.DynamicPReLU))
        ]
        assert max(spread) > 8, spread


@pytest.mark.xdist_group("lower-dybnn-tiny")
def test_narrow_delta_is_exact_at_every_level():
    """``hyper_delta_bits = 4``: every hyper function's output quantizer is 4 bits in the export, the lowering
    keeps it (``act``), the estimator's ``delta`` width follows, and all levels agree exactly on a briefly trained
    model whose ``delta`` takes several of its 16 levels."""
    from hls.estimate.widths import datapath_widths
    from hwsim.reference import hyper_function
    from training.layers import HyperConfig
    from training.models import ModelConfig

    cfg = ModelConfig(dynamic=True, hyper=HyperConfig(delta_bits=4))
    model, path = exported("dybnn-tiny", (1, 16, 16), cfg, True)
    g = lower(path)
    dyn = [n for n in g.nodes if isinstance(n, (N.DynamicSign, N.DynamicPReLU))]
    assert len(dyn) == 12
    for n in dyn:
        assert n.hyper.act is not None and n.hyper.act.bits == 4, n.name
        assert datapath_widths(g, n)["delta"] == 4, n.name
    rep = verify(path, samples=8, levels=LEVELS, model=model, graph=g, qonnx_samples=1, seed=5)
    assert_exact(rep)
    x = np.random.default_rng(1).standard_normal((24, 1, 16, 16)).astype(np.float32)
    out = simulate(g, x, level="ref", return_intermediates=True)
    spread = {
        v
        for n in dyn
        for v in np.unique(hyper_function(n.hyper, out[n.inputs[0]], g.spec(n.inputs[0]).dtype.frac)).tolist()
    }
    assert 3 <= len(spread) <= 16, spread


def test_tanh_export_passes_the_exactness_check(tmp_path):
    """``training.export`` accepts a float tanh that feeds the hyper function's quantizer (evaluated in float32 in
    the float64 shadow run too) and the export lowers."""
    from training.export import export_random
    from training.layers import HyperConfig
    from training.models import ModelConfig

    cfg = ModelConfig(dynamic=True, hyper=HyperConfig(squash="tanh"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = export_random("dybnn-tiny", tmp_path, input_shape=(1, 16, 16), cfg=cfg, calib_steps=4)
    g = lower(path)
    assert sum(isinstance(n, N.DynamicSign) and n.hyper.squash_thr is not None for n in g.nodes) >= 1


@pytest.mark.slow
@pytest.mark.xdist_group("lower-reactnet-a")
def test_reduced_dybnn_reactnet_a_torch_equals_hw():
    """ReActNet-A with DySign/DyPReLU at width 1/8 and 32x32: PyTorch == ref (== numba) on every quantizer output
    that is a hardware tensor and on the logits; the widest exact intermediate stays far below int64."""
    from hwsim.lower.bounds import integer_bounds
    from training.models import ModelConfig

    model, path = exported("dybnn-reactnet-a", (3, 32, 32), ModelConfig(width_mult=0.125), False)
    g = lower(path)
    assert g.count()["DynamicSign"] == 26 and g.count()["DynamicPReLU"] == 26
    assert max(b.bits for b in integer_bounds(g)) <= 62
    rep = verify(path, samples=6, levels=("torch", "ref", "numba"), model=model, graph=g)
    assert_exact(rep)
    torch_ref = next(p for p in rep.pairs if (p.a, p.b) == ("torch", "ref"))
    assert torch_ref.tensors > 50


@pytest.mark.slow
@pytest.mark.xdist_group("lower-reactnet-a")
def test_reduced_dybnn_reactnet_a_qonnx():
    from training.models import ModelConfig

    model, path = exported("dybnn-reactnet-a", (3, 32, 32), ModelConfig(width_mult=0.125), False)
    rep = verify(path, samples=2, levels=("torch", "qonnx", "ref"), model=model, qonnx_samples=2)
    assert_exact(rep)
