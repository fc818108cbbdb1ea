"""The hardware-aware DyBNN variant ``hyper_context: stem`` (issue 16 item 4): training model, export, lowering to a
HyperContext node and context dynamic units, exact L0 == L1 == L2 == L3."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hwsim import nodes as N  # noqa: E402
from hwsim.lower import lower  # noqa: E402
from hwsim.reference import run_node  # noqa: E402
from hwsim.simulate import simulate  # noqa: E402
from tests.hwsim.graphs import stem_context_graph  # noqa: E402
from tests.hwsim.test_lower import assert_exact, exported  # noqa: E402
from training.layers import HyperConfig, HyperContext, HyperFunction  # noqa: E402
from training.models import build_model  # noqa: E402
from training.train_config import ConfigError, TrainConfig  # noqa: E402
from verify.levels import LEVELS, verify  # noqa: E402

SHAPE = (1, 16, 16)


def test_config_field_selects_the_variant():
    cfg = TrainConfig(model="dybnn-tiny", dataset="digits", hyper_context="stem")
    m = build_model("dybnn-tiny", cfg=cfg.model_config())
    assert isinstance(m.context, HyperContext)
    assert build_model("dybnn-tiny").context is None and build_model("reactnet-tiny").context is None
    # every hyper function reads the one context: no pool of its own, layer 1 as wide as the stem
    hfs = [h for h in m.modules() if isinstance(h, HyperFunction)]
    assert len(hfs) == 12 and all(not hasattr(h, "pool") for h in hfs)
    assert {h.fc1.fc.in_features for h in hfs} == {m.context.channels}
    assert build_model("dybnn-tiny-stem").cfg.hyper.context == "stem"
    with pytest.raises(ConfigError, match="hyper_context must be one of self, stem, got 'stemm'"):
        TrainConfig(model="dybnn-tiny", dataset="digits", hyper_context="stemm")
    with pytest.raises(ValueError, match="needs context= a HyperContext"):
        HyperFunction(8, 8, HyperConfig(context="stem"))
    with pytest.raises(RuntimeError, match="not computed yet"):
        HyperContext(8).read()


@pytest.mark.xdist_group("lower-dybnn-tiny-stem")
def test_stem_variant_levels_agree_exactly():
    model, path = exported("dybnn-tiny-stem", SHAPE, None, True)
    g = lower(path)
    (hc,) = [n for n in g.nodes if isinstance(n, N.HyperContext)]
    dyn = [n for n in g.nodes if isinstance(n, (N.DynamicSign, N.DynamicPReLU))]
    assert len(dyn) == 12 and all(n.hyper.context and len(n.inputs) == 2 for n in dyn)
    # the context node sits on the stem's output; nothing but it reads that tensor any more
    assert type(g.producer(hc.inputs[0])).__name__ == "FixedConv"
    assert [n.name for n in g.consumers(hc.inputs[0])] == [hc.name]
    assert not [
        n for n in g.nodes if isinstance(n, N.GlobalPool) and n.outputs[0] in {d.inputs[1] for d in dyn}
    ]
    rep = verify(path, samples=8, levels=LEVELS, model=model, qonnx_samples=2, seed=3, graph=g)
    assert_exact(rep)
    assert {("torch", "qonnx"), ("torch", "ref"), ("qonnx", "ref"), ("ref", "numba")} <= {
        (p.a, p.b) for p in rep.pairs
    }


def test_context_graph_ref_equals_numba_and_the_context_is_the_pooled_stem(rng):
    g = stem_context_graph(rng)
    x = rng.standard_normal((5, 6, 6, 2)).astype(np.float32) * 4
    ref = simulate(g, x, level="ref", return_intermediates=True)
    nb = simulate(g, x, level="numba", return_intermediates=True)
    for t in ref:
        np.testing.assert_array_equal(np.asarray(ref[t]), np.asarray(nb[t]), err_msg=t)
    np.testing.assert_array_equal(ref["f"], ref["s"])  # the frame passes unchanged
    hc = g.node("ctx")
    gp = N.GlobalPool(name="p", inputs=("s",), outputs=("k2",), shift=hc.shift, out=hc.stat, pre=hc.pre)
    (want,) = run_node(gp, [ref["s"]], [g.spec("s")], [g.spec("k")])
    np.testing.assert_array_equal(ref["k"], want)


def test_a_context_unit_needs_its_context_input(rng):
    g = stem_context_graph(rng)
    d = g.node("dsign")
    with pytest.raises(
        N.NodeValidationError, match=r"'dsign' \(DynamicSign\) takes 2 input\(s\) \(x, context\), got 1"
    ):
        d.replace(inputs=d.inputs[:1])


def test_gate_context_frames_turns_the_pool_into_the_context_node(rng):
    """The lowering's pass: a GlobalPool whose output is the dynamic units' context becomes a HyperContext whose
    frame output every other reader of the pooled tensor reads; the values do not change."""
    from hwsim.graph import HwGraph
    from hwsim.lower.passes import GateContextFrames

    g = stem_context_graph(rng)
    hc = g.node("ctx")
    gp = N.GlobalPool(name="ctx", inputs=("s",), outputs=("k",), shift=hc.shift, out=hc.stat, pre=hc.pre)
    nodes = [
        gp if n is hc else n.replace(inputs=tuple("s" if t == "f" else t for t in n.inputs)) for n in g.nodes
    ]
    # before the lowering's fork pass: no Duplicates, the tensors read twice
    nodes = [n for n in nodes if n.name not in ("dupf", "dupk")]
    alias = {"f_a": "s", "f_b": "s", "k_a": "k", "k_b": "k"}
    nodes = [n.replace(inputs=tuple(alias.get(t, t) for t in n.inputs)) for n in nodes]
    plain = HwGraph(g.name, list(g.inputs), list(g.outputs), {t: s for t, s in g.tensors.items() if t not in alias and t != "f"},
                    nodes)  # fmt: skip
    plain.validate()
    gated, changed = GateContextFrames().apply(plain)
    assert changed and not GateContextFrames().apply(gated)[1]
    (new,) = [n for n in gated.nodes if isinstance(n, N.HyperContext)]
    assert new.outputs == ("s_gated", "k") and [n.name for n in gated.consumers("s")] == ["ctx"]
    assert {n.name for n in gated.consumers("s_gated")} == {"dsign", "add1"}
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32) * 4
    a, b = simulate(plain, x, level="ref"), simulate(gated, x, level="ref")
    for t in plain.outputs:
        np.testing.assert_array_equal(a[t], b[t])
