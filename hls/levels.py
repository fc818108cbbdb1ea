"""Level storage in a DynamicSign's frame buffer (``buffer_storage: levels``, issue 16 item 3): store for each
buffered ``x`` how many of the possible dynamic thresholds it reaches instead of ``x`` itself.

A DynamicSign outputs ``x >= tau[c] + delta[c]`` (:class:`hwsim.nodes.DynamicSign`, ties give 1). ``delta`` is an
integer ``d`` on the grid ``2^-df`` (``df = hyper.delta_frac``), and ``d`` can only take the values of the
hyper function's output type: ``[lo, hi] = [act.lo, act.hi]`` (``2^b`` values for a ``b``-bit ``act``,
``hyper_delta_bits`` of the training config; the same with a tanh squash), or ``[-2^fz, 2^fz]`` for the clipped
``z`` without ``act`` (:func:`delta_range`; the range analysis' ``hyper.delta``). On the common grid ``2^-f``,
``f = max(fx, tau_frac, df)``, with ``X = x * 2^(f - fx)``, ``T = tau * 2^(f - tau_frac)`` and
``s = f - df >= 0``::

    bit = X >= T + d * 2^s
        <=> X - T >= d * 2^s
        <=> floor((X - T) / 2^s) >= d          (d is an integer: d * 2^s <= D  <=>  d <= floor(D / 2^s))
        <=> u >= d,   u = (X - T) >> s         (an arithmetic right shift is the floor, also for negative X - T)

So the unit needs ``u`` only up to where it leaves ``[lo, hi]``: the level

    L = clamp(u - lo + 1, 0, N),   N = hi - lo + 1 levels   (L = #{d' in [lo, hi] : d' <= u})

is computed on the way in (a subtract of the static ``tau[c]``, a shift and a clamp) and stored in
``ceil(log2(N + 1))`` bits (``N.bit_length()``: ``b + 1`` bits for a ``b``-bit ``act``, 9 instead of 16 for
``b = 8``); on the way out ``bit = L > d - lo`` for the frame's ``d``. Exact: for ``d`` in ``[lo, hi]`` (always),
``u >= hi`` gives ``L = N > d - lo`` (1, as ``u >= hi >= d``), ``u < lo`` gives ``L = 0 > d - lo`` false (0, as
``u < lo <= d``), and otherwise ``L = u - lo + 1 > d - lo  <=>  u >= d``. A tie (``x`` exactly on ``tau + delta``,
``D = d * 2^s``) gives ``u = d`` and bit 1, as the contract says. Nothing is rounded: every step is an integer
subtract, a floor shift or a compare.

:func:`levels` and :func:`bits_from_levels` are the numpy statement of the two halves (the tests check them
against :mod:`hwsim.reference` on every value of small types); the HLS template
(``hls/templates/dynamic_sign.hpp.j2``) does the same in C++.
"""

from __future__ import annotations

import numpy as np

from hwsim import nodes as N
from hwsim.encoding import align
from hwsim.ranges import Interval


def delta_range(hf: N.HyperFunction) -> tuple[int, int]:
    """``[lo, hi]``: every integer ``delta`` the hyper function can output (``act``'s range, or the clip's)."""
    if hf.act is not None:
        return int(hf.act.lo), int(hf.act.hi)
    one = 1 << hf.z_frac
    return -one, one


def level_count(node: N.DynamicSign) -> int:
    """``N``: the number of possible dynamic thresholds of ``node`` (levels run ``0 .. N``)."""
    lo, hi = delta_range(node.hyper)
    return hi - lo + 1


def level_bits(node: N.DynamicSign) -> int:
    """Bits of a stored level, ``ceil(log2(N + 1))``: 9 for an 8-bit ``delta``."""
    return level_count(node).bit_length()


def grid(node: N.DynamicSign, fx: int) -> tuple[int, int, int]:
    """``(f, shift_x, s)``: the common grid ``2^-f`` of the comparison, the left shift of ``x`` onto it and the
    right shift ``s = f - delta_frac`` that turns ``X - T`` into ``u``."""
    df = node.hyper.delta_frac
    f = max(fx, node.tau_frac, df)
    return f, f - fx, f - df


def levels(node: N.DynamicSign, x: np.ndarray, fx: int) -> np.ndarray:
    """The levels of ``x (..., C)`` at ``2^-fx``: ``clamp(((X - T) >> s) - lo + 1, 0, N)`` per channel."""
    f, _, s = grid(node, fx)
    lo, hi = delta_range(node.hyper)
    d = align(np.asarray(x, dtype=np.int64), fx, f) - align(node.tau, node.tau_frac, f)
    u = d >> np.int64(
        min(s, 63)
    )  # numpy's >> on int64 is arithmetic (the floor); by 63 only the sign is left
    return np.clip(u - lo + 1, 0, hi - lo + 1)


def bits_from_levels(node: N.DynamicSign, lv: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """The output bits from levels ``lv (N, ..., C)`` and the frames' ``delta (N, C)``: ``lv > delta - lo``."""
    lo, _ = delta_range(node.hyper)
    d = np.asarray(delta, dtype=np.int64).reshape(delta.shape[0], *([1] * (lv.ndim - 2)), delta.shape[-1])
    return (lv > d - lo).astype(np.uint8)


def diff_range(node: N.DynamicSign, x: object, fx: int) -> Interval:
    """The interval a signed type must hold to compute ``X - T`` (and ``u``) for inputs of type ``x`` (a
    ``Fixed`` or an interval): ``X``, ``T`` and ``X - T`` all fit it."""
    f, sx, _ = grid(node, fx)
    xs = Interval.of(x) << sx
    t = Interval.of(node.tau.astype(np.int64)) << (f - node.tau_frac)
    return xs.join(t).join(xs - t)
