"""Matrix units (XnorDense, XnorConv, FixedDense, FixedConv), SlidingWindow and the streaming nodes in RTL
against hwsim, exactly, with and without random gaps and back-pressure, at a random folding; cycles per frame
equal to the timing model; a stall names the FIFOs; a missing memory image is an error."""

from __future__ import annotations

import json

import pytest

from tests.hls.cases import random_folding
from tests.rtl.cases import matrix_graph, tie_inputs
from tests.rtl.helpers import check_design

pytestmark = pytest.mark.rtl


def test_matrix_and_stream_units(tmp_path, rng):
    from rtl.sim import SimError, run_sim

    g = matrix_graph(rng, streaming=True)
    folding = random_folding(g, rng)
    x = tie_inputs(rng, 3, (6, 6, 4))
    res = check_design(tmp_path, g, folding, x)
    # the input vector in each of its styles (xfc: NF 4, SF 144, a block RAM read one cycle ahead)
    doc = json.loads((tmp_path / "prj" / "project.json").read_text())
    styles = {v["params"].get("VEC_STYLE") for v in doc["instances"].values() if v["params"].get("NF", 1) > 1}
    assert {"registers", "distributed", "block"} <= styles, styles
    # every FIFO stays within its depth
    assert all(f["max_level"] <= f["depth"] for f in res.fifos)
    # a stall: with almost no input and a 3-cycle limit the testbench stops and names the FIFOs
    with pytest.raises(SimError, match="stall: no handshake .* empty FIFOs: "):
        run_sim(tmp_path / "prj", g, x, gaps=0.99, stall_cycles=3, build_s=0.0)
    # a missing memory image is an error, not a simulation of zeros
    next((tmp_path / "prj" / "mem").glob("*.mem")).unlink()
    with pytest.raises(SimError, match="memory image"):
        run_sim(tmp_path / "prj", g, x, build_s=0.0)
