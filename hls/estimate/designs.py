"""Hand-built hardware graphs of published designs (validation) and of a large DyBNN (timing).

Weights are random (or zero) bits of the right sizes: estimates depend on shapes, types and folding, not on
values.

* :func:`lfc_w1a1` -- BNN-PYNQ ``lfcW1A1``: 784 (padded to 832) -> 1024 -> 1024 -> 1024 -> 10 (padded to 64)
  binary FC layers with thresholds (Xilinx/BNN-PYNQ bnn/src/network/lfcW1A1/hw/config.h, top.cpp).
* :func:`cnv_w1a1` -- CNV-W1A1 at 32x32: 3x3 convs 64, 64, [pool], 128, 128, [pool], 256, 256 (no padding), FC
  512, 512, 10 (BNN-PYNQ pads 10 to 64); the first conv takes the 8-bit image (``ap_fixed<8,1>``).
* :func:`reactnet_a` -- ReActNet-A / DyBNN-ReActNet-A at 224x224, mirroring ``training/models.py``.
* :func:`dybnn_cnv` -- CNV with a DynamicSign after every convolution: a DyBNN without residual shortcuts, where
  the DynamicSign frame buffers may store levels (``buffer_storage: levels``).

:data:`VALIDATION` holds the published numbers with their sources (see docs/estimation.md).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hls.estimate.registry import EstimateConfig
from hls.folding import Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.infer import infer
from hwsim.types import Bipolar, Fixed, Float, TensorSpec

S16 = Fixed(16, 10, True)


def _bits(rng: np.random.Generator | None, shape: tuple[int, ...]) -> np.ndarray:
    if rng is None:
        return np.zeros(shape, np.uint8)
    return rng.integers(0, 2, shape, dtype=np.uint8)


def _ints(rng: np.random.Generator | None, lo: int, hi: int, n: int) -> np.ndarray:
    if rng is None:
        rng = np.random.default_rng(0)
    return rng.integers(lo, hi, n)


def assemble(
    name: str, inputs: dict[str, TensorSpec], nodes: list[N.Node], outputs: list[str] | None = None
) -> HwGraph:
    """A graph from nodes in topological order, every tensor spec inferred."""
    tensors = dict(inputs)
    for n in nodes:
        for t, s in zip(n.outputs, infer(n, [tensors[i] for i in n.inputs]), strict=True):
            tensors[t] = s
    g = HwGraph(name, list(inputs), outputs or list(nodes[-1].outputs), tensors, nodes)
    g.validate()
    return g


def _thr_stage(rng, c: int, k: int) -> N.OutputStage:
    return N.OutputStage("threshold", thr=_ints(rng, -k, k + 1, c), invert=np.zeros(c, np.uint8))


# ------------------------------------------------------------------------------------------------ LFC


def lfc_w1a1(
    rng: np.random.Generator | None = None,
    in_features: int = 784,
    pad_in_to: int | None = 832,
    hidden: int = 1024,
    classes: int = 10,
    pad_out_to: int | None = 64,
    last_threshold: bool = True,
) -> HwGraph:
    """BNN-PYNQ LFC-W1A1. ``pad_*`` pad a matrix dimension for folding (BNN-PYNQ pads MW 784 -> 832 so SIMD 64
    divides it, and MH 10 -> 64 so PE 16 divides it). BNN-PYNQ's last layer also thresholds (``L3_API = 1``,
    ``ThresholdsActivation``); ``last_threshold=False`` gives integer scores instead."""
    mw0 = pad_in_to or in_features
    mh3 = pad_out_to or classes
    dims = [mw0, hidden, hidden, hidden, mh3]
    nodes: list[N.Node] = []
    t = "x"
    for i in range(4):
        cin, cout = dims[i], dims[i + 1]
        last = i == 3
        stage = _thr_stage(rng, cout, cin) if (not last or last_threshold) else N.OutputStage.identity(cout)
        out = "y" if last else f"a{i}"
        nodes.append(
            N.XnorDense(
                name=f"fc{i}", inputs=(t,), outputs=(out,), weights=_bits(rng, (cout, cin)), stage=stage
            )
        )
        t = out
    return assemble("lfc_w1a1", {"x": TensorSpec((mw0,), Bipolar())}, nodes)


#: BNN-PYNQ lfcW1A1 folding (config.h: SIMD, PE = (64, 32), (32, 64), (64, 32), (8, 16))
LFC_FOLDING = {"fc0": Fold(32, 64), "fc1": Fold(64, 32), "fc2": Fold(32, 64), "fc3": Fold(16, 8)}


# ------------------------------------------------------------------------------------------------ CNV


def cnv_w1a1(
    rng: np.random.Generator | None = None, classes: int = 10, pad_out_to: int | None = None
) -> HwGraph:
    """CNV-W1A1 (BNN-PYNQ / finn-examples): 8-bit 32x32x3 input, six unpadded 3x3 binary convs with thresholds
    and two 2x2 max-pools, binary FCs 256 -> 512 -> 512 -> classes (padded to ``pad_out_to``; BNN-PYNQ: 64)
    with a pass-through (integer) last layer."""
    widths = [64, 64, 128, 128, 256, 256]
    nodes: list[N.Node] = []
    t, cin = "x", 3
    for i, c in enumerate(widths):
        out = f"c{i}"
        nodes.append(
            N.XnorConv(
                name=f"conv{i}",
                inputs=(t,),
                outputs=(out,),
                weights=_bits(rng, (c, 3, 3, cin)),
                kernel=(3, 3),
                stride=(1, 1),
                pad=(0, 0, 0, 0),
                pad_value=0,
                stage=_thr_stage(rng, c, 9 * cin),
            )
        )
        t, cin = out, c
        if i in (1, 3):
            nodes.append(
                N.MaxPool(
                    name=f"pool{i // 2}",
                    inputs=(t,),
                    outputs=(f"p{i}",),
                    kernel=(2, 2),
                    stride=(2, 2),
                    pad=(0, 0, 0, 0),
                )
            )
            t = f"p{i}"
    nodes.append(N.Flatten(name="flatten", inputs=(t,), outputs=("f",)))
    nodes += _cnv_classifier(rng, pad_out_to or classes)
    return assemble("cnv_w1a1", {"x": TensorSpec((32, 32, 3), Fixed(8, 7, True))}, nodes)


def _cnv_classifier(rng: np.random.Generator, outputs: int) -> list[N.Node]:
    """CNV's three XnorDense layers (256 -> 512 -> 512 -> ``outputs``) from the flattened ``f`` to ``y``: threshold
    stages on the first two, the identity on the last."""
    dims = [256, 512, 512, outputs]
    nodes: list[N.Node] = []
    t = "f"
    for i in range(3):
        last = i == 2
        out = "y" if last else f"d{i}"
        stage = N.OutputStage.identity(dims[i + 1]) if last else _thr_stage(rng, dims[i + 1], dims[i])
        nodes.append(
            N.XnorDense(name=f"fc{i}", inputs=(t,), outputs=(out,), weights=_bits(rng, (dims[i + 1], dims[i])),
                        stage=stage)
        )  # fmt: skip
        t = out
    return nodes


def dybnn_cnv(
    rng: np.random.Generator | None = None, classes: int = 10, delta_bits: int | None = 8
) -> HwGraph:
    """A DyBNN without residual shortcuts: :func:`cnv_w1a1`'s topology with every convolution's binarization a
    DynamicSign on its 16-bit affine output (after the max-pool where CNV pools), so no frame is also needed in
    full by a shortcut and every site may store levels (``buffer_storage: levels``, :mod:`hls.levels`). A float
    input quantized to 8 bits (so ``dybnn hls`` can generate and C-simulate it). The hyper functions' outputs are requantized to ``delta_bits`` bits (``hyper_delta_bits``; None: the clipped
    ``z``); the FC layers threshold as in CNV."""
    prm = np.random.default_rng(0) if rng is None else rng
    widths = [64, 64, 128, 128, 256, 256]
    nodes: list[N.Node] = [N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 7, True))]
    t, cin = "q", 3
    for i, c in enumerate(widths):
        nodes.append(
            N.XnorConv(
                name=f"conv{i}",
                inputs=(t,),
                outputs=(f"c{i}",),
                weights=_bits(rng, (c, 3, 3, cin)),
                kernel=(3, 3),
                stride=(1, 1),
                pad=(0, 0, 0, 0),
                pad_value=0,
                stage=N.OutputStage("affine", 9, prm.integers(-64, 64, c), prm.integers(-4000, 4000, c), S16),
            )
        )
        t, cin = f"c{i}", c
        if i in (1, 3):
            nodes.append(
                N.MaxPool(name=f"pool{i // 2}", inputs=(t,), outputs=(f"p{i}",), kernel=(2, 2), stride=(2, 2),
                          pad=(0, 0, 0, 0))
            )  # fmt: skip
            t = f"p{i}"
        nodes.append(
            N.DynamicSign(name=f"sign{i}", inputs=(t,), outputs=(f"b{i}",), tau=prm.integers(-300, 300, c),
                          tau_frac=10, hyper=random_hyper(prm, c, c, delta_bits=delta_bits))
        )  # fmt: skip
        t = f"b{i}"
    nodes.append(N.Flatten(name="flatten", inputs=(t,), outputs=("f",)))
    nodes += _cnv_classifier(rng, classes)
    return assemble("dybnn_cnv", {"x": TensorSpec((32, 32, 3), Float())}, nodes)


_CNV_MATRIX = ["conv0", "conv1", "conv2", "conv3", "conv4", "conv5", "fc0", "fc1", "fc2"]
#: finn-examples cnv_w1a1 matrix-unit folding (PE, SIMD), as given in the issue
CNV_FINN_EXAMPLES_FOLDING = dict(
    zip(
        _CNV_MATRIX,
        [
            Fold(p, s)
            for p, s in [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8), (5, 1)]
        ],
        strict=True,
    )
)
#: BNN-PYNQ cnvW1A1 folding (config.h), last layer MH padded to 64 with PE 4
CNV_BNN_PYNQ_FOLDING = {**CNV_FINN_EXAMPLES_FOLDING, "fc2": Fold(4, 1)}
#: StreamingMaxPool_Batch and the flatten move a whole pixel (all channels) per cycle in BNN-PYNQ
CNV_STREAM_FOLDING = {"pool0": Fold(64, 1), "pool1": Fold(128, 1), "flatten": Fold(256, 1)}


# ------------------------------------------------------------------------------------------------ ReActNet-A


def random_hyper(
    rng: np.random.Generator,
    c: int,
    outs: int,
    reduction: int = 16,
    min_hidden: int = 4,
    squash: str = "hardtanh",
    delta_bits: int | None = None,
) -> N.HyperFunction:
    """A DyBNN hyper function with random integer parameters on typical grids (for designs and tests).

    ``squash="tanh"``: the output is ``round(tanh(z) * 2**(b-1))`` in ``b = delta_bits or 8`` bits (numpy's
    float64 tanh as the golden function), realized by :attr:`~hwsim.nodes.HyperFunction.squash_thr`.
    ``squash="hardtanh"`` with ``delta_bits``: the clip is requantized to ``delta_bits`` bits on [-1, 1) (the
    ``act`` of a trained model, ``training.layers.HyperConfig.delta_bits``); without, ``delta`` is the clipped
    ``z`` itself."""
    hd = max(c // reduction, min_hidden)
    hf = N.HyperFunction(
        pool_shift=4,
        stat=Fixed(8, 4, True),
        w1=rng.integers(-127, 128, (hd, c)),
        w1_frac=7,
        b1=rng.integers(-2000, 2000, hd),
        b1_frac=12,
        hidden=Fixed(8, 4, False),
        w2=rng.integers(-127, 128, (outs, hd)),
        w2_frac=9,
        b2=rng.integers(-3000, 3000, outs),
        b2_frac=14,
        lam_log2=-1,
    )
    if delta_bits is not None and not 2 <= delta_bits <= 16:
        raise ValueError(f"delta_bits must be in [2, 16], got {delta_bits}")
    if squash == "hardtanh":
        return (
            hf if delta_bits is None else dataclasses.replace(hf, act=Fixed(delta_bits, delta_bits - 1, True))
        )
    if squash != "tanh":
        raise ValueError(f"squash must be 'hardtanh' or 'tanh', got {squash!r}")
    from hwsim.squash import squash_thresholds, z_bounds

    b = delta_bits or 8
    act = Fixed(b, b - 1, True)
    lo, hi = z_bounds(hf)

    def levels(z: np.ndarray) -> np.ndarray:
        v = np.tanh(np.ldexp(z.astype(np.float64), -hf.z_frac))
        return np.clip(np.round(np.ldexp(v, act.frac)), act.lo, act.hi).astype(np.int64)

    return dataclasses.replace(hf, act=act, squash_thr=squash_thresholds(levels, lo, hi, act))


def reactnet_a(
    rng: np.random.Generator | None = None,
    dynamic: bool = True,
    resolution: int = 224,
    width_mult: float = 1.0,
    classes: int = 1000,
    context: str = "self",
    delta_bits: int | None = None,
) -> HwGraph:
    """ReActNet-A (``dynamic=False``) or DyBNN-ReActNet-A (``dynamic=True``) as a hardware graph, mirroring
    ``training.models.ReActNetA``: 8-bit input, real 3x3 s2 stem 3->32, 13 blocks (3x3 sub-block with
    avg-pooled shortcut when strided, 1x1 sub-block with two convs concatenated when the width doubles), sign
    before every binary conv (DynamicSign if dynamic), RPReLU (DynamicPReLU) after every add, global sum-shift
    pool, real FC. Binary weights are zeros when ``rng`` is None (fast to build; values do not change
    estimates). ``context="stem"`` (with ``dynamic``): the ``hyper_context: stem`` variant, a HyperContext node on
    the stem's output whose context vector every dynamic unit reads (``docs/hyper-context.md``). ``delta_bits``:
    the hyper functions' outputs requantized to that many bits, as in a trained model
    (``training.layers.HyperConfig.delta_bits``); None: the clipped ``z`` unquantized (16 bits here)."""
    if context not in ("self", "stem"):
        raise ValueError(f"context must be 'self' or 'stem', got {context!r}")
    prm = np.random.default_rng(0) if rng is None else rng
    wm = width_mult
    widths = [
        max(8, int(round(w * wm))) for w in (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
    ]
    stem_c = max(8, int(round(32 * wm)))
    nodes: list[N.Node] = []
    ctx = "k" if dynamic and context == "stem" else None

    def hyper(c: int, outs: int) -> N.HyperFunction:
        hf = random_hyper(prm, c, outs, delta_bits=delta_bits)
        if ctx is None:
            return hf
        w1 = prm.integers(-127, 128, (hf.n_hidden, stem_c))  # layer 1 reads the stem's C0 statistics
        return dataclasses.replace(hf, w1=w1, context=True, pool_shift=0, pre=None)

    def ins(x: str) -> tuple[str, ...]:
        return (x,) if ctx is None else (x, ctx)

    def affine(c: int, out: Fixed | None = None) -> N.OutputStage:
        return N.OutputStage("affine", 9, prm.integers(-64, 64, c), prm.integers(-4000, 4000, c), out)

    def sign(name: str, x: str, out: str, c: int) -> None:
        if dynamic:
            nodes.append(
                N.DynamicSign(
                    name=name,
                    inputs=ins(x),
                    outputs=(out,),
                    tau=prm.integers(-300, 300, c),
                    tau_frac=10,
                    hyper=hyper(c, c),
                )
            )
        else:
            nodes.append(
                N.Sign(
                    name=name,
                    inputs=(x,),
                    outputs=(out,),
                    thr=prm.integers(-300, 300, c),
                    invert=np.zeros(c, np.uint8),
                )
            )

    def prelu(name: str, x: str, out: str, c: int) -> None:
        kw = dict(
            gamma=prm.integers(-400, 400, c), gamma_frac=10, zeta=prm.integers(-400, 400, c), zeta_frac=10,
            beta=prm.integers(-60, 60, c), beta_frac=7, out=S16,
        )  # fmt: skip
        if dynamic:
            nodes.append(
                N.DynamicPReLU(name=name, inputs=ins(x), outputs=(out,), hyper=hyper(c, 2 * c), **kw)
            )
        else:
            nodes.append(N.PReLU(name=name, inputs=(x,), outputs=(out,), **kw))

    nodes.append(N.InputQuant(name="inq", inputs=("x",), outputs=("q",), out=Fixed(8, 5, True)))
    nodes.append(
        N.FixedConv(
            name="stem",
            inputs=("q",),
            outputs=("s",),
            weights=prm.integers(-127, 128, (stem_c, 3, 3, 3)),
            w_bits=8,
            w_frac=7,
            kernel=(3, 3),
            stride=(2, 2),
            pad=(1, 1, 1, 1),
            stage=affine(stem_c, S16),
        )
    )
    x, cin = "s", stem_c
    if ctx is not None:  # the one frame buffer: the stem's output waits here for its statistics
        hw0 = (resolution // 2) ** 2
        nodes.append(
            N.HyperContext(
                name="context", inputs=("s",), outputs=("s_ctx", ctx), shift=math.ceil(math.log2(hw0)),
                stat=Fixed(8, 4, True), pre=Fixed(8, S16.frac - 8, True),
            )
        )  # fmt: skip
        x = "s_ctx"
    for i, cout in enumerate(widths):
        stride = 2 if (cout != cin and i > 0) else 1
        p = f"b{i}"
        # 3x3 sub-block
        nodes.append(N.Duplicate(name=f"{p}_dup0", inputs=(x,), outputs=(f"{p}_xa", f"{p}_xb")))
        sign(f"{p}_sign0", f"{p}_xa", f"{p}_s0", cin)
        nodes.append(
            N.XnorConv(
                name=f"{p}_conv3",
                inputs=(f"{p}_s0",),
                outputs=(f"{p}_y0",),
                weights=_bits(rng, (cin, 3, 3, cin)),
                kernel=(3, 3),
                stride=(stride, stride),
                pad=(1, 1, 1, 1),
                pad_value=0,
                stage=affine(cin),
            )
        )
        sc = f"{p}_xb"
        if stride == 2:
            nodes.append(
                N.AvgPool(
                    name=f"{p}_pool",
                    inputs=(sc,),
                    outputs=(f"{p}_sc",),
                    kernel=(2, 2),
                    stride=(2, 2),
                    out=None,
                )
            )
            sc = f"{p}_sc"
        nodes.append(N.Add(name=f"{p}_add0", inputs=(f"{p}_y0", sc), outputs=(f"{p}_r0",), out=S16))
        prelu(f"{p}_prelu0", f"{p}_r0", f"{p}_p0", cin)
        # 1x1 sub-block
        parts = 1 if cout == cin else 2
        shortcuts = tuple(f"{p}_xs{j}" for j in range(parts))
        nodes.append(N.Duplicate(name=f"{p}_dup1", inputs=(f"{p}_p0",), outputs=(f"{p}_xa1", *shortcuts)))
        sign(f"{p}_sign1", f"{p}_xa1", f"{p}_s1", cin)
        bins = [f"{p}_s1"]
        if parts == 2:
            bins = [f"{p}_s1a", f"{p}_s1b"]
            nodes.append(N.Duplicate(name=f"{p}_dupb", inputs=(f"{p}_s1",), outputs=tuple(bins)))
        ys = []
        for j in range(parts):
            nodes.append(
                N.XnorConv(
                    name=f"{p}_conv1_{j}",
                    inputs=(bins[j],),
                    outputs=(f"{p}_y1_{j}",),
                    weights=_bits(rng, (cin, 1, 1, cin)),
                    kernel=(1, 1),
                    stride=(1, 1),
                    pad=(0, 0, 0, 0),
                    pad_value=0,
                    stage=affine(cin),
                )
            )
            nodes.append(
                N.Add(
                    name=f"{p}_add1_{j}",
                    inputs=(f"{p}_y1_{j}", shortcuts[j]),
                    outputs=(f"{p}_r1_{j}",),
                    out=S16,
                )
            )
            ys.append(f"{p}_r1_{j}")
        if parts == 2:
            nodes.append(N.Concat(name=f"{p}_cat", inputs=tuple(ys), outputs=(f"{p}_cat",)))
            y = f"{p}_cat"
        else:
            y = ys[0]
        prelu(f"{p}_prelu1", y, f"{p}_out", cout)
        x, cin = f"{p}_out", cout
    hw = (resolution // 32) ** 2
    nodes.append(
        N.GlobalPool(
            name="gap",
            inputs=(x,),
            outputs=("g",),
            shift=math.ceil(math.log2(max(2, hw))),
            out=Fixed(8, 6, True),
        )
    )
    nodes.append(
        N.FixedDense(
            name="fc",
            inputs=("g",),
            outputs=("logits",),
            weights=prm.integers(-127, 128, (classes, cin)),
            w_bits=8,
            w_frac=7,
            stage=N.OutputStage(
                "affine", 13, np.ones(classes, np.int64), prm.integers(-9000, 9000, classes), None
            ),
        )
    )
    name = ("dybnn-reactnet-a" if ctx is None else "dybnn-reactnet-a-stem") if dynamic else "reactnet-a"
    return assemble(name, {"x": TensorSpec((resolution, resolution, 3), Float())}, nodes)


# ------------------------------------------------------------------------------------------------ validation


@dataclass(frozen=True)
class Published:
    """Numbers a design was published with, and where."""

    source: str
    lut: int | None = None
    ff: int | None = None
    bram18: int | None = None
    dsp: int | None = None
    fps: float | None = None
    max_cycles: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ValidationCase:
    name: str
    build: Callable[[], HwGraph]
    folding: Callable[[HwGraph], dict[str, Fold]]
    part: str
    clock_ns: float
    cfg: EstimateConfig
    published: Published
    #: which numbers the case validates ("resources", "fps")
    checks: tuple[str, ...] = field(default=("resources",))


def _lfc_folding(g: HwGraph) -> dict[str, Fold]:
    return dict(LFC_FOLDING)


def _cnv_folding(matrix: dict[str, Fold]) -> Callable[[HwGraph], dict[str, Fold]]:
    def fold(g: HwGraph) -> dict[str, Fold]:
        from hls.estimate.search import complete_folding

        return complete_folding(g, {**matrix, **CNV_STREAM_FOLDING})

    return fold


#: BNN-PYNQ loads weights and thresholds at run time (DoMemInit over AXI-lite) into 16-bit threshold memories
#: (``ThresholdsActivation<..., ap_int<16>, ...>``, top.cpp)
BNN_PYNQ_CFG = EstimateConfig(params="ram", acc_bits=16)
#: lfcW1A1/hw/top.cpp: ``memInStrm`` / ``memOutStrm`` of depth 1024 x 64 bits, ``interN`` of depth 512/PE
LFC_CFG = EstimateConfig(
    params="ram",
    acc_bits=16,
    io_fifo_depth=1024,
    io_width=64,
    fifo_depths=(("fc1", 16), ("fc2", 8), ("fc3", 16)),
)
#: cnvW1A1/hw/top.cpp ``#pragma HLS STREAM depth=`` of the streams into each layer
CNV_BNN_PYNQ_CFG = EstimateConfig(
    params="ram",
    acc_bits=16,
    fifo_depths=(("conv0", 128), ("conv1", 128), ("conv2", 128), ("conv3", 128), ("conv4", 81), ("conv5", 1),
                 ("fc0", 1), ("fc1", 128), ("fc2", 3)),
)  # fmt: skip

VALIDATION: dict[str, ValidationCase] = {
    "lfc_w1a1": ValidationCase(
        name="BNN-PYNQ lfcW1A1 on Pynq-Z1, 100 MHz",
        build=lambda: lfc_w1a1(np.random.default_rng(0)),
        folding=_lfc_folding,
        part="pynq-z1",
        clock_ns=10.0,
        cfg=LFC_CFG,
        published=Published(
            source="Xilinx/BNN-PYNQ bnn/src/network/lfcW1A1/README.md (Vivado 2018.2 utilization report, "
            "whole design incl. PS interconnect and DMA, Pynq-Z1/Z2)",
            lut=28_360,
            ff=33_470,
            bram18=6 * 2 + 208,
            dsp=4,
            note="6 RAMB36 + 208 RAMB18",
        ),
    ),
    "cnv_w1a1_bnn_pynq": ValidationCase(
        name="BNN-PYNQ cnvW1A1 on Pynq-Z1, 100 MHz",
        build=lambda: cnv_w1a1(np.random.default_rng(0), pad_out_to=64),
        folding=_cnv_folding(CNV_BNN_PYNQ_FOLDING),
        part="pynq-z1",
        clock_ns=10.0,
        cfg=CNV_BNN_PYNQ_CFG,
        published=Published(
            source="Xilinx/BNN-PYNQ bnn/src/network/cnvW1A1/README.md (Vivado 2018.2 utilization report, "
            "Pynq-Z1/Z2)",
            lut=26_072,
            ff=41_312,
            bram18=76 * 2 + 96,
            dsp=24,
            note="76 RAMB36 + 96 RAMB18; not an acceptance target (informative)",
        ),
    ),
    "cnv_w1a1_finn_examples": ValidationCase(
        name="finn-examples cnv_w1a1 on Pynq-Z1, 100 MHz",
        build=lambda: cnv_w1a1(np.random.default_rng(0)),
        folding=_cnv_folding(CNV_FINN_EXAMPLES_FOLDING),
        part="pynq-z1",
        clock_ns=10.0,
        cfg=EstimateConfig(),
        published=Published(
            source="finn-examples cnv_w1a1 (Pynq-Z1, 100 MHz), measured throughput as quoted in the issue "
            "'Estimators and folding'",
            fps=3_020.5,
            max_cycles=32_768,
        ),
        checks=("fps",),
    ),
}


def run_validation(key: str) -> dict[str, Any]:
    """Estimate a :data:`VALIDATION` case; ours (system = accelerator + shell), FINN's formulas, the published
    numbers, and the relative errors ``ours / published - 1``."""
    from hls.devices import resolve_part
    from hls.estimate.finn import finn_reference_estimate
    from hls.estimate.pipeline import GraphModel, config_for

    case = VALIDATION[key]
    g = case.build()
    folding = case.folding(g)
    device = resolve_part(case.part)
    m = GraphModel(g, config_for(device, case.cfg))
    est = m.estimate(folding, case.clock_ns, device)
    fin = finn_reference_estimate(g, folding)
    ours = est.system_totals.rounded()
    pub = case.published
    err: dict[str, float] = {}
    for k in ("lut", "ff", "bram18", "dsp"):
        p = getattr(pub, k)
        if p:
            err[k] = ours[k] / p - 1
    if pub.fps:
        err["fps"] = est.fps / pub.fps - 1
    return {
        "key": key,
        "name": case.name,
        "graph": g,
        "folding": folding,
        "estimate": est,
        "ours_accelerator": est.totals.rounded(),
        "ours_system": ours,
        "finn": fin.totals.rounded(),
        "finn_matrix": fin.matrix_totals.rounded(),
        "published": pub,
        "error": err,
        "fps": est.fps,
        "max_cycles": est.max_cycles,
        "bottleneck": est.bottleneck,
        "latency_cycles": est.latency_cycles,
        "finn_critical_path_cycles": m.critical_path_cycles(folding),
    }
