"""The one range analysis (hwsim.ranges): interval arithmetic, dot products, thresholds, the hyper function."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwsim import nodes as N
from hwsim.ranges import (
    Interval,
    RangeError,
    bits_for,
    clamp_thresholds,
    dot_rows,
    graph_ranges,
    matrix_acc,
    node_ranges,
    z_range,
)
from hwsim.types import Bipolar, Fixed, Float, TensorSpec
from tests.hwsim.graphs import hyper, resblock_graph


def test_interval_arithmetic_and_widths():
    a, b = Interval(-3, 5), Interval(2, 7)
    assert a + b == Interval(-1, 12) and a - b == Interval(-10, 3)
    assert a * b == Interval(-21, 35) and Interval(-3, -2) * Interval(-5, 4) == Interval(-12, 15)
    assert (a << 2) == Interval(-12, 20) and a.times(-2) == Interval(-10, 6)
    assert a.join(Interval(9, 9)) == Interval(-3, 9) and a.clip(0, 4) == Interval(0, 4)
    assert a.magnitude == 5
    # -4096 .. 4095 is 13 signed bits, 4096 one more; an unsigned type when lo >= 0
    assert Interval(-4096, 4095).signed_bits == 13 and Interval(-4096, 4096).signed_bits == 14
    assert Interval(0, 255).signed_bits == 9 and Interval(0, 255).dtype_bits() == (8, False)
    assert bits_for(-1, 0) == (1, True) and bits_for(0, 0) == (1, False)
    with pytest.raises(ValueError, match="empty interval"):
        Interval(1, 0)
    with pytest.raises(ValueError, match="negative alignment"):
        Interval(0, 1) << -1
    assert Interval.of(Fixed(8, 3, True)) == Interval(-128, 127) and Interval.of(Bipolar()) == Interval(-1, 1)
    assert Interval.of(np.array([], np.int64)) == Interval(0, 0)


def test_cnv_first_layer_accumulator_is_13_bits():
    """CNV's first layer: a signed 8-bit input, binary weights, MW = 3x3x3 = 27: |acc| <= 27 * 128 = 3456."""
    bits = np.zeros((64, 3, 3, 3), np.uint8)
    lo, hi = matrix_acc(Fixed(8, 7, True), bits, binary=True)
    assert set(lo) == {-3456} and set(hi) == {3456}
    assert Interval(int(lo.min()), int(hi.max())).signed_bits == 13
    lo, hi = matrix_acc(Fixed(8, 0, False), bits, binary=True)  # unsigned pixels 0..255: 27 * 255 = 6885
    assert Interval(int(lo.min()), int(hi.max())).signed_bits == 14
    lo, hi = matrix_acc(Bipolar(), bits, binary=True)
    assert set(lo) == {-27} and set(hi) == {27}


@pytest.mark.parametrize("x", [Interval(-4, 3), Interval(0, 5), Interval(-3, 0), Interval(2, 4)])
def test_dot_rows_bound_every_partial_and_subset_sum_tightly(rng, x):
    w = rng.integers(-3, 4, (5, 4))
    lo, hi = dot_rows(w, x)
    for o in range(w.shape[0]):
        seen = []
        for xs in itertools.product(range(x.lo, x.hi + 1), repeat=w.shape[1]):
            terms = w[o] * np.array(xs)
            for keep in itertools.product((0, 1), repeat=w.shape[1]):  # padding drops terms
                t = terms * np.array(keep)
                seen.extend(np.cumsum(t).tolist())
        seen.append(0)
        assert lo[o] <= min(seen) and max(seen) <= hi[o]
        assert lo[o] == min(seen) and hi[o] == max(seen)  # and reached


def test_clamp_thresholds_keeps_every_comparison(rng):
    lo, hi = -5, 7
    thr = np.array([-100, lo - 1, lo, 0, hi, hi + 1, hi + 2, 10**30], dtype=object)  # ties and a huge one
    c = clamp_thresholds(thr, lo, hi)
    assert c.dtype == np.int64 and c.min() >= lo and c.max() <= hi + 1
    xs = np.arange(lo, hi + 1)
    for t, u in zip(thr, c, strict=True):
        np.testing.assert_array_equal(xs >= t, xs >= u)
    # per channel (a matrix unit's rows), and per channel x steps (MultiThreshold)
    lo_c, hi_c = np.array([-2, 0, -9]), np.array([3, 0, 9])
    t2 = rng.integers(-12, 12, (3, 5))
    c2 = clamp_thresholds(t2, lo_c, hi_c)
    for k in range(3):
        xs = np.arange(lo_c[k], hi_c[k] + 1)
        np.testing.assert_array_equal(xs[:, None] >= t2[k][None, :], xs[:, None] >= c2[k][None, :])
        assert c2[k].min() >= lo_c[k] and c2[k].max() <= hi_c[k] + 1


def _dense(rng, w_frac=0, mul=None, bias=None, thr=None):
    w = rng.integers(-7, 8, (3, 6))
    if thr is not None:
        st = N.OutputStage("threshold", thr=thr, invert=np.zeros(3, np.uint8))
    else:
        st = N.OutputStage("affine", 0, mul, bias)
    return N.FixedDense(
        name="fc", inputs=("x",), outputs=("y",), weights=w, w_bits=4, w_frac=w_frac, stage=st
    )


def test_affine_stage_with_negative_scales_is_sound_and_reached(rng):
    mul = np.array([-3, 2, -1])
    bias = np.array([5, -40, 0])
    node = _dense(rng, mul=mul, bias=bias)
    r = node_ranges(node, [TensorSpec((6,), Fixed(4, 0, True))])
    assert r.acc == Interval(min(0, int(r.acc_lo.min())), max(0, int(r.acc_hi.max())))
    vals = []
    for o in range(3):
        for a in (int(r.acc_lo[o]), int(r.acc_hi[o])):
            vals.append(a * int(mul[o]) + int(bias[o]))
    assert r.value.lo <= min(vals) and max(vals) <= r.value.hi
    # the per-channel products are exact; the bias is joined over channels (as the output type always was)
    prods = [int(a) * int(m) for o, m in enumerate(mul) for a in (r.acc_lo[o], r.acc_hi[o])]
    assert r.value == Interval(min(prods) + int(bias.min()), max(prods) + int(bias.max()))
    assert r.step("acc * mul + bias") == r.value and r.out == r.value
    with pytest.raises(KeyError, match="no intermediate 'nope'"):
        r.step("nope")


def test_threshold_stage_clamps_against_the_accumulator(rng):
    node = _dense(rng, thr=np.array([-(10**6), 0, 10**6]))
    r = node_ranges(node, [TensorSpec((6,), Fixed(4, 0, True))])
    assert r.thr == r.acc and r.value is None and r.out == Interval(-1, 1)
    c = clamp_thresholds(node.stage.thr, r.acc_lo, r.acc_hi)
    assert c[0] == r.acc_lo[0] and c[2] == r.acc_hi[2] + 1


def test_hyper_z_is_exact_per_row_and_delta_saturates(rng):
    hf = hyper(rng, 8, 8)
    z = z_range(hf)
    h = np.arange(hf.hidden.lo, hf.hidden.hi + 1)
    a2 = hf.z_frac - hf.hidden.frac - hf.w2_frac
    b2 = hf.b2.astype(np.int64) << (hf.z_frac - hf.b2_frac)
    # the extreme hidden vector of every row reaches the row's bound; the join reaches z
    top = [((np.where(r > 0, r * h[-1], 0)).sum() << a2) + b for r, b in zip(hf.w2, b2, strict=True)]
    bot = [((np.where(r < 0, r * h[-1], 0)).sum() << a2) + b for r, b in zip(hf.w2, b2, strict=True)]
    assert z == Interval(int(min(bot)), int(max(top)))
    node = N.DynamicSign(name="ds", inputs=("x",), outputs=("y",), tau=rng.integers(-9, 9, 8), tau_frac=2,
                         hyper=hf)  # fmt: skip
    r = node_ranges(node, [TensorSpec((4, 4, 8), Fixed(8, 3, True))])
    assert r.hyper.z == z
    want = Interval.of(hf.act) if hf.act is not None else Interval(-(1 << hf.z_frac), 1 << hf.z_frac)
    assert r.hyper.delta == want
    assert r.hyper.sum == Interval(-128 * 16, 127 * 16) or hf.pre is not None
    assert [w for w, _ in r.steps][:3] == ["hyper: channel sum", "hyper: first layer", "hyper: second layer"]


def test_errors_name_the_node(rng):
    node = _dense(rng, mul=np.ones(3, np.int64), bias=np.zeros(3, np.int64))
    with pytest.raises(RangeError, match="'fc'.*bipolar or fixed point"):
        node_ranges(node, [TensorSpec((6,), Float())])


def test_simulated_exact_tensors_stay_in_their_intervals(rng):
    from hwsim.simulate import simulate

    g = resblock_graph(rng, c=4, hw=4)
    rs = graph_ranges(g)
    assert set(rs) == {n.name for n in g.nodes}
    x = rng.normal(0, 4, (16, *g.spec(g.inputs[0]).shape)).astype(np.float32)
    vals = simulate(g, x, level="ref", return_intermediates=True)
    checked = 0
    for n in g.nodes:
        out = rs[n.name].out
        requantized = getattr(n, "out", None) is not None or getattr(getattr(n, "stage", None), "out", None)
        if out is None or requantized or not isinstance(g.spec(n.outputs[0]).dtype, Fixed):
            continue  # ``out`` is the exact value; a requantized tensor lives on another grid
        v = vals[n.outputs[0]]
        assert out.lo <= v.min() and v.max() <= out.hi, n.name
        checked += 1
    assert checked >= 3
