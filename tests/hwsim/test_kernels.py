"""Level L3 == level L2: every Numba kernel equals the numpy reference exactly (integer equality).

Whole hand-made graphs through ``simulate(level=...)``, and hypothesis fuzzing of single nodes over shapes,
strides, asymmetric padding, the three pad values, channel counts around the 64-bit word size, thresholds tied
with the input, and requantization/saturation edges. Bipolar inputs are fed both as uint8 bits and packed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwsim import nodes as N
from hwsim.encoding import pack_bits, unpack_bits
from hwsim.infer import infer
from hwsim.kernels import KERNELS, PackedBits, popcount, storage_dtype, to_reference
from hwsim.reference import REFERENCE
from hwsim.simulate import simulate
from hwsim.types import Bipolar, Fixed, Float, TensorSpec
from tests.hwsim.graphs import finn_graph, hyper, resblock_graph

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHANNELS = st.sampled_from([1, 2, 63, 64, 65, 130])
SMALL_CHANNELS = st.sampled_from([1, 3, 63, 64, 65])
FIXED_TYPES = st.sampled_from([Fixed(8, 4), Fixed(16, 10), Fixed(4, 0), Fixed(12, 6, False)])
#: requantization of the hyper function's clipped output (None: exact; "tanh": a tanh squash as thresholds)
ACT_TYPES = st.sampled_from([None, Fixed(8, 7), Fixed(4, 2), Fixed(8, 20), Fixed(3, 0, False), "tanh"])


def hyper_with(rng: np.random.Generator, c: int, outs: int, act) -> N.HyperFunction:
    """A random hyper function whose output is requantized to ``act`` (or squashed by tanh thresholds); every
    other one requantizes its input to a narrow random type before the channel sum (``pre``)."""
    hf = (
        hyper(rng, c, outs, squash="tanh")
        if act == "tanh"
        else dataclasses.replace(hyper(rng, c, outs), act=act)
    )
    if rng.integers(2):
        hf = dataclasses.replace(hf, pre=Fixed(int(rng.integers(2, 9)), int(rng.integers(-2, 13))))
    return hf


OUT_TYPES = st.sampled_from([None, Fixed(2, 0), Fixed(4, 1), Fixed(8, -2), Fixed(3, 0, False), Fixed(16, 8)])


def run_both(node: N.Node, ins: list, in_specs: list[TensorSpec], packed: bool = False):
    """Run the reference and the kernel on the same inputs; kernel bipolar inputs packed when ``packed``.

    Fixed-point inputs go to the kernel twice: as the reference's int64 and in their narrow storage type (as a
    producing kernel hands them over); both results must agree.
    """
    out_specs = infer(node, in_specs)
    ref = REFERENCE[type(node)](node, [np.asarray(x) for x in ins], in_specs, out_specs)
    kin = [
        PackedBits.from_bits(x) if packed and isinstance(s.dtype, Bipolar) else x
        for x, s in zip(ins, in_specs, strict=True)
    ]
    got = KERNELS[type(node)](node, kin, in_specs, out_specs)
    assert len(got) == len(ref)
    narrow = [
        x.astype(storage_dtype(s.dtype)) if isinstance(s.dtype, Fixed) else x
        for x, s in zip(kin, in_specs, strict=True)
    ]
    if any(isinstance(s.dtype, Fixed) for s in in_specs):
        again = KERNELS[type(node)](node, narrow, in_specs, out_specs)
        for a, g, s in zip(again, got, out_specs, strict=True):
            np.testing.assert_array_equal(to_reference(a, s), to_reference(g, s))
    return ref, got, out_specs


def assert_same(ref: list, got: list, out_specs: list[TensorSpec]) -> None:
    for r, g, s in zip(ref, got, out_specs, strict=True):
        if isinstance(s.dtype, Bipolar):
            assert isinstance(g, PackedBits), "bipolar kernel outputs travel packed"
        elif isinstance(s.dtype, Fixed):
            assert g.dtype.kind == "i" and g.dtype.itemsize <= 8, g.dtype  # stored narrow, values exact
        np.testing.assert_array_equal(np.asarray(g), r)
        g = to_reference(g, s)
        assert g.dtype == r.dtype, (g.dtype, r.dtype)
        np.testing.assert_array_equal(g, r)


def fixed_values(rng: np.random.Generator, shape: tuple[int, ...], t: Fixed) -> np.ndarray:
    """Integers of type ``t``, with the saturation edges and zero over-represented."""
    v = rng.integers(t.lo, t.hi + 1, shape, dtype=np.int64)
    edges = np.array([t.lo, t.hi, 0, min(1, t.hi), max(-1, t.lo)], np.int64)
    pick = rng.random(shape) < 0.15
    return np.where(pick, edges[rng.integers(0, len(edges), shape)], v)


def bits(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(0, 2, shape, dtype=np.uint8)


def tied_thresholds(rng: np.random.Generator, values: np.ndarray, channels: int) -> np.ndarray:
    """Per-channel thresholds drawn from the values each channel actually takes (ties ``x == thr``), +-1."""
    v = values.reshape(-1, channels)
    thr = v[rng.integers(0, v.shape[0], channels), np.arange(channels)]
    return thr + rng.integers(-1, 2, channels) * (rng.random(channels) < 0.3)


def affine_or_threshold(rng, draw, cout: int, acc: np.ndarray | None):
    """An output stage: affine (random mul/bias, maybe a narrow requantization) or threshold tied with ``acc``."""
    if draw(st.booleans()) and acc is not None:
        return N.OutputStage("threshold", thr=tied_thresholds(rng, acc, cout), invert=bits(rng, (cout,)))
    out = draw(OUT_TYPES)
    return N.OutputStage(
        "affine", draw(st.integers(0, 6)), rng.integers(-9, 10, cout), rng.integers(-300, 300, cout), out
    )


def probe_accumulator(probe: N.Node, x: np.ndarray, spec: list[TensorSpec]) -> np.ndarray:
    """The reference accumulator of a matrix unit built with an identity output stage."""
    return REFERENCE[type(probe)](probe, [x], spec, infer(probe, spec))[0]


def with_random_stage(probe: N.Node, x: np.ndarray, spec: list[TensorSpec], rng, draw, cout: int) -> N.Node:
    """``probe`` with an :func:`affine_or_threshold` stage whose thresholds tie with its accumulator on ``x``."""
    return probe.replace(stage=affine_or_threshold(rng, draw, cout, probe_accumulator(probe, x, spec)))


# ---------------------------------------------------------------------------------------------------- registry


def test_every_node_type_has_reference_and_kernel():
    missing = [name for name, cls in N.NODE_TYPES.items() if cls not in REFERENCE or cls not in KERNELS]
    assert not missing, f"node types without a reference or a kernel: {missing}"


def test_popcount_helper():
    from numba import njit

    @njit
    def pc(a):
        out = np.empty(a.shape[0], np.int64)
        for i in range(a.shape[0]):
            out[i] = popcount(a[i])
        return out

    words = np.array([0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 12345678901234567], np.uint64)
    np.testing.assert_array_equal(pc(words), [bin(int(w)).count("1") for w in words])


def test_packed_bits_round_trip(rng):
    for n in (1, 63, 64, 65, 130):
        b = bits(rng, (2, 3, n))
        p = PackedBits.from_bits(b)
        assert p.shape == b.shape and p.words.shape == (2, 3, (n + 63) // 64)
        np.testing.assert_array_equal(p, b)
        np.testing.assert_array_equal(unpack_bits(pack_bits(b), n), b)


def test_storage_dtype():
    cases = [
        (Fixed(8, 0), np.int8),
        (Fixed(8, 3, False), np.int16),
        (Fixed(16, 10), np.int16),
        (Fixed(17, 0), np.int32),
        (Fixed(31, 0, False), np.int32),
        (Fixed(32, 0, False), np.int64),
        (Fixed(62, 0), np.int64),
        (Bipolar(), np.int64),
    ]
    for t, want in cases:
        assert storage_dtype(t) == np.dtype(want), t


def test_kernel_outputs_stay_valid_when_held(rng):
    """Repeated calls with the same shapes return independent outputs (no buffer shared between calls)."""
    x = bits(rng, (8, 16, 16, 128))
    spec = [TensorSpec((16, 16, 128), Bipolar())]
    node = N.XnorConv(
        name="c",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (128, 3, 3, 128)),
        kernel=(3, 3),
        stride=(1, 1),
        pad=(1, 1, 1, 1),
        pad_value=0,
        stage=N.OutputStage.identity(128),
    )
    out_specs = infer(node, spec)
    first = KERNELS[N.XnorConv](node, [x], spec, out_specs)[0]
    saved = first.copy()
    second = KERNELS[N.XnorConv](node, [1 - x], spec, out_specs)[0]
    assert not np.shares_memory(first, second)
    np.testing.assert_array_equal(first, saved)
    np.testing.assert_array_equal(second, -saved)  # flipping every input bit negates every dot product


# ---------------------------------------------------------------------------------------------------- graphs


def _compare_graph(graph, x) -> None:
    ref = simulate(graph, x, level="ref", return_intermediates=True)
    got = simulate(graph, x, level="numba", return_intermediates=True)
    assert ref.keys() == got.keys()
    for t in ref:
        assert type(got[t]) is np.ndarray, f"{t}: simulate must return plain arrays"
        assert got[t].dtype == ref[t].dtype, (t, got[t].dtype, ref[t].dtype)
        np.testing.assert_array_equal(got[t], ref[t], err_msg=f"tensor {t!r}")
    out = simulate(graph, x, level="numba")
    assert list(out) == graph.outputs


@pytest.mark.parametrize("pad_value", [-1, 0, 1])
@pytest.mark.parametrize("c,hw", [(8, 6), (65, 4)])
def test_resblock_graph(rng, pad_value, c, hw):
    g = resblock_graph(rng, c=c, hw=hw, pad_value=pad_value)
    _compare_graph(g, rng.normal(0, 2, (3, hw, hw, 2)).astype(np.float32))


@pytest.mark.parametrize("c", [16, 70])
def test_finn_graph(rng, c):
    g = finn_graph(rng, c=c)
    _compare_graph(g, rng.normal(0, 1, (3, 10, 10, 3)).astype(np.float32))


# ---------------------------------------------------------------------------------------------------- fuzzing


@st.composite
def conv_geometry(draw, max_hw: int = 7):
    h = draw(st.integers(1, max_hw))
    w = draw(st.integers(1, max_hw))
    pad = tuple(draw(st.integers(0, 2)) for _ in range(4))
    kh = draw(st.integers(1, min(3, h + pad[0] + pad[2])))
    kw = draw(st.integers(1, min(3, w + pad[1] + pad[3])))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return h, w, (kh, kw), stride, pad


@FUZZ
@given(
    data=st.data(),
    geo=conv_geometry(),
    cin=CHANNELS,
    cout=st.integers(1, 70),
    pad_value=st.sampled_from([-1, 0, 1]),
    n=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_xnor_conv_bits(data, geo, cin, cout, pad_value, n, seed):
    rng = np.random.default_rng(seed)
    h, w, k, stride, pad = geo
    x = bits(rng, (n, h, w, cin))
    wts = bits(rng, (cout, *k, cin))
    spec = [TensorSpec((h, w, cin), Bipolar())]
    probe = N.XnorConv(
        name="c",
        inputs=("x",),
        outputs=("y",),
        weights=wts,
        kernel=k,
        stride=stride,
        pad=pad,
        pad_value=pad_value,
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec, packed=data.draw(st.booleans())))


@pytest.mark.parametrize("mode", ["affine", "requant", "threshold"])
@pytest.mark.parametrize("pad_value", [-1, 0, 1])
def test_xnor_output_channel_chunks(rng, monkeypatch, mode, pad_value):
    """Weights split into several output-channel chunks (the last one partial), as for wide layers."""
    from hwsim.kernels import xnor

    monkeypatch.setattr(xnor, "CHUNK_WORDS", 64)  # 64-channel chunks
    cin, cout = 70, 150
    x = bits(rng, (2, 5, 6, cin))
    spec = [TensorSpec((5, 6, cin), Bipolar())]
    conv = N.XnorConv(
        name="c",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (cout, 3, 3, cin)),
        kernel=(3, 3),
        stride=(1, 2),
        pad=(1, 2, 0, 1),
        pad_value=pad_value,
        stage=N.OutputStage.identity(cout),
    )
    dense = N.XnorDense(
        name="d",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (cout, cin)),
        stage=N.OutputStage.identity(cout),
    )
    for probe in (conv, dense):
        acc = probe_accumulator(probe, x, spec)
        if mode == "threshold":
            stage = N.OutputStage("threshold", thr=tied_thresholds(rng, acc, cout), invert=bits(rng, (cout,)))
        else:
            out = Fixed(8, 1) if mode == "requant" else None
            stage = N.OutputStage("affine", 3, rng.integers(-9, 10, cout), rng.integers(-300, 300, cout), out)
        node = probe.replace(stage=stage)
        assert xnor.out_chunk(9, cout) == 64
        assert_same(*run_both(node, [x], spec, packed=True))


@FUZZ
@given(
    data=st.data(),
    geo=conv_geometry(5),
    cin=st.integers(1, 5),
    cout=st.integers(1, 20),
    t=FIXED_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_xnor_conv_fixed_input(data, geo, cin, cout, t, seed):
    rng = np.random.default_rng(seed)
    h, w, k, stride, pad = geo
    x = fixed_values(rng, (2, h, w, cin), t)
    spec = [TensorSpec((h, w, cin), t)]
    probe = N.XnorConv(
        name="c",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (cout, *k, cin)),
        kernel=k,
        stride=stride,
        pad=pad,
        pad_value=0,
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec))


@FUZZ
@given(
    data=st.data(),
    cin=CHANNELS,
    cout=st.integers(1, 140),
    lead=st.sampled_from([(1,), (5,), (2, 3, 2)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_xnor_dense_bits(data, cin, cout, lead, seed):
    rng = np.random.default_rng(seed)
    x = bits(rng, lead + (cin,))
    spec = [TensorSpec(lead[1:] + (cin,), Bipolar())]
    probe = N.XnorDense(
        name="d",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (cout, cin)),
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec, packed=data.draw(st.booleans())))


@FUZZ
@given(
    data=st.data(),
    cin=st.integers(1, 40),
    cout=st.integers(1, 30),
    t=FIXED_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_xnor_dense_fixed_input(data, cin, cout, t, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (4, cin), t)
    spec = [TensorSpec((cin,), t)]
    probe = N.XnorDense(
        name="d",
        inputs=("x",),
        outputs=("y",),
        weights=bits(rng, (cout, cin)),
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec))


@FUZZ
@given(
    data=st.data(),
    geo=conv_geometry(6),
    cin=st.integers(1, 6),
    cout=st.integers(1, 20),
    t=FIXED_TYPES,
    w_bits=st.integers(2, 8),
    seed=st.integers(0, 2**32 - 1),
)
def test_fixed_conv(data, geo, cin, cout, t, w_bits, seed):
    rng = np.random.default_rng(seed)
    h, w, k, stride, pad = geo
    x = fixed_values(rng, (2, h, w, cin), t)
    wt = fixed_values(rng, (cout, *k, cin), Fixed(w_bits, 0))
    spec = [TensorSpec((h, w, cin), t)]
    probe = N.FixedConv(
        name="f",
        inputs=("x",),
        outputs=("y",),
        weights=wt,
        w_bits=w_bits,
        w_frac=3,
        kernel=k,
        stride=stride,
        pad=pad,
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec))


@FUZZ
@given(
    data=st.data(),
    cin=st.integers(1, 40),
    cout=st.integers(1, 30),
    t=FIXED_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_fixed_dense(data, cin, cout, t, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (3, cin), t)
    spec = [TensorSpec((cin,), t)]
    probe = N.FixedDense(
        name="f",
        inputs=("x",),
        outputs=("y",),
        weights=fixed_values(rng, (cout, cin), Fixed(8, 0)),
        w_bits=8,
        w_frac=7,
        stage=N.OutputStage.identity(cout),
    )
    node = with_random_stage(probe, x, spec, rng, data.draw, cout)
    assert_same(*run_both(node, [x], spec))


@FUZZ
@given(c=CHANNELS, t=FIXED_TYPES, lead=st.sampled_from([(2,), (2, 3, 3)]), seed=st.integers(0, 2**32 - 1))
def test_sign(c, t, lead, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, lead + (c,), t)
    node = N.Sign(
        name="s", inputs=("x",), outputs=("y",), thr=tied_thresholds(rng, x, c), invert=bits(rng, (c,))
    )
    assert_same(*run_both(node, [x], [TensorSpec(lead[1:] + (c,), t)]))


@FUZZ
@given(
    c=SMALL_CHANNELS,
    hw=st.integers(1, 5),
    tau_frac=st.integers(-2, 20),
    act=ACT_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_dynamic_sign(c, hw, tau_frac, act, seed):
    from hwsim.encoding import align
    from hwsim.reference import hyper_function

    rng = np.random.default_rng(seed)
    t = Fixed(16, 10)
    x = fixed_values(rng, (3, hw, hw, c), t)
    hf = hyper_with(rng, c, c, act)
    tau = rng.integers(-300, 300, c)
    f = max(t.frac, tau_frac, hf.delta_frac)
    if tau_frac == f:  # make sample 0 tie exactly: tau = x - delta on the common grid
        delta = hyper_function(hf, x, t.frac)[0]
        xv = x[0].reshape(-1, c)[rng.integers(0, hw * hw, c), np.arange(c)]
        tau = align(xv, t.frac, f) - align(delta, hf.delta_frac, f)
    node = N.DynamicSign(name="d", inputs=("x",), outputs=("y",), tau=tau, tau_frac=tau_frac, hyper=hf)
    assert_same(*run_both(node, [x], [TensorSpec((hw, hw, c), t)]))


@FUZZ
@given(
    c=st.integers(1, 20),
    t=FIXED_TYPES,
    out=OUT_TYPES.filter(lambda o: o is not None),
    fracs=st.tuples(st.integers(0, 12), st.integers(0, 12), st.integers(0, 8)),
    dynamic=st.booleans(),
    act=ACT_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_prelu(c, t, out, fracs, dynamic, act, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (2, 3, 3, c), t)
    fg, fz, fb = fracs
    kw = dict(
        gamma=rng.integers(-500, 500, c),
        gamma_frac=fg,
        zeta=rng.integers(-500, 500, c),
        zeta_frac=fz,
        beta=rng.integers(-60, 60, c),
        beta_frac=fb,
        out=out,
    )
    if dynamic:
        node = N.DynamicPReLU(
            name="p",
            inputs=("x",),
            outputs=("y",),
            hyper=hyper_with(rng, c, 2 * c, act),
            **kw,
        )
    else:
        node = N.PReLU(name="p", inputs=("x",), outputs=("y",), **kw)
    assert_same(*run_both(node, [x], [TensorSpec((3, 3, c), t)]))


@FUZZ
@given(ta=FIXED_TYPES, tb=FIXED_TYPES, out=OUT_TYPES, seed=st.integers(0, 2**32 - 1))
def test_add(ta, tb, out, seed):
    rng = np.random.default_rng(seed)
    shape = (2, 3, 4, 5)
    ins = [fixed_values(rng, shape, ta), fixed_values(rng, shape, tb)]
    node = N.Add(name="a", inputs=("a", "b"), outputs=("y",), out=out)
    assert_same(*run_both(node, ins, [TensorSpec(shape[1:], ta), TensorSpec(shape[1:], tb)]))


@FUZZ
@given(t=FIXED_TYPES, out=OUT_TYPES.filter(lambda o: o is not None), seed=st.integers(0, 2**32 - 1))
def test_requant(t, out, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (3, 17), t)
    node = N.Requant(name="r", inputs=("x",), outputs=("y",), out=out)
    assert_same(*run_both(node, [x], [TensorSpec((17,), t)]))


def test_requant_half_even_ties():
    t = Fixed(16, 4)
    x = np.arange(-64, 65, dtype=np.int64)[None]  # every multiple of 1/16 in [-4, 4]: ties at the .5 points
    for out in (Fixed(8, 1), Fixed(4, 0), Fixed(3, 0, False), Fixed(2, -1)):
        node = N.Requant(name="r", inputs=("x",), outputs=("y",), out=out)
        assert_same(*run_both(node, [x], [TensorSpec((129,), t)]))


@FUZZ
@given(c=st.integers(1, 20), t=FIXED_TYPES, seed=st.integers(0, 2**32 - 1))
def test_multi_threshold(c, t, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (4, 3, c), t)
    thr = np.sort(np.stack([tied_thresholds(rng, x, c) for _ in range(3)], axis=1), axis=1)
    node = N.MultiThreshold(name="m", inputs=("x",), outputs=("y",), thr=thr, base=-1, out=Fixed(3, 0))
    assert_same(*run_both(node, [x], [TensorSpec((3, c), t)]))


@FUZZ
@given(
    data=st.data(),
    k=st.sampled_from([(1, 1), (2, 2), (2, 4), (4, 2)]),
    t=FIXED_TYPES,
    out=OUT_TYPES,
    seed=st.integers(0, 2**32 - 1),
)
def test_avg_pool(data, k, t, out, seed):
    rng = np.random.default_rng(seed)
    h, w = data.draw(st.integers(k[0], 7)), data.draw(st.integers(k[1], 7))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    x = fixed_values(rng, (2, h, w, 5), t)
    node = N.AvgPool(name="p", inputs=("x",), outputs=("y",), kernel=k, stride=stride, out=out)
    assert_same(*run_both(node, [x], [TensorSpec((h, w, 5), t)]))


@FUZZ
@given(data=st.data(), geo=conv_geometry(), on_bits=st.booleans(), c=CHANNELS, seed=st.integers(0, 2**32 - 1))
def test_max_pool(data, geo, on_bits, c, seed):
    rng = np.random.default_rng(seed)
    h, w, k, stride, pad = geo
    t = Bipolar() if on_bits else Fixed(8, 3)
    x = bits(rng, (2, h, w, c)) if on_bits else fixed_values(rng, (2, h, w, c), t)
    node = N.MaxPool(name="m", inputs=("x",), outputs=("y",), kernel=k, stride=stride, pad=pad)
    assert_same(*run_both(node, [x], [TensorSpec((h, w, c), t)], packed=data.draw(st.booleans())))


@FUZZ
@given(t=FIXED_TYPES, out=OUT_TYPES, pre=OUT_TYPES, shift=st.integers(0, 6), seed=st.integers(0, 2**32 - 1))
def test_global_pool(t, out, pre, shift, seed):
    rng = np.random.default_rng(seed)
    x = fixed_values(rng, (3, 4, 5, 7), t)
    node = N.GlobalPool(name="g", inputs=("x",), outputs=("y",), shift=shift, out=out, pre=pre)
    assert_same(*run_both(node, [x], [TensorSpec((4, 5, 7), t)]))


@FUZZ
@given(data=st.data(), geo=conv_geometry(), on_bits=st.booleans(), c=CHANNELS, seed=st.integers(0, 2**32 - 1))
def test_sliding_window(data, geo, on_bits, c, seed):
    rng = np.random.default_rng(seed)
    h, w, k, stride, pad = geo
    if on_bits:
        t, x, pv = Bipolar(), bits(rng, (2, h, w, c)), data.draw(st.sampled_from([-1, 1]))
    else:
        t, pv = Fixed(8, 2), 0
        x = fixed_values(rng, (2, h, w, c), t)
    node = N.SlidingWindow(
        name="s", inputs=("x",), outputs=("y",), kernel=k, stride=stride, pad=pad, pad_value=pv
    )
    assert_same(*run_both(node, [x], [TensorSpec((h, w, c), t)], packed=data.draw(st.booleans())))


@FUZZ
@given(
    data=st.data(),
    cs=st.lists(CHANNELS, min_size=1, max_size=4),
    on_bits=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_concat(data, cs, on_bits, seed):
    rng = np.random.default_rng(seed)
    lead = (2, 3, 2)
    if on_bits:
        specs = [TensorSpec(lead[1:] + (c,), Bipolar()) for c in cs]
        ins = [bits(rng, lead + (c,)) for c in cs]
    else:
        types = [data.draw(FIXED_TYPES) for _ in cs]
        specs = [TensorSpec(lead[1:] + (c,), t) for c, t in zip(cs, types, strict=True)]
        ins = [fixed_values(rng, lead + (c,), t) for c, t in zip(cs, types, strict=True)]
    node = N.Concat(name="c", inputs=tuple(f"x{i}" for i in range(len(cs))), outputs=("y",))
    assert_same(*run_both(node, ins, specs, packed=data.draw(st.booleans())))


@FUZZ
@given(
    data=st.data(),
    c=CHANNELS,
    hw=st.sampled_from([(1, 1), (2, 3), (3, 3)]),
    on_bits=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_flatten_and_duplicate(data, c, hw, on_bits, seed):
    rng = np.random.default_rng(seed)
    shape = (2, *hw, c)
    t = Bipolar() if on_bits else Fixed(8, 0)
    x = bits(rng, shape) if on_bits else fixed_values(rng, shape, t)
    packed = data.draw(st.booleans())
    node = N.Flatten(name="f", inputs=("x",), outputs=("y",))
    assert_same(*run_both(node, [x], [TensorSpec(shape[1:], t)], packed=packed))
    dup = N.Duplicate(name="d", inputs=("x",), outputs=("a", "b", "c"))
    assert_same(*run_both(dup, [x], [TensorSpec(shape[1:], t)], packed=packed))


@FUZZ
@given(c=st.integers(1, 30), k=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_label_select_ties(c, k, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, (6, c), dtype=np.int64)  # few values: many ties, lower index must win
    node = N.LabelSelect(name="l", inputs=("x",), outputs=("y",), k=min(k, c))
    assert_same(*run_both(node, [x], [TensorSpec((c,), Fixed(8, 0))]))


@FUZZ
@given(
    c=CHANNELS,
    out=st.sampled_from([None, Fixed(8, 5), Fixed(4, 0), Fixed(8, -1), Fixed(6, 2, False)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_input_quant(c, out, seed):
    rng = np.random.default_rng(seed)
    frac = 0 if out is None else out.frac
    # half-way points of the output grid (round half to even), exact zeros, -0.0 and values far out of range
    x = ((rng.integers(-300, 300, (3, 2, c)) + 0.5 * rng.integers(0, 2, (3, 2, c))) * 2.0**-frac).astype(
        np.float32
    )
    x.reshape(-1)[:: max(1, x.size // 7)] = 0.0
    x.reshape(-1)[1 :: max(1, x.size // 5)] = -0.0
    x.reshape(-1)[2 :: max(1, x.size // 3)] = 1e6
    node = N.InputQuant(name="i", inputs=("x",), outputs=("q",), out=out)
    assert_same(*run_both(node, [x], [TensorSpec((2, c), Float())]))
