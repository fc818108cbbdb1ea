"""Whole lowered designs through the RTL back end: reactnet-tiny, dybnn-tiny and dybnn-tiny-stem (residual Adds,
a strided block with an average-pooled shortcut, a Concat, GlobalPool, FixedDense, LabelSelect; dybnn-tiny with
the DyBNN dynamic units, dybnn-tiny-stem with one HyperContext and context-reading units), exported with random
weights and lowered as tests/hls/test_csim.py does, at the folding search's choice. Every output equals hwsim
exactly, with and without random gaps and back-pressure (no deadlock with the timing model's FIFO depths). All run
at the model's cycles per frame and first-frame latency (dybnn-tiny: its dynamic units at the folding search's
one or two frame buffers, hls.cycles.dynamic_cycles; dybnn-tiny-stem: hls.cycles.context_cycles)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from tests.rtl.helpers import check_design

pytestmark = [pytest.mark.rtl, pytest.mark.slow]


def _lowered(tmp_path, name: str):
    export = pytest.importorskip("training.export")
    lower_mod = pytest.importorskip("hwsim.lower")
    params = inspect.signature(export.export_random).parameters
    kw = {k: v for k, v in {"check": False, "calib_steps": 4}.items() if k in params}
    return lower_mod.lower(export.export_random(name, tmp_path / "export", **kw))


def test_reactnet_tiny_runs_at_the_model(tmp_path):
    from hls.estimate import folding_search

    g = _lowered(tmp_path, "reactnet-tiny")
    folding = folding_search(g, 10.0, fit="zcu104", levels=False)  # the RTL stores values
    x = np.random.default_rng(2).standard_normal((3, *g.spec(g.inputs[0]).shape))
    res = check_design(tmp_path, g, folding, x)  # cycles per frame == model; exact with gaps, no deadlock
    print(res.summary())
    assert res.latency == res.model_latency, res.summary()


def test_dybnn_tiny_runs_at_the_model(tmp_path):
    from hls.estimate import folding_search

    g = _lowered(tmp_path, "dybnn-tiny")
    folding = folding_search(g, 10.0, fit="zcu104", levels=False)  # the RTL stores values
    x = np.random.default_rng(2).standard_normal((3, *g.spec(g.inputs[0]).shape))
    res = check_design(tmp_path, g, folding, x)  # cycles per frame == model, latency within 5 %
    print(res.summary())
    assert res.latency == res.model_latency, res.summary()


def test_dybnn_tiny_stem_runs_at_the_model(tmp_path):
    """``hyper_context: stem``: the HyperContext node holds the one frame buffer and the twelve dynamic units read
    its context vector and stream (dybnn_hyper_context, dybnn_dynamic_context)."""
    from hls.estimate import folding_search

    g = _lowered(tmp_path, "dybnn-tiny-stem")
    folding = folding_search(g, 10.0, fit="zcu104", levels=False)  # the RTL stores values
    x = np.random.default_rng(2).standard_normal((3, *g.spec(g.inputs[0]).shape))
    res = check_design(tmp_path, g, folding, x)  # cycles per frame == model, latency within 5 %
    print(res.summary())
    assert res.latency == res.model_latency, res.summary()
