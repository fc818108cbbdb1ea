"""Streaming RTL modules (InputQuant in all modes, Sign, MultiThreshold without thresholds, Flatten,
LabelSelect with several scores per word, Duplicate, width converters, FIFOs) on inputs full of ties and
saturation, against hwsim exactly; cycles per frame equal to the timing model (slow: its own Verilator build)."""

from __future__ import annotations

import pytest

from hls.folding import Fold
from tests.hls.cases import random_folding
from tests.rtl.cases import stream_graph, tie_inputs
from tests.rtl.helpers import check_design

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


@pytest.mark.parametrize("seed", [1, 2])
def test_stream_nodes(tmp_path, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    g = stream_graph(rng)
    folding = random_folding(g, rng)
    folding["top"] = Fold(3, 1)  # several scores per word
    x = tie_inputs(rng, 4, (3, 3, 6))
    check_design(tmp_path, g, folding, x, seed=seed)
