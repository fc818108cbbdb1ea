"""Operation counts against the published ReActNet / Bi-Real figures, and the models table."""

from __future__ import annotations

import json

import pytest

from training.models import MODELS
from training.ops import BOPS_PER_OP, OpCounts, count_ops, models_table


def test_ops_is_bops_over_64_plus_flops():
    c = OpCounts(bops=6400, flops=10, hyper_flops=4, params=1)
    assert c.ops == 6400 / BOPS_PER_OP + 10 == 110
    assert c.as_dict()["ops"] == 110


def test_reactnet_a_matches_the_published_counts():
    c = count_ops("reactnet-a")
    assert c.bops == pytest.approx(4.82e9, rel=0.01)
    assert c.ops == pytest.approx(0.87e8, rel=0.01)
    # the FLOPs are the 3x3 s2 stem (3 -> 32 at 112x112) and the 1024 -> 1000 classifier, nothing else
    assert c.flops == 3 * 9 * 32 * 112 * 112 + 1024 * 1000
    assert c.hyper_flops == 0


def test_react_resnet18_matches_the_published_ops():
    c = count_ops("react-resnet18")
    assert c.ops == pytest.approx(1.63e8, rel=0.02)
    assert c.hyper_flops == 0


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("dybnn-tiny", None),
        ("reactnet-tiny", None),
        ("dybnn-reactnet-a", (3, 64, 64)),
        ("reactnet-a", (3, 64, 64)),
        ("dybnn-react-resnet18", (3, 64, 64)),
        ("react-resnet18", (3, 64, 64)),
    ],
)
def test_only_dybnn_models_have_hyper_flops(name, shape):
    c = count_ops(name, shape)
    if MODELS[name].family == "dybnn":
        assert 0 < c.hyper_flops < c.flops and c.hyper_adds > 0
    else:
        assert c.hyper_flops == 0 and c.hyper_adds == 0


def test_dybnn_adds_only_hyper_function_flops():
    dy, re = count_ops("dybnn-tiny"), count_ops("reactnet-tiny")
    assert dy.bops == re.bops
    assert dy.flops - re.flops == dy.hyper_flops
    assert dy.params > re.params


def test_a_stem_context_pools_once():
    """`dybnn models` failed on dybnn-tiny-stem: its hyper functions have no pool of their own."""
    dy, stem = count_ops("dybnn-tiny"), count_ops("dybnn-tiny-stem")
    assert dy.bops == stem.bops
    # one context pooled from the stem instead of one statistic per dynamic site
    assert 0 < stem.hyper_adds < dy.hyper_adds
    assert 0 < stem.hyper_flops < dy.hyper_flops


def test_cnv_first_conv_on_the_8bit_image_counts_as_flops():
    c = count_ops("cnv-w1a1")
    first = 3 * 9 * 64 * 30 * 30  # 3 -> 64 valid 3x3 conv on 32x32
    assert c.flops == first
    assert c.bops > 0


def test_count_ops_needs_an_input_shape():
    from torch import nn

    with pytest.raises(ValueError, match="input shape"):
        count_ops(nn.Identity())


def test_models_table_rows_are_json_ready():
    rows = models_table(["tfc-w1a1", "dybnn-tiny"])
    assert [r["name"] for r in rows] == ["tfc-w1a1", "dybnn-tiny"]
    keys = {"name", "family", "input_shape", "params", "bops", "flops", "hyper_flops", "ops"}
    assert all(keys <= set(r) for r in rows)
    assert rows[0]["params"] > 0 and rows[0]["bops"] > 0
    assert rows[1]["hyper_flops"] > 0 and rows[0]["hyper_flops"] == 0
    json.dumps(rows)


@pytest.mark.slow
def test_models_table_covers_the_registry():
    assert [r["name"] for r in models_table()] == list(MODELS)
