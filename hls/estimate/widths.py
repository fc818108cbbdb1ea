"""The datapath widths the estimators cost, read from the one range analysis (:mod:`hwsim.ranges`).

These are the widths the HLS emitters give the same intermediates (``acc_t``, ``value_t``, ``sum_t``, ``z_t``,
...), so that what ``dybnn estimate`` costs is what ``dybnn hls`` writes; ``tests/hls/test_widths.py`` checks
that they agree on every node of the test designs. Every width is the smallest *signed* type of the interval
(the emitters' intermediates are signed).

=========  ============================================  ========================================
key        interval (:class:`hwsim.ranges.NodeRanges`)   emitted as
=========  ============================================  ========================================
``acc``    ``acc``: every partial sum, all channels      ``acc_t`` (matrix units)
``value``  ``value``: ``acc * mul + bias``               ``value_t`` (affine output stage)
``sum``    the aligned / window / channel sum            ``sum_t`` (Add, AvgPool, GlobalPool)
``cmp``    ``thr`` of a DynamicSign                      ``cmp_t``
``d``      ``x - gamma``                                 PReLU ``d_t``
``p``      ``prelu``                                     PReLU ``p_t``
``y``      ``prelu + zeta``                              PReLU ``y_t``
``hsum``   hyper function: channel sum                   ``sum_t`` of the hyper function
``l1``     hyper function: layer-1 dot product           ``l1_t``
``h1``     hyper function: layer-1 pre-activation        ``h1_t``
``l2``     hyper function: layer-2 dot product           ``l2_t``
``z``      hyper function: layer-2 output                ``z_t``
``delta``  hyper function: output before lambda          ``delta_t``
=========  ============================================  ========================================
"""

from __future__ import annotations

from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.ranges import node_ranges

_STEPS = {"aligned sum": "sum", "window sum": "sum", "channel sum": "sum", "x - gamma": "d", "prelu": "p",
          "prelu + zeta": "y"}  # fmt: skip


def datapath_widths(g: HwGraph, node: N.Node) -> dict[str, int]:
    """Widths (bits, signed) of the exact intermediates of ``node`` (keys in the module docstring)."""
    r = node_ranges(node, [g.spec(t) for t in node.inputs])
    out: dict[str, int] = {}
    if r.acc is not None:
        out["acc"] = r.acc.signed_bits
    if r.value is not None:
        out["value"] = r.value.signed_bits
    for what, iv in r.steps:
        if what in _STEPS:
            out[_STEPS[what]] = iv.signed_bits
    if isinstance(node, N.DynamicSign):
        out["cmp"] = r.thr.signed_bits
    if r.hyper is not None:
        h = r.hyper
        out.update(hsum=h.sum.signed_bits, l1=h.l1.signed_bits, h1=h.h1.signed_bits, l2=h.l2.signed_bits,
                   z=h.z.signed_bits, delta=h.delta.signed_bits)  # fmt: skip
    return out
