"""Streaming RTL modules (InputQuant, Sign, MultiThreshold, Flatten, LabelSelect, Duplicate, width converters,
FIFOs) against hwsim, exactly, with and without random gaps and back-pressure; cycles per frame equal to the
timing model."""

from __future__ import annotations

import pytest

from hls.folding import Fold
from tests.hls.cases import random_folding
from tests.rtl.cases import stream_graph, tie_inputs
from tests.rtl.helpers import check_design

pytestmark = pytest.mark.rtl


def test_stream_nodes(tmp_path, rng):
    g = stream_graph(rng)
    folding = random_folding(g, rng)
    folding["top"] = Fold(3, 1)  # several scores per word
    x = tie_inputs(rng, 4, (3, 3, 6))
    res = check_design(tmp_path, g, folding, x)
    assert res.latency > 0
