"""Base class of hardware-graph nodes, shared sub-records, and array validation helpers.

A node is a frozen dataclass with typed integer fields and validated numpy integer arrays. Execution, code
generation and estimation are not methods of the node: they live in registries keyed by node type
(:mod:`hwsim.reference`, :mod:`hwsim.kernels`, :mod:`hls.emit`, :mod:`hls.estimate`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hwsim.types import Fixed

NODE_TYPES: dict[str, type[Node]] = {}


class NodeValidationError(ValueError):
    """A node's fields are inconsistent; the message names the node and the field."""


def check_array(
    node: str,
    fname: str,
    a: Any,
    ndim: int | None = None,
    shape: tuple | None = None,
    kind: str = "i",
    bits: int | None = None,
):
    """Validate one array field: numpy, integer (``kind='i'``) or unsigned bits (``kind='b'``), ndim/shape, and
    with ``bits`` the signed ``bits``-bit range."""
    if not isinstance(a, np.ndarray):
        raise NodeValidationError(
            f"node {node!r}: field {fname!r} must be a numpy array, got {type(a).__name__}"
        )
    if not np.issubdtype(a.dtype, np.integer) and a.dtype != np.bool_:
        raise NodeValidationError(f"node {node!r}: field {fname!r} must have an integer dtype, got {a.dtype}")
    if kind == "b" and a.size and not np.all((a == 0) | (a == 1)):
        raise NodeValidationError(f"node {node!r}: field {fname!r} must hold bits 0/1")
    if ndim is not None and a.ndim != ndim:
        raise NodeValidationError(
            f"node {node!r}: field {fname!r} must have {ndim} dims, got shape {a.shape}"
        )
    if shape is not None:
        for i, (want, got) in enumerate(zip(shape, a.shape, strict=False)):
            if want is not None and want != got:
                raise NodeValidationError(
                    f"node {node!r}: field {fname!r} has shape {a.shape}, expected {shape} (axis {i})"
                )
    if bits is not None and a.size:
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        if a.min() < lo or a.max() > hi:
            raise NodeValidationError(f"node {node!r}: {fname} exceed the signed {bits}-bit range")
    return a


def check_inputs(node: Node) -> None:
    """A dynamic unit reads ``x`` and, exactly when its hyper function is a context one, the context vector."""
    want = 2 if node.hyper.context else 1
    if len(node.inputs) != want:
        raise NodeValidationError(
            f"node {node.name!r} ({node.op_type}) takes {want} input(s) "
            f"({'x, context' if want == 2 else 'x'}), got {len(node.inputs)}"
        )


def check_pair(node: str, fname: str, v: Any, minimum: int = 0) -> tuple[int, ...]:
    if not isinstance(v, tuple) or not all(isinstance(x, int) for x in v):
        raise NodeValidationError(f"node {node!r}: field {fname!r} must be a tuple of ints, got {v!r}")
    if any(x < minimum for x in v):
        raise NodeValidationError(f"node {node!r}: field {fname!r} values must be >= {minimum}, got {v!r}")
    return v


@dataclass(frozen=True, eq=False, kw_only=True)
class Node:
    """A hardware-graph node. ``inputs`` and ``outputs`` name tensors of the :class:`~hwsim.graph.HwGraph`."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    op_type: ClassVar[str] = "Node"
    #: number of inputs (None: variable)
    n_inputs: ClassVar[int | None] = 1
    #: evaluated on the host after the accelerator (no HLS code, no hardware estimate; see hwsim.partition)
    host: ClassVar[bool] = False

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.__dict__.get("op_type") and not cls.__name__.startswith("_"):
            NODE_TYPES[cls.op_type] = cls

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise NodeValidationError(f"{self.op_type}: node name must be a non-empty string")
        if not isinstance(self.inputs, tuple) or not isinstance(self.outputs, tuple):
            raise NodeValidationError(f"node {self.name!r}: inputs/outputs must be tuples of tensor names")
        if self.n_inputs is not None and len(self.inputs) != self.n_inputs:
            raise NodeValidationError(
                f"node {self.name!r} ({self.op_type}) takes {self.n_inputs} input(s), got {len(self.inputs)}"
            )
        if not self.outputs:
            raise NodeValidationError(f"node {self.name!r}: needs at least one output")
        self.validate()

    def validate(self) -> None:
        """Check field consistency; raise :class:`NodeValidationError` naming the field."""

    def replace(self, **changes: Any) -> Node:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Window:
    """The geometry of a sliding window over an ``(H, W, C)`` map: the one value that inference, the kernels and
    the reference, the emitters, the estimators and the timing model read (never re-derived).

    ``pad`` is (top, left, bottom, right); the padded map is ``PH x PW = (H + pt + pb) x (W + pl + pr)`` and the
    output ``OH x OW`` with ``OH = (PH - KH) // SH + 1``, ``OW = (PW - KW) // SW + 1`` (windows that do not fit
    are dropped, as in ONNX/PyTorch with floor rounding).
    """

    #: input ``(H, W, C)``
    in_shape: tuple[int, int, int]
    #: ``(KH, KW)``
    kernel: tuple[int, int]
    #: ``(SH, SW)``
    stride: tuple[int, int]
    #: ``(top, left, bottom, right)``
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)

    h = property(lambda self: self.in_shape[0])
    w = property(lambda self: self.in_shape[1])
    c = property(lambda self: self.in_shape[2])
    kh = property(lambda self: self.kernel[0])
    kw = property(lambda self: self.kernel[1])
    sh = property(lambda self: self.stride[0])
    sw = property(lambda self: self.stride[1])
    pt = property(lambda self: self.pad[0])
    pl = property(lambda self: self.pad[1])
    pb = property(lambda self: self.pad[2])
    pr = property(lambda self: self.pad[3])

    @property
    def ph(self) -> int:
        """Padded height ``H + pt + pb``."""
        return self.h + self.pt + self.pb

    @property
    def pw(self) -> int:
        """Padded width ``W + pl + pr``."""
        return self.w + self.pl + self.pr

    @property
    def oh(self) -> int:
        return (self.ph - self.kh) // self.sh + 1

    @property
    def ow(self) -> int:
        return (self.pw - self.kw) // self.sw + 1

    @property
    def positions(self) -> int:
        """Window positions ``KH * KW``."""
        return self.kh * self.kw


class WindowNode:
    """Mixin of the nodes that slide a window (XnorConv, FixedConv, SlidingWindow, MaxPool, AvgPool): fields
    ``kernel``, ``stride`` and ``pad`` (AvgPool: no padding)."""

    name: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    pad: tuple[int, int, int, int]

    def window(self, in_shape: tuple[int, ...]) -> Window:
        """The :class:`Window` of this node on an ``(H, W, C)`` input; an error naming the node when the window
        does not fit the padded map."""
        if len(in_shape) != 3:
            raise NodeValidationError(f"node {self.name!r}: expects an (H, W, C) input, got shape {in_shape}")
        h, w, c = (int(v) for v in in_shape)
        win = Window((h, w, c), tuple(self.kernel), tuple(self.stride), tuple(self.pad))
        if win.oh < 1 or win.ow < 1:
            raise NodeValidationError(
                f"node {self.name!r}: window {self.kernel} larger than padded input {h}x{w}"
            )
        return win


@dataclass(frozen=True, eq=False, kw_only=True)
class MatrixNode(Node):
    """A matrix unit (XnorConv/Dense, FixedConv/Dense): ``weights`` is ``(Cout, ..., Cin)``."""

    weights: np.ndarray

    @property
    def cout(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cin(self) -> int:
        return int(self.weights.shape[-1])


@dataclass(frozen=True, eq=False)
class OutputStage:
    """The fused output stage of a matrix unit, applied to the integer accumulator ``acc[..., c]``.

    ``mode="affine"``: ``y = acc * mul[c] + bias[c]`` exactly, standing for ``y * 2**-frac``; then, when ``out``
    is set, requantized to ``out`` (round half to even from ``frac`` to ``out.frac``, saturate).
    ``mode="threshold"``: output bit ``= (acc >= thr[c]) XOR invert[c]`` (a folded BatchNorm + sign).
    """

    mode: str
    frac: int = 0
    mul: np.ndarray | None = None
    bias: np.ndarray | None = None
    out: Fixed | None = None
    thr: np.ndarray | None = None
    invert: np.ndarray | None = None

    def validate(self, node: str, channels: int) -> None:
        if self.mode == "affine":
            check_array(node, "stage.mul", self.mul, ndim=1, shape=(channels,))
            check_array(node, "stage.bias", self.bias, ndim=1, shape=(channels,))
        elif self.mode == "threshold":
            check_array(node, "stage.thr", self.thr, ndim=1, shape=(channels,))
            check_array(node, "stage.invert", self.invert, ndim=1, shape=(channels,), kind="b")
        else:
            raise NodeValidationError(
                f"node {node!r}: stage.mode must be 'affine' or 'threshold', got {self.mode!r}"
            )

    @staticmethod
    def identity(channels: int) -> OutputStage:
        return OutputStage("affine", 0, np.ones(channels, np.int64), np.zeros(channels, np.int64))


@dataclass(frozen=True, eq=False)
class HyperFunction:
    """DyBNN's hyper function on a feature map ``x`` (``H, W, C``, fixed point with ``x_frac``)::

        p      = requant(x -> pre)                 when pre is set (element by element, RNE, saturate)
        s      = requant(sum_{h,w} p, frac p_frac + pool_shift -> stat)          # sum then shift, RNE, saturate
        h      = requant(relu(s @ w1.T + b1) -> hidden)                          # w1: (Hd, C) at w1_frac, b1 at b1_frac
        z      = h @ w2.T + b2                                                   # exact, frac z_frac (derived)
        z      = clip(z, -2**z_frac, 2**z_frac)                                  # hardtanh(-1, 1)
        z      = requant(z -> act)             when act is set (8-bit on [-1, 1), RNE, saturate)
        delta  = z * 2**lam_log2                                                 # frac act.frac (or z_frac) - lam_log2

    With ``squash_thr`` set (a tanh squash, or any monotone float function feeding the ``act`` quantizer) the clip
    and the requantization are replaced by thresholds on the exact ``z``::

        z      = act.lo + #{i : squash_thr[i] <= z}                              # levels act.lo .. act.hi

    ``squash_thr`` holds ``act.hi - act.lo`` non-decreasing integers on the ``z_frac`` grid: ``squash_thr[k]`` is
    the least ``z`` whose output level is at least ``act.lo + k + 1`` (found by bisection of the golden function).
    All products and sums are exact integers on aligned power-of-two grids.
    """

    pool_shift: int
    stat: Fixed
    w1: np.ndarray
    w1_frac: int
    b1: np.ndarray
    b1_frac: int
    hidden: Fixed
    w2: np.ndarray
    w2_frac: int
    b2: np.ndarray
    b2_frac: int
    lam_log2: int
    #: requantization of the clipped output before lambda (None: exact, no requantization)
    act: Fixed | None = None
    #: thresholds of a monotone squash function on ``z`` (tanh): replace the clip and the requantization
    squash_thr: np.ndarray | None = None
    #: requantization of every element of ``x`` before the channel sum (None: ``x`` as is); a narrow type
    #: bounds the sum by ``H*W*2**(pre.bits-1)`` units whatever ``x``'s width
    pre: Fixed | None = None
    #: the hardware-aware variant (``hyper_context: stem``): ``s`` is not pooled from ``x`` but read from the
    #: unit's second input, a context vector of ``w1.shape[1]`` statistics of type ``stat`` computed once per
    #: image by a :class:`~hwsim.nodes.HyperContext` node (``pool_shift`` and ``pre`` are then unused: 0, None)
    context: bool = False

    def validate(self, node: str, channels: int, outputs: int) -> None:
        if self.context and (self.pool_shift != 0 or self.pre is not None):
            raise NodeValidationError(
                f"node {node!r}: a context hyper function has no pool (pool_shift 0, pre None)"
            )
        check_array(node, "hyper.w1", self.w1, ndim=2, shape=(None, None if self.context else channels))
        hd = self.w1.shape[0]
        check_array(node, "hyper.b1", self.b1, ndim=1, shape=(hd,))
        check_array(node, "hyper.w2", self.w2, ndim=2, shape=(outputs, hd))
        check_array(node, "hyper.b2", self.b2, ndim=1, shape=(outputs,))
        if self.hidden.signed:
            raise NodeValidationError(f"node {node!r}: hyper.hidden must be unsigned (after ReLU)")
        if self.squash_thr is not None:
            if self.act is None:
                raise NodeValidationError(
                    f"node {node!r}: hyper.squash_thr needs hyper.act (the output levels)"
                )
            check_array(node, "hyper.squash_thr", self.squash_thr, ndim=1, shape=(self.act.hi - self.act.lo,))
            if np.any(np.diff(self.squash_thr.astype(np.int64)) < 0):
                raise NodeValidationError(f"node {node!r}: hyper.squash_thr must be non-decreasing")

    def sum_frac(self, x_frac: int) -> int:
        """Fraction bits of the channel sum for an input at ``x_frac`` (``pre.frac`` when ``pre`` is set)."""
        return self.pre.frac if self.pre is not None else x_frac

    @property
    def h1_frac(self) -> int:
        """Fraction bits of ``s @ w1.T + b1`` (exact)."""
        return max(self.stat.frac + self.w1_frac, self.b1_frac)

    @property
    def z_frac(self) -> int:
        """Fraction bits of ``h @ w2.T + b2`` (exact)."""
        return max(self.hidden.frac + self.w2_frac, self.b2_frac)

    @property
    def delta_frac(self) -> int:
        """Fraction bits of ``delta`` (the integer is ``act``-requantized ``clip(z)``, or ``clip(z)``)."""
        return (self.act.frac if self.act is not None else self.z_frac) - self.lam_log2

    @property
    def n_hidden(self) -> int:
        return int(self.w1.shape[0])

    @property
    def n_out(self) -> int:
        return int(self.w2.shape[0])
