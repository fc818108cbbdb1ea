"""The estimator costs the widths the emitter writes: both read the one range analysis (hwsim.ranges).

For every node of the test designs, the widths :func:`hls.estimate.widths.datapath_widths` gives the estimators
(accumulators, affine values, sums, PReLU and hyper-function intermediates) equal the C++ types in the emitted
context, and the estimator's accumulator width (:func:`hls.estimate.matrix.acc_width`) equals ``acc_t``.
"""

from __future__ import annotations

import numpy as np
import pytest

from hls.emit import NodeEnv, c_ident, emit_node
from hls.estimate import designs as D
from hls.estimate.matrix import acc_width
from hls.estimate.registry import EstimateConfig
from hls.estimate.widths import datapath_widths
from hls.folding import MATRIX_TYPES, Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph
from tests.hls.cases import fuzz_graph, squash_graph
from tests.hwsim.graphs import finn_graph, resblock_graph


def _emitted(ctx: dict, node: N.Node) -> dict[str, int]:
    """The widths of the emitted context, under the keys of :func:`datapath_widths`."""
    out: dict[str, int] = {}
    if isinstance(node, MATRIX_TYPES):
        out["acc"] = ctx["mvu"]["acc_num"].bits
        if ctx["mvu"]["stage"]["mode"] == "affine":
            out["value"] = ctx["mvu"]["stage"]["value_num"].bits
    if isinstance(node, (N.Add, N.AvgPool, N.GlobalPool)):
        out["sum"] = ctx["sum_num"].bits
    if isinstance(node, (N.PReLU, N.DynamicPReLU)):
        out.update(d=ctx["d_num"].bits, p=ctx["p_num"].bits, y=ctx["y_num"].bits)
    if isinstance(node, N.DynamicSign):
        out["cmp"] = ctx["cmp_num"].bits
    if "hyper" in ctx:
        h = ctx["hyper"]
        out.update(hsum=h["sum_num"].bits, l1=h["l1_num"].bits, h1=h["h1_num"].bits, l2=h["l2_num"].bits,
                   z=h["z_num"].bits, delta=h["delta_num"].bits)  # fmt: skip
    return out


def check_widths_agree(g: HwGraph, folding: dict[str, Fold] | None = None) -> int:
    """Assert, node by node, that the estimator's widths are the emitted ones; returns the widths compared."""
    folding = folding or {}
    cfg = EstimateConfig()
    compared = 0
    for n in g.nodes:
        if n.host or isinstance(n, N.Duplicate):
            continue
        est = datapath_widths(g, n)
        code = emit_node(NodeEnv(g, n, folding.get(n.name, Fold(1, 1)), c_ident(n.name)))
        emitted = _emitted(code.context, n)
        assert set(emitted) <= set(est), f"{g.name}/{n.name}: estimator lacks {set(emitted) - set(est)}"
        assert {k: est[k] for k in emitted} == emitted, f"{g.name}/{n.name} ({n.op_type})"
        if isinstance(n, MATRIX_TYPES):
            assert acc_width(g, n, cfg) == emitted["acc"], f"{g.name}/{n.name}"
        compared += len(emitted)
    return compared


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_widths_agree_on_the_fuzz_graphs(seed):
    assert check_widths_agree(fuzz_graph(np.random.default_rng(seed))) >= 20


def test_widths_agree_on_the_handmade_graphs(rng):
    assert check_widths_agree(resblock_graph(rng, c=4, hw=4)) >= 20
    assert check_widths_agree(resblock_graph(rng, c=8, hw=6, pad_value=1)) >= 20
    assert check_widths_agree(finn_graph(rng)) >= 3


def test_widths_agree_on_the_squash_graphs(rng):
    x = rng.integers(-40, 40, (2, 3, 3, 4)).astype(np.float32) / 8
    g, folding = squash_graph(rng, x)
    assert check_widths_agree(g, folding) >= 30


def test_widths_agree_on_cnv_and_the_cnv_first_layer_is_13_bits(rng):
    g = D.cnv_w1a1(rng)
    check_widths_agree(g)
    conv0 = g.node("conv0")
    assert g.spec(conv0.inputs[0]).dtype.bits == 8 and conv0.weights[0].size == 27
    # |acc| <= 27 * 128 = 3456 < 2^12: 13 bits (the estimator used to cost 8 + ceil(log2 27) + 1 = 14)
    assert acc_width(g, conv0, EstimateConfig()) == 13


@pytest.mark.slow
def test_widths_agree_on_reactnet_a(rng):
    assert check_widths_agree(D.reactnet_a(rng)) > 100


@pytest.mark.slow  # an export with training steps and a lowering: about a minute on 2 loaded cores
@pytest.mark.xdist_group("lower-dybnn-tiny")
def test_widths_agree_on_the_lowered_dybnn_tiny():
    from hwsim.lower import lower
    from tests.hwsim.test_lower import exported

    _, path = exported("dybnn-tiny", (1, 16, 16), None, True)
    g = lower(path)
    assert check_widths_agree(g) >= 40
