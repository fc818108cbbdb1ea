"""Thresholds of the hyper function's tanh squash (:mod:`hwsim.squash`)."""

from __future__ import annotations

import numpy as np
import pytest

from hls.estimate.designs import random_hyper
from hwsim import nodes as N
from hwsim.squash import (
    SquashError,
    disagreements,
    quantized,
    squash_thresholds,
    tanh_levels_onnxruntime,
    tanh_levels_torch,
    z_bounds,
)
from hwsim.types import Fixed

ACT = Fixed(8, 7, True)


@pytest.mark.parametrize("z_frac", [6, 10, 14])
def test_thresholds_equal_the_golden_levels_everywhere(z_frac):
    pytest.importorskip("torch")
    levels = tanh_levels_torch(z_frac, ACT)
    lo, hi = -(6 << z_frac), 6 << z_frac
    thr = squash_thresholds(levels, lo, hi, ACT)
    assert thr.shape == (255,) and np.all(np.diff(thr) >= 0)
    z = np.arange(lo, hi + 1)
    assert np.array_equal(ACT.lo + np.searchsorted(thr, z, side="right"), levels(z))
    # both ends saturate: tanh(-6) * 128 rounds to -128, tanh(6) * 128 to 128, saturated to 127
    assert levels(np.array([lo]))[0] == -128 and levels(np.array([hi]))[0] == 127


def test_coarse_grid_skips_levels():
    # on a grid of 1/4 the levels jump: several thresholds coincide and the lookup still matches
    levels = tanh_levels_torch(2, ACT)
    thr = squash_thresholds(levels, -40, 40, ACT)
    z = np.arange(-40, 41)
    assert np.array_equal(ACT.lo + np.searchsorted(thr, z, side="right"), levels(z))
    assert len(np.unique(thr)) < 40


def test_non_monotone_function_is_rejected():
    def bumpy(z):
        return quantized(np.sin(np.asarray(z, dtype=np.float64) / 50.0), ACT)

    with pytest.raises(SquashError, match="not non-decreasing"):
        squash_thresholds(bumpy, -400, 400, ACT)


def test_z_bounds_are_reached_by_the_extreme_hidden_values():
    rng = np.random.default_rng(3)
    hf = random_hyper(rng, 8, 6, reduction=9, min_hidden=3)
    lo, hi = z_bounds(hf)
    fz = hf.z_frac
    a2 = fz - hf.hidden.frac - hf.w2_frac
    b2 = hf.b2.astype(np.int64) << (fz - hf.b2_frac)
    corners = np.array(np.meshgrid(*[[hf.hidden.lo, hf.hidden.hi]] * hf.n_hidden)).reshape(hf.n_hidden, -1).T
    z = ((corners @ hf.w2.T.astype(np.int64)) << a2) + b2
    assert (lo, hi) == (int(z.min()), int(z.max()))


def test_random_tanh_hyper_is_a_valid_node_and_matches_numpy_tanh():
    hf = random_hyper(np.random.default_rng(0), 16, 32, squash="tanh")
    hf.validate("h", 16, 32)
    lo, hi = z_bounds(hf)
    z = np.arange(lo, hi + 1, 7)
    want = quantized(np.tanh(np.ldexp(z.astype(np.float64), -hf.z_frac)), hf.act)
    assert np.array_equal(hf.act.lo + np.searchsorted(hf.squash_thr, z, side="right"), want)


def test_squash_thresholds_need_an_act_type():
    import dataclasses

    hf = random_hyper(np.random.default_rng(0), 4, 4, squash="tanh")
    with pytest.raises(N.NodeValidationError, match="needs hyper.act"):
        dataclasses.replace(hf, act=None).validate("h", 4, 4)
    with pytest.raises(N.NodeValidationError, match="non-decreasing"):
        dataclasses.replace(hf, squash_thr=hf.squash_thr[::-1].copy()).validate("h", 4, 4)


def test_onnxruntime_disagreements_are_found():
    pytest.importorskip("torch")
    # on a fine grid the two float32 tanh implementations round differently at a few integers (measured: one
    # quantization level differs at 1 of 2**23 points at z_frac 16, 31 at z_frac 20)
    levels = tanh_levels_torch(20, ACT)
    lo, hi = -(4 << 20), 4 << 20
    thr = squash_thresholds(levels, lo, hi, ACT)
    ort_levels = tanh_levels_onnxruntime(20, ACT)
    off = disagreements(thr, ort_levels, lo, hi, ACT)
    assert disagreements(thr, levels, lo, hi, ACT) == []
    z = np.arange(lo, hi + 1)
    assert off == [int(v) for v in z[ort_levels(z) != levels(z)]]
