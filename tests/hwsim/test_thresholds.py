"""Thresholds by bisection of a golden function (:mod:`hwsim.lower.thresholds`), against brute force."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from hwsim.lower.errors import LoweringError
from hwsim.lower.thresholds import multithreshold_by_bisection, sign_by_bisection
from hwsim.squash import first_true, quantized
from hwsim.types import Fixed

WHERE = onnx.helper.make_node("BatchNormalization", ["x"], ["y"], name="bn0")
SLOPE = np.array([0.37, -0.25, 0.0, 1e-3, 2.0])
OFFSET = np.array([-5.2, 3.0, -1.0, 0.01, 0.5])


def affine(q: np.ndarray) -> np.ndarray:
    return (q * SLOPE + OFFSET).astype(np.float32)


def test_first_true_is_the_least_true_point():
    lo, hi = np.array([0, -5, 3, 10]), np.array([9, 5, 3, 20])
    cut = np.array([4, -5, 7, 21])  # inside, at lo, beyond hi (none true), beyond hi
    got = first_true(lambda q: q >= cut, lo, hi)
    assert got.tolist() == [4, -5, 4, 21]


def test_sign_by_bisection_matches_every_point():
    lo, hi = np.full(5, -40), np.full(5, 40)
    thr, inv = sign_by_bisection(lambda q: affine(q), lo, hi, WHERE)
    q = np.arange(-40, 41)[:, None]
    want = affine(q) >= 0
    got = (q >= thr[None, :]) ^ inv.astype(bool)[None, :]
    assert np.array_equal(got, want)
    assert inv.tolist()[:2] == [0, 1]  # the decreasing channel is inverted


def test_multithreshold_by_bisection_matches_every_point():
    out = Fixed(3, 0, True)
    slope = np.abs(SLOPE)
    lo, hi = np.full(5, -30), np.full(5, 30)
    thr = multithreshold_by_bisection(lambda q: (q * slope + OFFSET).astype(np.float32), lo, hi, out, WHERE)
    q = np.arange(-30, 31)[:, None]
    want = quantized(q * slope + OFFSET, out)
    got = out.lo + (q[:, :, None] >= thr[None, :, :]).sum(axis=-1)
    assert thr.shape == (5, out.hi - out.lo) and np.array_equal(got, want)


def test_decreasing_function_cannot_be_a_multithreshold():
    with pytest.raises(LoweringError, match="bn0.*decreases in channel 1"):
        multithreshold_by_bisection(lambda q: affine(q), np.full(5, -30), np.full(5, 30), Fixed(3, 0), WHERE)
