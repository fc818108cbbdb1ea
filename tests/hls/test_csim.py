"""g++ C simulation of generated projects, compared value for value with hwsim and loop for loop with hls.cycles.

Every build costs 10-40 s of g++ (ap_int templates), so each test batches many cases into one graph: the fuzz
graphs put about twenty single-node cases side by side, and ``probes="all"`` makes every intermediate tensor an
output of the top function, so one build checks every node.
"""

from __future__ import annotations

import inspect
import json
import shutil
import time

import numpy as np
import pytest

from hls.csim import run_csim
from hls.folding import Fold
from hls.project import with_probes, write_project
from hwsim.types import Fixed
from tests.hls.cases import SQUASH_IN, fuzz_graph, hyper_z, random_folding, squash_graph, tricky_floats
from tests.hwsim.graphs import build, finn_graph, resblock_graph

pytestmark = [
    pytest.mark.hls,
    pytest.mark.skipif(not (shutil.which("g++") and shutil.which("make")), reason="needs g++ and make"),
]


def _check(result, what: str) -> None:
    assert result.total_mismatches == 0, f"{what}: {result.summary()}"
    assert not result.cycle_mismatches, f"{what}: {result.summary()}"
    assert not result.unsteady, f"{what}: loops with a data-dependent trip count {result.unsteady}"
    for name, cyc in result.model_cycles.items():
        assert result.cycles[name] == cyc, name


def _csim(tmp_path, g, folding, x, probes="all"):
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, folding, tb_frames=0, probes=probes)
    return run_csim(prj, g, x)


@pytest.mark.parametrize(("graph", "mode"), [("resblock", "mixed"), ("finn", "max")])
def test_handmade_graphs_bit_exact(tmp_path, rng, graph, mode):
    g = resblock_graph(rng, c=8, hw=6, pad_value=0) if graph == "resblock" else finn_graph(rng, c=8)
    folding = random_folding(g, rng, mode)
    x = rng.standard_normal((4, *g.spec("x").shape)) * 1.5
    _check(_csim(tmp_path, g, folding, x), graph)


@pytest.mark.parametrize(
    ("seed", "c", "hw", "mode"), [(11, 4, 6, "ones"), (12, 6, 7, "mixed"), (13, 8, 5, "max")]
)
def test_fuzz_single_nodes_bit_exact(tmp_path, seed, c, hw, mode):
    """About twenty random single-node cases per build: every node type, kernels 1..3, strides 1..2, padding
    below the kernel size, pad values -1/0/+1, threshold and affine stages, exact and requantized outputs, under
    PE = SIMD = 1, fully unfolded, or a random divisor per node."""
    rng = np.random.default_rng(seed)
    g = fuzz_graph(rng, c=c, hw=hw)
    folding = random_folding(g, rng, mode)
    x = rng.standard_normal((3, hw, hw, c)) * 2.0
    x[0] = (
        rng.integers(-40, 40, x[0].shape) / 32.0
    )  # many exact ties of the input grid 2^-4 (x * 16 = k + 1/2)
    _check(_csim(tmp_path, g, folding, x), f"fuzz seed {seed}")


def test_dynamic_units_with_tanh_squash_bit_exact(tmp_path, rng):
    """DynamicSign / DynamicPReLU whose hyper function ends in tanh thresholds: the unrolled binary search in C++
    equals hwsim's ``searchsorted`` under PE = 1, 2 and C, also with thresholds on exactly the ``z`` values the
    frames reach (ties) and repeated thresholds; the frames reach many levels, not only the saturated ends."""
    from hwsim.reference import hyper_function
    from hwsim.simulate import simulate

    # per-frame channel offsets spread the statistics, so z sweeps over many levels
    x = rng.standard_normal((4, 4, 4, 4)) * 1.5 + rng.standard_normal((4, 1, 1, 4)) * 3
    g, folding = squash_graph(rng, x)
    q = simulate(g, x, return_intermediates=True)["q"]
    for n in g.nodes[1:]:
        hf = n.hyper
        levels = hyper_function(hf, q, SQUASH_IN.frac)
        z = hyper_z(hf, q, SQUASH_IN.frac)
        np.testing.assert_array_equal(levels, hf.act.lo + np.searchsorted(hf.squash_thr, z, side="right"))
        assert np.unique(levels).size >= 8, n.name
        if n.name.endswith("2"):  # thresholds on the z values: every z ties with a threshold
            assert np.isin(z, hf.squash_thr).all(), n.name
    _check(_csim(tmp_path, g, folding, x, probes=None), "tanh squash")


def test_requantization_to_a_grid_coarser_than_the_value_is_exact(tmp_path, rng):
    """``dybnn::requantize`` with a right shift at or above the value's width: every value rounds to 0 or +-1
    (ties to even at exactly +-1/2). Before the fix the C++ computed ``2^(S-1)`` and ``floor << S`` in the
    value's own width, which wrapped for ``S > W``: every non-negative value rounded up to 1. That is how
    dybnn-reactnet-a at 224 lost exactness: a DynamicPReLU's hyper output ``z`` (16 bits) requantized by 17
    bits to its 8-bit ``act`` grid. Here both forms: Requant nodes with shifts W-2 .. W+21 on a 9-bit input,
    and a DynamicPReLU whose ``act`` shift exceeds the width of its ``z``."""
    import dataclasses

    from hwsim import nodes as N
    from hwsim.ranges import node_ranges
    from tests.hwsim.graphs import hyper

    q = Fixed(8, 4, True)  # the requant template reads it as ap_int<9>
    shifts = (7, 8, 9, 10, 11, 16, 30)
    nodes = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=q)]
    for s in shifts:
        for signed in (True, False):
            nm = f"rq{s}{'s' if signed else 'u'}"
            nodes.append(
                N.Requant(name=nm, inputs=("q",), outputs=(nm + "_y",), out=Fixed(3, q.frac - s, signed))
            )
    c = 4
    hf = hyper(rng, c, 2 * c, hidden=2)
    hf = dataclasses.replace(hf, w2=rng.integers(-3, 4, hf.w2.shape), b2=rng.integers(-50, 50, 2 * c))
    hf = dataclasses.replace(hf, act=Fixed(8, -6, True))  # rounds z (at 2^-14) to multiples of 2^6
    nodes.append(N.DynamicPReLU(name="dprelu", inputs=("q",), outputs=("dp_y",), gamma=rng.integers(-40, 40, c),
                                gamma_frac=5, zeta=rng.integers(-40, 40, c), zeta_frac=6,
                                beta=rng.integers(-60, 60, c), beta_frac=6, hyper=hf, out=Fixed(10, 4, True)))  # fmt: skip
    g = build("rq", (4, 4, c), nodes)
    g.outputs = [o for n in nodes[1:] for o in n.outputs]
    z = node_ranges(nodes[-1], [g.spec("q")]).hyper.z
    assert hf.z_frac - hf.act.frac > z.signed_bits, "the act shift must exceed z's width"
    # every 8-bit value of q: the extremes -8 and +7.9375 and the ties +-2^(s-1) of the small shifts
    x = np.concatenate([np.arange(-128, 128) / 16.0, [-8.0] * 32, [7.9375] * 32]).reshape(-1, 4, 4, c)
    folding = {n.name: Fold(1) for n in nodes}
    _check(_csim(tmp_path, g, folding, x, probes=None), "coarse requantization")


def test_input_quantizer_is_exact_on_tricky_floats(tmp_path, rng):
    """Ties, +-0, subnormals, infinities and out-of-range floats through six quantizers sharing one build."""
    from hwsim import nodes as N

    outs = [
        Fixed(8, 4, True),
        Fixed(6, 2, False),
        Fixed(16, 10, True),
        Fixed(40, 20, True),
        Fixed(8, -2, True),
        None,
    ]
    nodes = [N.InputQuant(name=f"q{i}", inputs=("x",), outputs=(f"y{i}",), out=o) for i, o in enumerate(outs)]
    x = np.stack([tricky_floats(rng, 60, f) for f in (4, 2, 10, 20, 0)])
    n = x.shape[1]
    g = build("inq", (n,), nodes)
    g.outputs = [f"y{i}" for i in range(len(outs))]
    folding = {f"q{i}": Fold(4 if n % 4 == 0 else 1) for i in range(len(outs))}
    _check(_csim(tmp_path, g, folding, x, probes=None), "input quantizers")


def test_someone_elses_bnn_bit_exact(tmp_path, rng):
    """A Brevitas W1A1 network written in the BNN-PYNQ style (tests.hwsim.foreign.someone_else): the float input
    normalization as 8-bit thresholds on the float keys (32-bit keys against unsigned thresholds), BatchNorm
    before and after max pooling; every tensor of the accelerator, which ends at the integer logits before the
    host's float tail."""
    pytest.importorskip("brevitas")
    from hwsim.lower import lower
    from hwsim.partition import accelerator_part
    from tests.hwsim.foreign import export, someone_else

    g = lower(export(someone_else(), tmp_path / "net.onnx", (3, 16, 16)))
    tail = next(n for n in g.nodes if n.host)
    assert g.nodes[0].key and accelerator_part(g).outputs == list(tail.inputs)
    x = np.stack([tricky_floats(rng, 16 * 16 * 3, 7).reshape(16, 16, 3).transpose(2, 0, 1) for _ in range(2)])
    x = np.concatenate([x, rng.random((2, 3, 16, 16))]).astype(np.float32)
    folding = {"conv1_Conv": Fold(4, 3), "fc1_MatMul": Fold(8, 32)}
    _check(_csim(tmp_path, g, folding, x), "someone else's BNN")


def test_mismatch_is_detected(tmp_path, rng):
    """A project whose weights differ from the graph's fails the comparison (the check is not vacuous)."""
    g = finn_graph(rng, c=8)
    prj = write_project(g, tmp_path / "prj", "pynq-z1", 10.0, {}, tb_frames=0, probes="all")
    p = prj / "params" / "fc1.h"
    text = p.read_text()
    i = text.index("bias[")
    j = text.index("\n", text.index("= {", i)) + 1
    k = text.index(",", j)
    p.write_text(text[:j] + "    " + str(int(text[j:k]) + 7) + text[k:])
    x = rng.standard_normal((2, *g.spec("x").shape))
    res = run_csim(prj, g, x)
    assert res.mismatches["a1"] > 0 and not res.ok
    assert res.mismatches["b1"] == 0


def test_cli_generates_and_simulates(tmp_path, rng, monkeypatch):
    from click.testing import CliRunner

    from dybnn.cli import cli

    g = resblock_graph(rng, c=8, hw=6)
    g.save(tmp_path / "run" / "hw")
    (tmp_path / "fold.json").write_text(
        json.dumps({"conv1": {"pe": 4, "simd": 8}, "stem": {"pe": 2, "simd": 2}})
    )
    args = ["hls", str(tmp_path / "run"), "--part", "pynq-z1", "--clock-ns", "10", "--folding",
            str(tmp_path / "fold.json"), "--out", str(tmp_path / "prj"), "--csim", "--samples", "3"]  # fmt: skip
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "PASS" in r.output and "0 mismatching" in r.output
    assert (tmp_path / "prj" / "project.json").is_file()

    # a failing comparison exits non-zero
    import hls.csim

    real = hls.csim.run_csim

    def broken(*a, **kw):
        res = real(*a, **kw)
        res.mismatches["label"] = 1
        return res

    monkeypatch.setattr(hls.csim, "run_csim", broken)
    r = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert r.exit_code == 1 and "FAIL" in r.output


# ------------------------------------------------------------------------------------- lowered models


_LOWERED: dict = {}


def _lowered(tmp_path_factory, name: str, shape=None):
    key = (name, shape)
    if key not in _LOWERED:
        _LOWERED[key] = _export_and_lower(tmp_path_factory, name, shape)
    return _LOWERED[key]


def _export_and_lower(tmp_path_factory, name: str, shape=None):
    export = pytest.importorskip("training.export")
    lower_mod = pytest.importorskip("hwsim.lower")
    if not hasattr(export, "export_random"):
        pytest.skip("training.export.export_random is not available")
    d = tmp_path_factory.mktemp(name)
    # only hwsim == C simulation is checked here: skip the exporter's own PyTorch range check (training tests own it)
    params = inspect.signature(export.export_random).parameters
    kw = {k: v for k, v in {"check": False, "calib_steps": 4}.items() if k in params}
    try:
        onnx_path = export.export_random(name, d, input_shape=shape, **kw)
    except Exception as e:  # noqa: BLE001 - the exporter is not ours to test here
        pytest.skip(f"export_random({name!r}) failed: {type(e).__name__}: {e}")
    try:
        return lower_mod.lower(onnx_path)
    except lower_mod.LoweringError as e:
        pytest.skip(f"lowering {name} failed: {e}")


def _folding(g):
    from hls.estimate import folding_search

    return folding_search(g, 10.0, fit="zcu104")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "shape"), [("reactnet-tiny", None), ("lfc-w1a1", None), ("cnv-w1a1", (3, 32, 32))]
)
def test_lowered_models_bit_exact(tmp_path, tmp_path_factory, name, shape):
    g = _lowered(tmp_path_factory, name, shape)
    x = np.random.default_rng(1).standard_normal((3, *g.spec(g.inputs[0]).shape))
    res = run_csim(write_project(g, tmp_path / "prj", "zcu104", 10.0, _folding(g), tb_frames=0), g, x)
    _check(res, name)


@pytest.mark.slow
def test_dybnn_tiny_csim_under_two_minutes(tmp_path, tmp_path_factory):
    """Must-show: generating, building (g++) and running the C simulation of dybnn-tiny takes < 2 minutes; every
    logit and label equals hwsim's and every loop count equals the cycle model."""
    g = _lowered(tmp_path_factory, "dybnn-tiny")
    folding = _folding(g)
    x = np.random.default_rng(2).standard_normal((8, *g.spec(g.inputs[0]).shape))
    t0 = time.perf_counter()
    prj = write_project(g, tmp_path / "prj", "zcu104", 10.0, folding, tb_frames=0)
    res = run_csim(prj, g, x)
    elapsed = time.perf_counter() - t0
    _check(res, "dybnn-tiny")
    print(
        f"dybnn-tiny: {len(g.nodes)} nodes, build {res.build_s:.1f} s, run {res.run_s:.1f} s, total {elapsed:.1f} s"
    )
    assert elapsed < 120, res.summary()


@pytest.mark.slow
def test_dybnn_tiny_stem_intermediates_bit_exact(tmp_path, tmp_path_factory, rng):
    """Every intermediate tensor of dybnn-tiny-stem (hyper_context: stem: a HyperContext node, the dynamic units
    reading its context vector), under a random folding; every loop count equals the cycle model."""
    g = _lowered(tmp_path_factory, "dybnn-tiny-stem")
    x = np.random.default_rng(4).standard_normal((2, *g.spec(g.inputs[0]).shape))
    prj = write_project(g, tmp_path / "prj", "zcu104", 10.0, random_folding(g, rng, "mixed"), tb_frames=0,
                        probes="all")  # fmt: skip
    _check(run_csim(prj, with_probes(g, "all"), x), "dybnn-tiny-stem (all tensors)")


@pytest.mark.slow
def test_dybnn_tiny_intermediates_bit_exact(tmp_path, tmp_path_factory, rng):
    """Every intermediate tensor of dybnn-tiny, under a random folding."""
    g = _lowered(tmp_path_factory, "dybnn-tiny")
    x = np.random.default_rng(3).standard_normal((2, *g.spec(g.inputs[0]).shape))
    prj = write_project(g, tmp_path / "prj", "zcu104", 10.0, random_folding(g, rng, "mixed"), tb_frames=0,
                        probes="all")  # fmt: skip
    _check(run_csim(prj, with_probes(g, "all"), x), "dybnn-tiny (all tensors)")


@pytest.mark.parametrize("delta_bits", [3])
def test_dynamic_units_with_a_narrow_delta_bit_exact(tmp_path, rng, delta_bits):
    """A hyper function whose clipped output is requantized to ``delta_bits`` bits (``hyper_delta_bits`` of the
    training config): the C++ units equal hwsim under PE = 1 and 2, one and two buffers, every ``delta`` and the
    emitted and estimated ``delta`` widths are ``delta_bits``, and the frames reach more than one level."""
    from hls.estimate.designs import random_hyper
    from hls.estimate.widths import datapath_widths
    from hwsim import nodes as N
    from hwsim.reference import hyper_function

    x = rng.standard_normal((3, 4, 4, 4)) * 1.5 + rng.standard_normal((3, 1, 1, 4)) * 3
    c = x.shape[-1]
    nodes: list = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=SQUASH_IN)]
    for i in range(2):
        hs = random_hyper(rng, c, c, reduction=c + 1, min_hidden=2, delta_bits=delta_bits)
        hp = random_hyper(rng, c, 2 * c, reduction=c + 1, min_hidden=2, delta_bits=delta_bits)
        nodes.append(N.DynamicSign(name=f"dsign{i}", inputs=("q",), outputs=(f"dsign{i}_y",),
                                   tau=rng.integers(-30, 30, c), tau_frac=5, hyper=hs))  # fmt: skip
        nodes.append(N.DynamicPReLU(name=f"dprelu{i}", inputs=("q",), outputs=(f"dprelu{i}_y",),
                                    gamma=rng.integers(-40, 40, c), gamma_frac=5, zeta=rng.integers(-40, 40, c),
                                    zeta_frac=6, beta=rng.integers(-60, 60, c), beta_frac=6, hyper=hp,
                                    out=Fixed(16, 10, True)))  # fmt: skip
    g = build("narrow_delta", x.shape[1:], nodes)
    g.outputs = [n.outputs[0] for n in nodes[1:]]
    g.validate()
    from hwsim.simulate import simulate

    q = simulate(g, x, return_intermediates=True)["q"]
    spread = set()
    for n in nodes[1:]:
        assert n.hyper.act.bits == delta_bits and datapath_widths(g, n)["delta"] == delta_bits, n.name
        lv = hyper_function(n.hyper, q, SQUASH_IN.frac)
        assert lv.min() >= -(1 << (delta_bits - 1)) and lv.max() < 1 << (delta_bits - 1)
        spread.update(np.unique(lv).tolist())
    assert len(spread) >= 3, spread
    folding = {"inq": Fold(1)}
    for i in range(2):
        folding[f"dsign{i}"], folding[f"dprelu{i}"] = Fold(1 + i, 1, 1 + i), Fold(2 - i, 1, 2 - i)
    _check(_csim(tmp_path, g, folding, x, probes=None), f"{delta_bits}-bit delta")
