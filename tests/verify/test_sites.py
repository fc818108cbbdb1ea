"""``verify.sites``: the one rule that pairs PyTorch quantizer sites with QONNX Quant nodes."""

from __future__ import annotations

import numpy as np

from verify.sites import pair_sites


def test_pairing_tolerates_swapped_independent_sites():
    a, b, c = np.zeros((2, 2)), np.ones((2, 2)), np.full((2, 2), 2.0)
    t, o = [("t0", a), ("t1", b), ("t2", c)], [("o0", b), ("o1", a), ("o2", a)]
    pairs, ut, uo = pair_sites(
        [(n, v.shape) for n, v in t],
        [(n, v.shape) for n, v in o],
        same=lambda i, j: np.array_equal(t[i][1], o[j][1]),
    )
    assert pairs == [(0, 1), (1, 0), (2, 2)] and not ut and not uo  # t2 stays paired with o2 and differs


def test_pairing_is_by_order_within_each_key_and_reports_the_unpaired():
    pairs, ut, uo = pair_sites(
        [("t0", "x"), ("t1", "y"), ("t2", "x"), ("t3", "z")], [("o0", "x"), ("o1", "x")]
    )
    assert pairs == [(0, 0), (2, 1)] and ut == ["t1", "t3"] and uo == []
