"""RTL modules of DyBNN's dynamic units (DynamicSign, DynamicPReLU: frame buffer, channel statistics, hyper
function, compare / PReLU lanes) against hwsim, exactly, with and without random gaps and back-pressure; their
cycles per frame equal to the timing model (hls.timing)."""

from __future__ import annotations

import pytest

from hls.timing import timing
from hwsim import nodes as N
from tests.rtl.cases_d2 import dynamic_graph, frames, varied_folding
from tests.rtl.helpers import check_design

pytestmark = pytest.mark.rtl


def test_dynamic_units(tmp_path, rng):
    """One build: DynamicSign (hardtanh + act, tanh squash, delta = 0 ties) and DynamicPReLU (pre, tanh squash),
    PE 1 / all channels / a divisor; 4 frames whose statistics differ. The dynamic units are the slowest nodes,
    so the design's cycles per frame are the frame_in + hyper1 + hyper2 + frame_out of the slowest one."""
    g = dynamic_graph(rng, c=6, hw=4)
    folding = varied_folding(g, rng)
    res = check_design(tmp_path, g, folding, frames(rng, 4, g.spec("x").shape), seed=int(rng.integers(1000)))
    tm = timing(g, folding)
    assert isinstance(
        tm.graph.node(max(tm.nodes, key=lambda k: tm.nodes[k].cycles)), N.DynamicSign | N.DynamicPReLU
    )
    assert res.cycles_per_frame == tm.max_cycles
