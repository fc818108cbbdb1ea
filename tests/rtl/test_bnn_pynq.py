"""BNN-PYNQ TFC (Brevitas ``tfc_1w1a``, random weights) as RTL: exact against hwsim, cycles per frame equal to
the timing model at the folding search's choice for two parts, latency within 5 %; one of them with every
intermediate tensor probed (an output port each, compared too)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.rtl.helpers import check_design

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


@pytest.mark.parametrize("part", ["pynq-z1", "zcu104"])
def test_tfc(tmp_path, part):
    pytest.importorskip("brevitas_examples.bnn_pynq")
    from hls.estimate import folding_search
    from hwsim.lower import lower
    from tests.hwsim.foreign import BNN_PYNQ_SHAPES, bnn_pynq, export

    shape = BNN_PYNQ_SHAPES["tfc_1w1a"]
    g = lower(export(bnn_pynq("tfc_1w1a"), tmp_path / "tfc.onnx", shape))
    folding = folding_search(g, 10.0, fit=part)
    x = np.random.default_rng(1).standard_normal((3, *shape)).astype(np.float32)
    res = check_design(tmp_path, g, folding, x, probes="all" if part == "zcu104" else None)
    assert res.latency == res.model_latency, res.summary()
