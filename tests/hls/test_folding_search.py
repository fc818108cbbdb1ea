"""Folding search: meets a target frame rate, respects divisors and stream limits, --fit fits."""

from __future__ import annotations

import pytest

from hls.cycles import node_loops
from hls.devices import resolve_part
from hls.estimate import FitError, GraphModel, complete_folding, estimate, folding_search
from hls.estimate.designs import CNV_FINN_EXAMPLES_FOLDING, cnv_w1a1, lfc_w1a1, reactnet_a
from hls.estimate.registry import bits_of
from hls.estimate.search import MAX_WEIGHT_BITS, achieved_cycles
from hls.folding import (
    MATRIX_TYPES,
    MAX_STREAM_BITS,
    Fold,
    FoldingError,
    channels,
    divisors,
    matrix_dims,
    parse,
    to_json,
)
from hls.folding import validate as validate_folding
from hwsim import nodes as N
from tests.hwsim.graphs import finn_graph, resblock_graph
from tests.rtl.cases_d2 import dynamic_graph


def _graphs(rng):
    return {
        "resblock": resblock_graph(rng, c=16, hw=8),
        "finn": finn_graph(rng, c=16),
        "cnv": cnv_w1a1(rng),
        "lfc": lfc_w1a1(rng),
    }


def _check_legal(g, folding) -> None:
    validate_folding(g, folding)
    for n in g.nodes:
        f = folding[n.name]
        if isinstance(n, MATRIX_TYPES):
            mh, _, _ = matrix_dims(g, n)
            assert mh % f.pe == 0 and n.cin % f.simd == 0
            w = 1 if isinstance(n, (N.XnorConv, N.XnorDense)) else n.w_bits
            assert f.simd == 1 or f.simd * w <= MAX_WEIGHT_BITS
            assert f.simd * bits_of(g, n.inputs[0]) <= MAX_STREAM_BITS
        else:
            assert f.simd == 1 and channels(g, n) % f.pe == 0


@pytest.mark.parametrize("name", ["resblock", "finn", "cnv", "lfc"])
@pytest.mark.parametrize("fps", [1_000, 20_000])
def test_meets_target_fps(rng, name, fps) -> None:
    g = _graphs(rng)[name]
    folding = folding_search(g, 10.0, target_fps=fps)
    _check_legal(g, folding)
    target = int(1e8 / fps)
    fastest = achieved_cycles(g, folding_search(g, 10.0, target_fps=1e9))
    achieved = achieved_cycles(g, folding)
    assert achieved <= max(target, fastest)
    if fastest <= target:
        assert estimate(g, folding, 10.0).fps >= fps


def test_balanced_after_relaxation(rng) -> None:
    """Every non-matrix node has the smallest PE that meets the achieved bottleneck (no wasted lanes)."""
    g = cnv_w1a1(rng)
    folding = folding_search(g, 10.0, target_fps=3_000)
    m = GraphModel(g)
    worst = achieved_cycles(g, folding)
    for n in g.nodes:
        if isinstance(n, MATRIX_TYPES):
            continue
        smaller = [p for p in divisors(channels(g, n)) if p < folding[n.name].pe]
        assert all(m.cycles(n, Fold(p, 1)) > worst for p in smaller), n.name


def test_unreachable_target_gives_the_fastest_legal_folding(rng) -> None:
    g = lfc_w1a1(rng)
    folding = folding_search(g, 10.0, target_fps=1e12)
    _check_legal(g, folding)
    for n in g.nodes:
        mh, mw, _ = matrix_dims(g, n)
        assert folding[n.name] == Fold(mh, max(d for d in divisors(mw) if d <= MAX_WEIGHT_BITS))


def test_folding_json_round_trip(rng) -> None:
    g = resblock_graph(rng)
    folding = folding_search(g, 10.0, target_fps=50_000)
    assert parse(g, to_json(folding)) == folding


def test_fit_result_fits_and_is_fast(rng) -> None:
    g = cnv_w1a1(rng)
    dev = resolve_part("pynq-z1")
    folding = folding_search(g, 10.0, fit=dev)
    _check_legal(g, folding)
    est = estimate(g, folding, 10.0, dev)
    assert est.fits
    slow = estimate(g, {}, 10.0, dev)
    assert est.fps > 10 * slow.fps
    # and the fit search beats the published finn-examples folding on the same part
    assert est.fps >= estimate(g, complete_folding(g, CNV_FINN_EXAMPLES_FOLDING), 10.0, dev).fps


def test_fit_on_a_bigger_part_is_faster(rng) -> None:
    g = lfc_w1a1(rng)
    small = estimate(g, folding_search(g, 10.0, fit="pynq-z1"), 10.0)
    big = estimate(g, folding_search(g, 10.0, fit="zcu104"), 10.0)
    assert big.fps > small.fps


def test_fit_error_when_nothing_fits() -> None:
    g = reactnet_a(None, dynamic=True, resolution=64, width_mult=0.25)
    with pytest.raises(FitError, match="does not fit"):
        folding_search(g, 10.0, fit="pynq-z1")


def test_complete_folding_keeps_given_folds(rng) -> None:
    g = cnv_w1a1(rng)
    folding = complete_folding(g, CNV_FINN_EXAMPLES_FOLDING)
    for k, f in CNV_FINN_EXAMPLES_FOLDING.items():
        assert folding[k] == f
    assert achieved_cycles(g, folding) == 32_768


def test_bad_arguments(rng) -> None:
    g = finn_graph(rng)
    with pytest.raises(ValueError):
        folding_search(g, 10.0)
    with pytest.raises(ValueError):
        folding_search(g, 10.0, target_fps=-1)
    with pytest.raises(ValueError, match="known parts"):
        folding_search(g, 10.0, fit="nonsense")


def test_frame_buffers_field_parses_and_round_trips(rng) -> None:
    """``"buffers": 1 | 2`` on a dynamic unit; written only where it is not 1."""
    g = resblock_graph(rng)
    doc = {"dsign": {"pe": 2, "buffers": 2}, "dprelu": {"pe": 4, "buffers": 1}, "conv1": {"pe": 2, "simd": 8}}
    folding = parse(g, doc, "f.json")
    assert folding["dsign"] == Fold(2, 1, 2) and folding["dprelu"] == Fold(4, 1, 1)
    assert to_json(folding) == {
        "dsign": {"pe": 2, "simd": 1, "buffers": 2},
        "dprelu": {"pe": 4, "simd": 1},
        "conv1": {"pe": 2, "simd": 8},
    }
    assert parse(g, to_json(folding)) == folding


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"dsign": {"pe": 2, "buffers": 3}},
            r"f\.json: node 'dsign' \(DynamicSign\): buffers must be 1 or 2",
        ),
        ({"dprelu": {"buffers": 0}}, r"f\.json: node 'dprelu' \(DynamicPReLU\): buffers must be 1 or 2"),
        ({"conv1": {"pe": 2, "buffers": 2}}, r"f\.json: node 'conv1' \(XnorConv\) has no frame buffer"),
        ({"dsign": {"buffers": "2"}}, r"f\.json: node 'dsign': pe, simd and buffers must be integers"),
        ({"dsign": {"buffers": True}}, r"f\.json: node 'dsign': pe, simd and buffers must be integers"),
        ({"dsign": {"pe": 1, "frames": 2}}, r"f\.json: node 'dsign': expected \{'pe': int, 'simd': int\}"),
    ],
)
def test_frame_buffers_field_errors_name_the_file_and_node(rng, entry, message) -> None:
    with pytest.raises(FoldingError, match=message):
        parse(resblock_graph(rng), entry, "f.json")


def test_search_gives_two_frame_buffers_where_they_meet_the_target(rng) -> None:
    """At each PE one buffer first, then two: ping-pong only where one buffer misses the target at that PE; a
    site held to one buffer takes the PE that then meets the target."""
    from hls.estimate.search import fold_for_target

    g = dynamic_graph(rng, c=16, hw=16)
    m = GraphModel(g)
    ds = g.node("ds_act")
    loops = node_loops(g, ds, Fold(4))
    frame, hyper = loops["frame_in"], loops["hyper1"] + loops["hyper2"]
    assert hyper < frame
    # between max(in, hyper, out) and max(in, out) + hyper at PE 4: two buffers at PE 4
    assert fold_for_target(m, frame + hyper // 2, relax=False)["ds_act"] == Fold(4, 1, 2)
    assert fold_for_target(m, frame + hyper // 2, relax=False, single=frozenset({"ds_act"}))[
        "ds_act"
    ] == Fold(8)
    # one buffer is enough at PE 4
    assert fold_for_target(m, frame + hyper, relax=False)["ds_act"] == Fold(4, 1, 1)


def test_fit_falls_back_to_one_frame_buffer_where_two_do_not_fit(rng) -> None:
    """A part with BRAM for the one-buffer design but not for ping-pong everywhere: the search returns a
    folding that fits, with fewer ping-pong sites."""
    import dataclasses

    from hls.estimate.search import fold_for_target

    g = dynamic_graph(rng, c=16, hw=32)
    m = GraphModel(g)
    base = resolve_part("pynq-z1")  # no URAM: the frame buffers are BRAM
    two = fold_for_target(m, 1)
    one = fold_for_target(m, 1, single=frozenset(n.name for n in g.nodes))
    assert sum(f.buffers == 2 for f in two.values()) == 5 and all(f.buffers == 1 for f in one.values())
    b2, b1 = (m.estimate(f, 10.0, base).system_totals.bram18 for f in (two, one))
    assert b1 < b2
    dev = dataclasses.replace(base, bram18=int((b1 + b2) // 2))
    assert not estimate(g, two, 10.0, dev).fits
    folding = folding_search(g, 10.0, fit=dev)
    assert estimate(g, folding, 10.0, dev).fits
    assert sum(f.buffers == 2 for f in folding.values()) < 5
    # on the part itself, ping-pong everywhere fits and is the fastest
    assert folding_search(g, 10.0, fit=base) == two
