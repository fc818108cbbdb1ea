"""Model registry: ReActNet, DyBNN and the classic FINN / BNN-PYNQ binary topologies.

Every model takes a float input ``(N, C, H, W)``, quantizes it at its input (8-bit fixed point, or a sign for
the binarized-input FC networks) and returns float logits that lie on a fixed-point grid. Build one with
:func:`build_model`; list them with :data:`MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from training.layers import (
    BinaryConv2d,
    BinaryLinear,
    DyPReLU,
    DySign,
    FixedConv2d,
    FixedLinear,
    FoldableBatchNorm2d,
    GlobalSumShift,
    HyperConfig,
    HyperContext,
    RPReLU,
    RSign,
    binary_act,
    fixed_act,
)


@dataclass(frozen=True)
class ModelConfig:
    """Options shared by the ReActNet / DyBNN models (every DyBNN reading choice is a field)."""

    #: True: DySign + DyPReLU (DyBNN); False: RSign + RPReLU (ReActNet)
    dynamic: bool = False
    #: activation straight-through estimator: "approxsign" (ReActNet) or "hardtanh" (BNN)
    ste: str = "approxsign"
    #: value of the padded border of binary 3x3 convs: 0 (ReActNet), +1 or -1
    pad_value: float = 0.0
    #: hyper-function options (DyBNN only)
    hyper: HyperConfig = field(default_factory=HyperConfig)
    #: channel width multiplier (1.0 = published widths)
    width_mult: float = 1.0


def hyper_context(cfg: ModelConfig, channels: int) -> HyperContext | None:
    """The shared :class:`~training.layers.HyperContext` of a DyBNN with ``hyper.context == "stem"`` on a stem of
    ``channels`` channels, else None."""
    return HyperContext(channels) if cfg.dynamic and cfg.hyper.context == "stem" else None


class Residual3x3(nn.Module):
    """ReActNet-A's first sub-block: sign -> binary 3x3 conv -> BN -> + shortcut (avg-pooled if strided) -> RPReLU."""

    def __init__(self, c: int, stride: int, cfg: ModelConfig, ctx: HyperContext | None = None) -> None:
        super().__init__()
        self.sign = DySign(c, cfg.ste, cfg.hyper, ctx) if cfg.dynamic else RSign(c, cfg.ste)
        self.conv = BinaryConv2d(c, c, 3, stride=stride, padding=1, pad_value=cfg.pad_value)
        self.bn = FoldableBatchNorm2d(c)
        self.pool = nn.AvgPool2d(2) if stride == 2 else None
        self.add_q = fixed_act(16)
        self.prelu = DyPReLU(c, cfg.hyper, ctx) if cfg.dynamic else RPReLU(c)
        self.out_q = fixed_act(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(self.sign(x)))
        sc = self.pool(x) if self.pool is not None else x
        y = self.add_q(y + sc)
        return self.out_q(self.prelu(y))


class Residual1x1(nn.Module):
    """ReActNet-A's second sub-block: sign -> binary 1x1 conv(s) -> BN -> + shortcut -> RPReLU.

    When the width doubles, two 1x1 convs each add the same shortcut and their outputs are concatenated.
    """

    def __init__(self, cin: int, cout: int, cfg: ModelConfig, ctx: HyperContext | None = None) -> None:
        super().__init__()
        if cout not in (cin, 2 * cin):
            raise ValueError(f"1x1 sub-block widths must keep or double the width, got {cin}->{cout}")
        self.sign = DySign(cin, cfg.ste, cfg.hyper, ctx) if cfg.dynamic else RSign(cin, cfg.ste)
        parts = 1 if cout == cin else 2
        self.convs = nn.ModuleList(BinaryConv2d(cin, cin, 1) for _ in range(parts))
        self.bns = nn.ModuleList(FoldableBatchNorm2d(cin) for _ in range(parts))
        self.add_qs = nn.ModuleList(fixed_act(16) for _ in range(parts))
        self.prelu = DyPReLU(cout, cfg.hyper, ctx) if cfg.dynamic else RPReLU(cout)
        self.out_q = fixed_act(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.sign(x)
        ys = [q(bn(conv(b)) + x) for conv, bn, q in zip(self.convs, self.bns, self.add_qs, strict=True)]
        y = ys[0] if len(ys) == 1 else torch.cat(ys, dim=1)
        return self.out_q(self.prelu(y))


class ReActBlockA(nn.Sequential):
    """One ReActNet-A (MobileNetV1-shaped) block: a 3x3 sub-block then a 1x1 sub-block."""

    def __init__(
        self, cin: int, cout: int, stride: int, cfg: ModelConfig, ctx: HyperContext | None = None
    ) -> None:
        super().__init__(Residual3x3(cin, stride, cfg, ctx), Residual1x1(cin, cout, cfg, ctx))


class ReActNetA(nn.Module):
    """ReActNet-A / DyBNN-ReActNet-A: real stem, ReActNet-A blocks, sum-shift pool, real classifier.

    Args:
        widths: output width of each block; a block is strided where the width changes (except the first).
        stem_channels / stem_stride: the real 3x3 stem conv.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        widths: list[int],
        stem_channels: int,
        stem_stride: int,
        cfg: ModelConfig,
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_q = fixed_act(8, quant_tensor=True)
        self.stem = FixedConv2d(in_channels, stem_channels, 3, stride=stem_stride, padding=1)
        self.stem_bn = FoldableBatchNorm2d(stem_channels, into=self.stem)
        self.stem_q = fixed_act(16)
        self.context = hyper_context(cfg, stem_channels)
        blocks = []
        cin = stem_channels
        for i, cout in enumerate(widths):
            stride = 2 if (cout != cin and i > 0) else 1
            blocks.append(ReActBlockA(cin, cout, stride, cfg, self.context))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.pool = GlobalSumShift()
        self.pool_q = fixed_act(8)
        self.classifier = FixedLinear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_q(self.stem_bn(self.stem(self.in_q(x))))
        if self.context is not None:
            self.context(x)  # the hyper functions' context, once per image, before the blocks read it
        x = self.blocks(x)
        return self.classifier(self.pool_q(self.pool(x)))


class BasicBlock18(nn.Module):
    """ReAct-ResNet-18 (Bi-Real) block: sign -> binary 3x3 conv -> BN -> + shortcut -> RPReLU.

    The downsampling shortcut is 2x2 avg-pool -> 8-bit requantization -> real 1x1 conv -> BN.
    """

    def __init__(
        self, cin: int, cout: int, stride: int, cfg: ModelConfig, ctx: HyperContext | None = None
    ) -> None:
        super().__init__()
        self.sign = DySign(cin, cfg.ste, cfg.hyper, ctx) if cfg.dynamic else RSign(cin, cfg.ste)
        self.conv = BinaryConv2d(cin, cout, 3, stride=stride, padding=1, pad_value=cfg.pad_value)
        self.bn = FoldableBatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            conv = FixedConv2d(cin, cout, 1)
            self.down = nn.Sequential(
                nn.AvgPool2d(2) if stride == 2 else nn.Identity(),
                fixed_act(8, quant_tensor=True),
                conv,
                FoldableBatchNorm2d(cout, into=conv),
            )
        self.add_q = fixed_act(16)
        self.prelu = DyPReLU(cout, cfg.hyper, ctx) if cfg.dynamic else RPReLU(cout)
        self.out_q = fixed_act(16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn(self.conv(self.sign(x)))
        sc = self.down(x) if self.down is not None else x
        return self.out_q(self.prelu(self.add_q(y + sc)))


class ReActResNet18(nn.Module):
    """ReAct-ResNet-18 / DyBNN-ReAct-ResNet-18: 7x7 s2 stem + BN + 3x3 max-pool, 4 stages x 4 blocks, real FC."""

    def __init__(self, in_channels: int, num_classes: int, widths: list[int], cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_q = fixed_act(8, quant_tensor=True)
        self.stem = FixedConv2d(in_channels, widths[0], 7, stride=2, padding=3)
        self.stem_bn = FoldableBatchNorm2d(widths[0], into=self.stem)
        self.stem_q = fixed_act(16)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.context = hyper_context(cfg, widths[0])
        blocks = []
        cin = widths[0]
        for s, w in enumerate(widths):
            for j in range(4):
                stride = 2 if (j == 0 and s > 0) else 1
                blocks.append(BasicBlock18(cin, w, stride, cfg, self.context))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.pool = GlobalSumShift()
        self.pool_q = fixed_act(8)
        self.classifier = FixedLinear(cin, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.stem_q(self.stem_bn(self.stem(self.in_q(x)))))
        if self.context is not None:
            self.context(x)
        x = self.blocks(x)
        return self.classifier(self.pool_q(self.pool(x)))


class BinaryFC(nn.Module):
    """BNN-PYNQ / FINN fully connected W1A1 network (TFC/SFC/LFC): binarized input, binary FC + BN + sign layers.

    The last layer's BatchNorm folds to a scale-bias that produces the logits.
    """

    def __init__(self, in_features: int, num_classes: int, hidden: list[int], cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.in_sign = binary_act(cfg.ste)
        layers: list[nn.Module] = []
        cin = in_features
        for h in hidden:
            layers += [BinaryLinear(cin, h), FoldableBatchNorm2d(h, ndim=2), binary_act(cfg.ste)]
            cin = h
        layers += [BinaryLinear(cin, num_classes), FoldableBatchNorm2d(num_classes, ndim=2)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(self.in_sign(torch.flatten(x, 1)))


class BinaryCNV(nn.Module):
    """BNN-PYNQ CNV W1A1: six valid 3x3 binary convs (64,64,128,128,256,256) with 2x2 max-pooling after the 2nd
    and 4th, two binary FC 512, a binary FC classifier. The first conv takes the 8-bit image."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        spatial: int,
        cfg: ModelConfig,
        widths=(64, 64, 128, 128, 256, 256),
    ) -> None:
        super().__init__()
        self.cfg = cfg
        # a QuantTensor: the first binary conv's output grid (image scale x weight scale) holds the folded bias
        self.in_q = fixed_act(8, quant_tensor=True)
        feats: list[nn.Module] = []
        cin, s = in_channels, spatial
        for i, w in enumerate(widths):
            feats += [
                BinaryConv2d(cin, w, 3, weight_scale="unit"),
                FoldableBatchNorm2d(w),
                binary_act(cfg.ste),
            ]
            s -= 2
            if i in (1, 3):
                feats.append(nn.MaxPool2d(2))
                s //= 2
            cin = w
        if s < 1:
            raise ValueError(f"cnv-w1a1 needs a larger input than {spatial}x{spatial}")
        self.features = nn.Sequential(*feats)
        fc_in = cin * s * s
        self.classifier = BinaryFC(fc_in, num_classes, [512, 512], cfg).layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(self.in_q(x)), 1))


@dataclass(frozen=True)
class ModelSpec:
    """A registry entry."""

    name: str
    description: str
    #: (C, H, W) of the published configuration
    input_shape: tuple[int, int, int]
    num_classes: int
    builder: Callable[..., nn.Module]
    family: str


def _reactnet_a(dynamic: bool):
    def build(input_shape, num_classes, cfg: ModelConfig):
        wm = cfg.width_mult
        widths = [
            max(8, int(round(w * wm)))
            for w in (64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024)
        ]
        return ReActNetA(
            input_shape[0], num_classes, widths, max(8, int(round(32 * wm))), 2, replace(cfg, dynamic=dynamic)
        )

    return build


def _react_resnet18(dynamic: bool):
    def build(input_shape, num_classes, cfg: ModelConfig):
        widths = [max(8, int(round(w * cfg.width_mult))) for w in (64, 128, 256, 512)]
        return ReActResNet18(input_shape[0], num_classes, widths, replace(cfg, dynamic=dynamic))

    return build


def _tiny(dynamic: bool, context: str | None = None):
    def build(input_shape, num_classes, cfg: ModelConfig):
        if context is not None:
            cfg = replace(cfg, hyper=replace(cfg.hyper, context=context))
        wm = cfg.width_mult
        widths = [max(8, int(round(w * wm))) for w in (32, 64, 64)]
        return ReActNetA(
            input_shape[0], num_classes, widths, max(8, int(round(32 * wm))), 2, replace(cfg, dynamic=dynamic)
        )

    return build


def _fc(hidden: int):
    def build(input_shape, num_classes, cfg: ModelConfig):
        c, h, w = input_shape
        return BinaryFC(c * h * w, num_classes, [hidden] * 3, replace(cfg, ste="hardtanh"))

    return build


def _cnv(input_shape, num_classes, cfg: ModelConfig):
    return BinaryCNV(input_shape[0], num_classes, input_shape[1], replace(cfg, ste="hardtanh"))


MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec(
            "reactnet-a",
            "ReActNet-A (MobileNetV1 backbone), ImageNet",
            (3, 224, 224),
            1000,
            _reactnet_a(False),
            "reactnet",
        ),
        ModelSpec(
            "react-resnet18",
            "ReAct-ResNet-18 (Bi-Real-18 backbone), ImageNet",
            (3, 224, 224),
            1000,
            _react_resnet18(False),
            "reactnet",
        ),
        ModelSpec(
            "dybnn-reactnet-a",
            "DyBNN on ReActNet-A: DySign + DyPReLU",
            (3, 224, 224),
            1000,
            _reactnet_a(True),
            "dybnn",
        ),
        ModelSpec(
            "dybnn-react-resnet18",
            "DyBNN on ReAct-ResNet-18: DySign + DyPReLU",
            (3, 224, 224),
            1000,
            _react_resnet18(True),
            "dybnn",
        ),
        ModelSpec(
            "reactnet-tiny",
            "3-block ReActNet-A for 28x28/32x32 images",
            (1, 28, 28),
            10,
            _tiny(False),
            "reactnet",
        ),
        ModelSpec(
            "dybnn-tiny",
            "3-block DyBNN (ReActNet-A style) for 28x28/32x32 images",
            (1, 28, 28),
            10,
            _tiny(True),
            "dybnn",
        ),
        ModelSpec(
            "dybnn-tiny-stem",
            "dybnn-tiny with hyper_context: stem (every hyper function reads one context pooled from the stem)",
            (1, 28, 28),
            10,
            _tiny(True, "stem"),
            "dybnn",
        ),
        ModelSpec(
            "tfc-w1a1", "BNN-PYNQ TFC: 3 x 64 binary FC, binarized input", (1, 28, 28), 10, _fc(64), "finn"
        ),
        ModelSpec(
            "sfc-w1a1", "BNN-PYNQ SFC: 3 x 256 binary FC, binarized input", (1, 28, 28), 10, _fc(256), "finn"
        ),
        ModelSpec(
            "lfc-w1a1",
            "BNN-PYNQ LFC: 3 x 1024 binary FC, binarized input",
            (1, 28, 28),
            10,
            _fc(1024),
            "finn",
        ),
        ModelSpec(
            "cnv-w1a1",
            "BNN-PYNQ CNV: 6 valid binary 3x3 convs, 2 max-pools, 3 binary FC, 8-bit input",
            (3, 32, 32),
            10,
            _cnv,
            "finn",
        ),
    ]
}


class UnknownModelError(ValueError):
    pass


def get_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise UnknownModelError(f"unknown model {name!r}; valid models: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(
    name: str,
    input_shape: tuple[int, int, int] | None = None,
    num_classes: int | None = None,
    cfg: ModelConfig | None = None,
) -> nn.Module:
    """Build a registered model; ``input_shape``/``num_classes`` default to the published configuration."""
    spec = get_spec(name)
    shape = tuple(input_shape) if input_shape is not None else spec.input_shape
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W) with positive sizes, got {shape}")
    model = spec.builder(shape, num_classes or spec.num_classes, cfg or ModelConfig())
    model.model_name = name
    model.input_shape = shape
    model.num_classes = num_classes or spec.num_classes
    return model
