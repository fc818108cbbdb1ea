"""Estimators: one per node type, cycles from hls.cycles, sane monotone costs, memory/FIFO models,
documents."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hls.cycles import node_cycles
from hls.devices import resolve_part
from hls.estimate import (
    ESTIMATORS,
    EstimateConfig,
    GraphModel,
    Resources,
    arith,
    estimate,
    finn_reference_estimate,
    has_dynamic,
    static_equivalent,
)
from hls.estimate.memory import (
    bram18_tiles,
    fifo_cost,
    finn_bram18_ladder,
    lutram_luts,
    map_memory,
    uram_blocks,
)
from hls.estimate.report import LAYER_KEYS, format_table, to_csv, to_document
from hls.folding import MATRIX_TYPES, Fold, channels, divisors, matrix_dims
from hls.timing import stream_graph
from hwsim.nodes import NODE_TYPES
from tests.hwsim.graphs import finn_graph, resblock_graph

RES_KEYS = ("lut", "ff", "bram18", "uram", "dsp")


def test_every_node_type_has_an_estimator() -> None:
    """Every accelerator node type; host node types (the float tail) run in software and have none."""
    missing = [t for t, cls in NODE_TYPES.items() if cls not in ESTIMATORS and not cls.host]
    assert not missing
    assert [t for t, cls in NODE_TYPES.items() if cls.host] == ["FloatTail"]


def _foldings(g, k: int) -> list[dict[str, Fold]]:
    """Folding 1 and the k-th divisor (capped) of every node's dimensions."""
    out = [{}]
    f = {}
    for n in g.nodes:
        if isinstance(n, MATRIX_TYPES):
            mh, _, _ = matrix_dims(g, n)
            ds, ss = divisors(mh), divisors(n.cin)
            f[n.name] = Fold(ds[min(k, len(ds) - 1)], ss[min(k, len(ss) - 1)])
        else:
            ds = divisors(channels(g, n))
            f[n.name] = Fold(ds[min(k, len(ds) - 1)], 1)
    out.append(f)
    return out


@pytest.mark.parametrize("make", [resblock_graph, finn_graph])
@pytest.mark.parametrize("k", [1, 2])
def test_node_cycles_are_the_hls_cycle_model(rng, make, k) -> None:
    g = make(rng)
    for folding in _foldings(g, k):
        est = estimate(g, folding, 10.0)
        sg = stream_graph(
            g, folding
        )  # the design's nodes (a fork in front of a dynamic unit gives way to it)
        assert [e.name for e in est.nodes] == [n.name for n in sg.graph.nodes]
        for e in est.nodes:
            n = sg.graph.node(e.name)
            assert e.cycles == node_cycles(sg.graph, n, sg.fold(n.name))
            assert e.fill >= 0 and e.tail >= 0 and 0.0 <= e.need <= 1.0
            r = e.resources.as_dict()
            assert all(v >= 0 for v in r.values()), (n.name, r)
        assert est.max_cycles == max(e.cycles for e in est.nodes)
        assert est.fps == pytest.approx(1e8 / est.max_cycles)
        assert est.latency_cycles >= est.max_cycles


def test_matrix_costs_monotone_in_pe_and_simd(rng) -> None:
    g = finn_graph(rng, c=32)
    node = g.node("mvu1")  # XnorDense 288 -> 32 after the window
    m = GraphModel(g)
    prev_lut, prev_cyc = 0.0, None
    for pe in divisors(32):
        e = m.node(node, Fold(pe, 32))
        assert e.parts["datapath"].lut > prev_lut
        assert prev_cyc is None or e.cycles < prev_cyc
        prev_lut, prev_cyc = e.parts["datapath"].lut, e.cycles
    luts = [m.node(node, Fold(4, s)).parts["datapath"].lut for s in divisors(288)]
    assert luts == sorted(luts) and luts[-1] > 10 * luts[0]


def test_sign_and_pool_monotone_in_pe(rng) -> None:
    g = resblock_graph(rng, c=16)
    m = GraphModel(g)
    for name in ("sign2", "prelu", "add2", "mp", "dsign"):
        node = g.node(name)
        luts = [m.node(node, Fold(p, 1)).resources.lut for p in divisors(16)]
        cycles = [m.node(node, Fold(p, 1)).cycles for p in divisors(16)]
        assert luts == sorted(luts), name
        assert cycles == sorted(cycles, reverse=True), name


@pytest.mark.parametrize(
    "depth,width,ladder,tiles",
    [
        (416, 2048, 57, 57),  # LFC layer 0 as FINN sizes it: one PE*SIMD-wide memory
        (416, 64, 2, 2),  # ... and one PE's own memory (x32 PEs = 64, BNN-PYNQ partitions per PE)
        (512, 32, 1, 1),
        (512, 128, 4, 4),
        (2304, 32, 6, 5),
        (18432, 32, 36, 36),
        (32768, 4, 8, 8),
        (32768, 8, 16, 16),
        (8192, 1, 1, 1),
        (100, 1, 1, 1),
        (1024, 64, 4, 4),
    ],
)
def test_bram_ladder_cases(depth, width, ladder, tiles) -> None:
    assert finn_bram18_ladder(depth, width) == ladder
    assert bram18_tiles(depth, width) == tiles
    assert bram18_tiles(depth, width) * 18 * 1024 >= depth * width


def test_memory_styles() -> None:
    assert map_memory(128, 64).style == "lutram"
    assert map_memory(129, 64).style == "bram"
    assert map_memory(129, 64, has_uram=True).style == "bram"  # too small for a URAM
    assert map_memory(4096, 72, has_uram=True).style == "uram"
    assert map_memory(16384, 16, has_uram=True).style == "bram"  # narrow: URAM would waste 3/4 of its width
    assert (
        map_memory(4096, 72, "bram").bram18 == 16
        and map_memory(4096, 72, "uram").uram == uram_blocks(4096, 72) == 1
    )
    assert lutram_luts(64, 10) == 10 and lutram_luts(65, 10) == 20
    assert lutram_luts(32, 16, writable=True) == 12  # three RAM32M
    with pytest.raises(ValueError):
        map_memory(10, 10, "flipflops")


def test_fifo_model_styles() -> None:
    assert fifo_cost(2, 64).style == "srl"
    assert fifo_cost(64, 8).style == "srl"
    assert fifo_cost(200, 64).style == "lutram"
    assert fifo_cost(1024, 64).style == "bram" and fifo_cost(1024, 64).bram18 == 4
    assert fifo_cost(100_000, 16).style == "bram"
    assert fifo_cost(100_000, 16, has_uram=True).style == "uram"
    for d in (2, 16, 200, 1024):
        assert fifo_cost(d, 64).lut > 0


def test_popcount_costs() -> None:
    assert arith.xnor_popcount_luts(64) == 120
    assert arith.xnor_popcount_luts(1) == 1
    vals = [arith.xnor_popcount_luts(n) for n in range(1, 257)]
    assert vals == sorted(vals)
    # cheaper than FINN's generic multiplier + adder-tree terms for W = A = 1 (2n + 2(2n-1))
    assert all(arith.xnor_popcount_luts(n) < 6 * n - 2 for n in range(2, 257))
    assert arith.mux_luts(1, 8) == 0 and arith.mux_luts(4, 8) == 8 and arith.mux_luts(16, 1) == 4


def test_resources_record() -> None:
    a = Resources(lut=1.2, ff=2, bram18=0.5)
    b = a + a * 2
    assert b.lut == pytest.approx(3.6) and b.rounded() == {
        "lut": 4,
        "ff": 6,
        "bram18": 2,
        "uram": 0,
        "dsp": 0,
    }


# --------------------------------------------------------------------------------------------- dynamic


def test_dynamic_sign_frame_buffer_and_latency(rng) -> None:
    g = resblock_graph(rng, c=16, hw=12)
    m = GraphModel(g)
    e = m.node(g.node("dsign"), Fold(1, 1))
    h, w, c = g.spec(g.node("dsign").inputs[0]).shape
    a = g.spec(g.node("dsign").inputs[0]).dtype.bits
    fb = e.parts["frame_buffer"]
    assert fb.bram18 * 18 * 1024 + fb.lut * 64 >= h * w * c * a  # holds the whole frame
    assert e.need == 1.0 and e.fill >= h * w * c  # the first output waits for the whole frame
    for part in ("statistics", "hyper_weights", "hyper_macs", "compare"):
        assert part in e.parts
    # URAM on parts that have it when asked
    cfg = EstimateConfig(frame_buffer_style="uram", has_uram=True)
    assert GraphModel(g, cfg).node(g.node("dsign"), Fold(1, 1)).parts["frame_buffer"].uram >= 1


def _dynamic_graph(rng, kind: str, squash: str, c: int = 64):
    from hls.estimate.designs import random_hyper
    from hwsim import nodes as N
    from hwsim.types import Fixed
    from tests.hwsim.graphs import build

    hf = random_hyper(rng, c, c if kind == "sign" else 2 * c, squash=squash)
    q = N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 4, True))
    if kind == "sign":
        d = N.DynamicSign(
            name="d", inputs=("q",), outputs=("y",), tau=rng.integers(-30, 30, c), tau_frac=5, hyper=hf
        )
    else:
        d = N.DynamicPReLU(name="d", inputs=("q",), outputs=("y",), gamma=rng.integers(-40, 40, c), gamma_frac=5,
                           zeta=rng.integers(-40, 40, c), zeta_frac=6, beta=rng.integers(-60, 60, c), beta_frac=6,
                           hyper=hf, out=Fixed(8, 4, True))  # fmt: skip
    return build(f"{kind}_{squash}", (8, 8, c), [q, d])


@pytest.mark.parametrize("kind", ["sign", "prelu"])
@pytest.mark.parametrize("pe", [1, 4])
@pytest.mark.parametrize("params", ["rom", "ram"])
def test_tanh_squash_costs_its_threshold_tables(rng, kind, pe, params) -> None:
    """A tanh hyper function (255 thresholds) adds a threshold table and a binary search per PE in place of the
    hardtanh clip: more storage and more LUTs than the hardtanh variant of the same weights, all finite."""
    cfg = EstimateConfig(params=params)
    seed = int(rng.integers(1 << 30))  # the same weights for both variants

    def node(squash: str, p: int):
        g = _dynamic_graph(np.random.default_rng(seed), kind, squash)
        return GraphModel(g, cfg).node(g.node("d"), Fold(p))

    est = {sq: node(sq, pe) for sq in ("hardtanh", "tanh")}
    tanh, hard = est["tanh"], est["hardtanh"]
    assert "squash_table" not in hard.parts and "squash_search" not in hard.parts
    table, search = tanh.parts["squash_table"], tanh.parts["squash_search"]
    for r in (table, search, tanh.resources):
        assert all(np.isfinite(v) and v >= 0 for v in r.as_dict().values())
    assert table.lut > 0 and search.lut > 0 and search.ff > 0
    # storage: per PE at least 255 thresholds of >= 16 bits in LUT ROM (64 bits per LUT6) or LUTRAM
    assert table.lut >= pe * 255 * 16 / 64
    storage = ("squash_table", "delta_buffer", "hyper_weights")
    assert sum(tanh.parts.get(k, Resources()).lut for k in storage) > sum(
        hard.parts.get(k, Resources()).lut for k in storage
    )
    assert tanh.resources.lut > hard.resources.lut
    # twice the PEs: twice the tables and searches
    if pe == 1:
        two = node("tanh", 2).parts
        assert two["squash_table"].lut == 2 * table.lut and two["squash_search"].lut == 2 * search.lut
    assert tanh.cycles == hard.cycles  # the search sits inside the pipelined layer-2 loop


def test_static_equivalent(rng) -> None:
    g = resblock_graph(rng)
    s = static_equivalent(g)
    assert has_dynamic(g) and not has_dynamic(s)
    assert [n.name for n in s.nodes] == [n.name for n in g.nodes]
    assert s.tensors == g.tensors
    kinds = {n.name: n.op_type for n in s.nodes}
    assert kinds["dsign"] == "Sign" and kinds["dprelu"] == "PReLU"
    s.validate()
    d, st = estimate(g, {}, 10.0), estimate(s, {}, 10.0)
    assert d.totals.lut > st.totals.lut and d.totals.bram18 >= st.totals.bram18
    assert d.latency_cycles > st.latency_cycles
    # the static threshold keeps its meaning: q >= thr on the input grid iff q * 2**-f >= tau * 2**-tau_frac
    dn, sn = g.node("dsign"), s.node("dsign")
    f = g.spec(dn.inputs[0]).dtype.frac
    q = np.arange(-2000, 2000)
    for c in range(dn.channels):
        want = q * 2.0**-f >= dn.tau[c] * 2.0**-dn.tau_frac
        np.testing.assert_array_equal(q >= sn.thr[c], want)


def test_shortcut_fifo_spans_the_dynamic_frame(rng) -> None:
    """Forked in front of the DynamicSign (``forward=False``), the shortcut holds the whole frame; written from
    the unit's frame buffer (the design), it holds what arrives while conv1 starts."""
    g = resblock_graph(rng, c=8, hw=6)
    est = estimate(g, {}, 10.0, forward=False)
    depth = est.shortcut_fifos["add1"]["s_b"]  # the shortcut around DynamicSign + conv1
    words = 6 * 6 * 8
    # the whole frame (the dynamic unit emits nothing before it has read it), and the first words of the next
    # frame that the fork delivers while the Add drains this one
    assert words <= depth <= words + 4
    assert est.shortcut_fifos["add1"]["y1"] <= 3
    fwd = estimate(g, {"conv1": Fold(8, 8)}, 10.0).shortcut_fifos["add1"]["s_b"]
    assert fwd < words
    s = estimate(static_equivalent(g), {}, 10.0)
    assert s.shortcut_fifos["add1"]["s_b"] < depth


# --------------------------------------------------------------------------------------------- documents


def test_json_document_schema(rng) -> None:
    g = resblock_graph(rng)
    folding = {"conv1": Fold(2, 4)}
    dev = resolve_part("zcu104")
    est = estimate(g, folding, 5.0, dev)
    doc = to_document(est, folding, g, finn_reference_estimate(g, folding)).to_json()
    json.dumps(doc)  # serializable
    for k in ("totals", "system_totals", "fps", "latency_cycles", "bottleneck", "layers", "folding", "device",
              "utilization", "fits", "static_vs_dynamic"):  # fmt: skip
        assert k in doc, k
    for k in ("totals", "system_totals"):
        assert set(doc[k]) == set(RES_KEYS)
    assert set(doc["layers"][0]) == set(LAYER_KEYS)
    assert doc["folding"]["conv1"] == {"pe": 2, "simd": 4}
    assert doc["system_totals"]["lut"] > doc["totals"]["lut"]
    assert doc["fits"] is True
    sv = doc["static_vs_dynamic"]
    assert {"dynamic", "static", "delta", "dynamic_nodes"} <= set(sv)
    assert {n["name"] for n in sv["dynamic_nodes"]} == {"dsign", "dprelu"}
    assert all(n["extra_latency_cycles"] > 0 for n in sv["dynamic_nodes"])
    csv = to_csv(est)
    assert csv.splitlines()[0] == ",".join(LAYER_KEYS)
    table = format_table(est, finn_reference_estimate(g, folding))
    assert est.bottleneck in table and "fits" in table


def test_finn_reference_on_lfc() -> None:
    """FINN's own formulas for the LFC matrix units: ~44,300 LUT and 175 BRAM18 (issue text)."""
    from hls.estimate.designs import LFC_FOLDING, lfc_w1a1

    g = lfc_w1a1()
    fin = finn_reference_estimate(g, LFC_FOLDING).matrix_totals.rounded()
    assert fin["lut"] == 44_301 and fin["bram18"] == 175
