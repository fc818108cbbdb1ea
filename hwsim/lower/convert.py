"""The QONNX -> hardware-graph converter: a walk over the activation path in topological order.

Each ONNX activation tensor gets a symbolic value (:mod:`hwsim.lower.values`); one handler per ONNX op type
(:data:`HANDLERS`, filled by :mod:`hwsim.lower.quantizers`, :mod:`hwsim.lower.units` and :mod:`hwsim.lower.ops`)
computes the value of its outputs from the values of its inputs and emits hardware nodes when a pattern is
complete. Values that stand for hardware still to be built (an open output stage, an ``out`` not yet
set) are *materialized* -- their node emitted -- when a consumer needs a concrete tensor, when the ONNX tensor has
several readers, or at the graph outputs.

Integer semantics: every hardware tensor holds integers ``q`` with ONNX value ``q * 2**-frac``. Constants are
converted to exact integers (``(ints, frac)``); per-channel constants are mapped from the ONNX layout to the
hardware channel axis through :class:`~hwsim.lower.layout.Layout`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx

from hwsim import nodes as N
from hwsim.encoding import frac_of_scale
from hwsim.lower.builder import GraphBuilder
from hwsim.lower.errors import LoweringError, unsupported
from hwsim.lower.frontend import Const, OnnxModel, attr
from hwsim.lower.layout import Layout
from hwsim.lower.values import (
    Affine,
    Elem,
    HwT,
    InputV,
    PadV,
    Pend,
    Unit,
    Val,
    align_ints,
    exact_ints,
    finest_frac_rows,
    is_pow2,
    normalize,
    to_int64,
)
from hwsim.ranges import bits_for, matrix_acc
from hwsim.registry import Registry
from hwsim.types import Bipolar, Fixed, Float, TensorSpec

Handler = Callable[["Converter", onnx.NodeProto, list], Any]
#: ONNX op type -> ``fn(converter, node, inputs)``
HANDLERS = Registry("ONNX op handler")

#: elementwise ONNX ops kept as float steps of a golden function (non-quantized parameters)
FLOAT_ELEMENTWISE = (
    "BatchNormalization",
    "Div",
    "Tanh",
    "Sigmoid",
    "Neg",
    "LeakyRelu",
    "HardSigmoid",
    "Softsign",
    "Elu",
    "Selu",
    "HardSwish",
    "Abs",
    "Sqrt",
    "Exp",
    "Erf",
)


def handles(*ops: str) -> Callable[[Handler], Handler]:
    """Register the conversion of one or more ONNX op types."""
    return HANDLERS.register(*ops)


def int_list(a: Any) -> list[int]:
    return [int(v) for v in np.asarray(a).ravel()]


class Converter:
    """Walks the ONNX graph and builds the hardware graph (see the module docstring)."""

    def __init__(self, model: OnnxModel, consts: dict[str, Const], name: str) -> None:
        self.m = model
        self.consts = consts
        self.b = GraphBuilder(name)
        self.env: dict[str, Val] = {}
        self._hw_cache: dict[str, HwT] = {}
        self._flat_cache: dict[str, HwT] = {}
        self.warnings: list[str] = []
        #: hw node -> ONNX tensors of its dynamic threshold / shifts
        self.dynamic: dict[str, dict[str, Any]] = {}
        #: label tensor of an ArgMax / TopK -> the logits it selects from
        self.label_of: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------------- driver
    def run(self) -> list[str]:
        m = self.m
        if len(m.inputs) != 1:
            raise LoweringError(f"expected one graph input, got {len(m.inputs)}: {', '.join(m.inputs)}")
        inp = m.inputs[0]
        shape = m.shape(inp)
        if shape is None or len(shape) not in (2, 4):
            raise LoweringError(f"graph input {inp!r} must have a known NCHW or NC shape, got {shape}")
        layout = Layout.for_onnx(shape[1:])
        hw = self.b.add_input(inp, TensorSpec(layout.hw_shape, Float()))
        self.env[inp] = InputV(inp, layout, hw)
        from hwsim.lower import ops, quantizers, units  # noqa: F401 - the handlers register themselves

        for node in m.nodes:
            if all(t in self.consts for t in node.output):
                continue
            fn = HANDLERS.get(node.op_type)
            if fn is None:
                raise unsupported(node, f"op type {node.op_type} is not supported by the lowering")
            ins = [self._input(t, node) for t in node.input]
            out = fn(self, node, ins)
            outs = out if isinstance(out, (list, tuple)) else [out]
            for t, v in zip(node.output, outs, strict=True):
                self.env[t] = v
        outs = [self.output(self.env[o]).name for o in m.outputs]
        # the logits that an ArgMax / TopK reads come first (the simulator's accuracy reads them), then the labels
        logits = [self.label_of[t] for t in outs if t in self.label_of]
        return [*dict.fromkeys(logits), *(t for t in outs if t not in logits)]

    def output(self, v: Any) -> HwT:
        """The hardware tensor of a graph output: a float chain on the integer logits becomes a float tail."""
        if isinstance(v, Elem) and not isinstance(v.anchor, InputV):
            from hwsim.lower.tail import float_tail

            cached = self._hw_cache.get(v.onnx)
            if cached is None:
                cached = self._hw_cache[v.onnx] = float_tail(self, v)
            return cached
        return self.hw(v, None)

    def _input(self, t: str, node: onnx.NodeProto) -> Any:
        if t == "":
            return None
        if t in self.consts:
            return self.consts[t]
        v = self.env.get(t)
        if v is None:
            raise unsupported(node, f"input {t!r} has no value (unsupported producer)")
        if isinstance(v, (Affine, Pend)) and self.m.n_readers(t) > 1:
            v = self.hw(v, node)  # a unit shared by several readers is built once
        return v

    # -------------------------------------------------------------------------------------------- utilities
    def out_layout(self, t: str, node: onnx.NodeProto) -> Layout:
        s = self.m.shape(t)
        if s is None:
            raise unsupported(node, f"output {t!r} has no inferred shape")
        try:
            return Layout.for_onnx(s[1:])
        except ValueError:
            raise unsupported(node, f"output shape {s} is neither NCHW nor NC") from None

    def rename(self, v: Val, t: str, layout: Layout | None = None) -> Val:
        return dataclasses.replace(v, onnx=t, layout=layout or v.layout)

    def channel_vec(self, c: Const, v: Val, node: onnx.NodeProto) -> np.ndarray | None:
        return v.layout.channel_vector(np.asarray(c.value, dtype=np.float64))

    @staticmethod
    def exact_eligible(c: Const) -> bool:
        """Quantized parameters (or powers of two) take part in exact integer arithmetic; other floats only in
        golden functions."""
        if c.quantized:
            return True
        v = np.abs(np.asarray(c.value, dtype=np.float64)).ravel()
        return bool(np.all([x == 0 or is_pow2(float(x)) for x in v]))

    def quant_params(self, node: onnx.NodeProto, ins: list) -> Fixed:
        """The output type of an activation ``Quant`` node (scalar power-of-two scale, zero point 0)."""
        scale, zp, bw = ins[1], ins[2], ins[3]
        if not all(isinstance(c, Const) for c in (scale, zp, bw)):
            raise unsupported(node, "scale, zero point and bit width must be constants")
        s = np.asarray(scale.value, dtype=np.float64).ravel()
        if s.size != 1 and not np.all(s == s[0]):
            raise unsupported(node, "per-channel activation scales are not supported (expected one scale)")
        if np.any(np.asarray(zp.value) != 0):
            raise unsupported(node, f"zero point must be 0, got {np.asarray(zp.value).ravel()[:4]}")
        if attr(node, "rounding_mode", "ROUND") not in ("ROUND", "ROUND_TO_EVEN", "round"):
            raise unsupported(
                node, f"rounding mode {attr(node, 'rounding_mode')!r} (expected ROUND, half to even)"
            )
        if attr(node, "narrow", 0):
            raise unsupported(
                node, "narrow-range activation quantizers are not supported (use narrow_range=False)"
            )
        try:
            frac = frac_of_scale(float(s[0]))
        except ValueError:
            raise unsupported(node, f"scale {float(s[0])!r} is not a power of two") from None
        bits = float(np.asarray(bw.value).ravel()[0])
        if bits != int(bits) or not 1 <= bits <= 62:
            raise unsupported(node, f"bit width {bits} (expected an integer in [1, 62])")
        signed = bool(attr(node, "signed", 1))
        if signed and bits < 2:
            raise unsupported(node, "a signed 1-bit Quant has no valid values")
        return Fixed(int(bits), frac, signed)

    def bipolar_frac(self, node: onnx.NodeProto, ins: list) -> int:
        s = ins[1]
        if not isinstance(s, Const):
            raise unsupported(node, "the scale must be a constant")
        v = np.asarray(s.value, dtype=np.float64).ravel()
        if not np.all(v == v[0]):
            raise unsupported(node, "per-channel scales of binary activations are not supported")
        try:
            return frac_of_scale(float(v[0]))
        except ValueError:
            raise unsupported(
                node, f"scale {float(v[0])!r} of the binary activation is not a power of two"
            ) from None

    def dtype_of(self, v: Val) -> Fixed | Bipolar | None:
        """Hardware type of a value usable as a unit input (materialized or not)."""
        if isinstance(v, HwT):
            return self.b.spec(v.name).dtype
        if isinstance(v, (Pend, Affine)) and v.out is not None:
            return v.out
        return None

    def frac_of(self, v: Val) -> int:
        if isinstance(v, HwT):
            return v.frac
        if isinstance(v, Pend):
            return v.out.frac if v.out is not None else v.frac
        if isinstance(v, Affine):
            return v.out.frac if v.out is not None else v.frac
        raise AssertionError(type(v))

    # ------------------------------------------------------------------------------------------ materialize
    def hw(self, v: Any, node: onnx.NodeProto | None) -> HwT:
        """A concrete hardware tensor for ``v`` (emitting its node once; memoized per ONNX tensor)."""
        if isinstance(v, HwT):
            return v
        if isinstance(v, Const) or v is None:
            raise self._err(node, "expected an activation, got a constant")
        cached = self._hw_cache.get(v.onnx)
        if cached is not None:
            return cached
        if isinstance(v, Affine):
            if v.relu and v.out is None:
                raise self._err(node, f"Relu on {v.unit.node} must be followed by a Quant")
            stage = N.OutputStage(
                "affine",
                int(v.frac),
                to_int64(v.mul, f"{v.unit.node} stage.mul"),
                to_int64(v.bias, f"{v.unit.node} stage.bias"),
                v.out,
            )
            if v.out is not None and v.relu and v.out.signed:
                raise self._err(node, f"Relu + signed Quant after {v.unit.node} (use an unsigned Quant)")
            h = self.emit_unit(v, stage, v.onnx, bipolar=False, frac=self.frac_of(v))
        elif isinstance(v, Pend):
            h = self.emit_pend(v)
        elif isinstance(v, InputV):
            raise self._err(node, "the float graph input must be quantized (Quant or BipolarQuant) first")
        elif isinstance(v, Elem):
            raise self._err(
                node,
                f"the elementwise chain {self.chain_desc(v)} on {v.anchor.onnx} must feed a quantizer "
                "(Quant or BipolarQuant)",
            )
        elif isinstance(v, PadV):
            raise self._err(node, "an explicit Pad must feed a Conv")
        else:
            raise self._err(node, f"{type(v).__name__} value {v.onnx} cannot be computed on its own here")
        self._hw_cache[v.onnx] = h
        return h

    def _err(self, node: onnx.NodeProto | None, what: str) -> LoweringError:
        if node is None:
            return LoweringError(f"unsupported pattern at the graph output: {what}")
        return unsupported(node, what)

    def chain_desc(self, e: Elem) -> str:
        return " -> ".join(s.node or s.kind for s in e.steps) or "(empty)"

    def new_hwt(self, t: str, v_onnx: str, frac: int, bipolar: bool, layout: Layout) -> HwT:
        self.b.record(t, v_onnx, frac, bipolar, layout)
        return HwT(v_onnx, layout, t, frac, bipolar)

    def flat(self, x: HwT, node: onnx.NodeProto) -> HwT:
        """``x`` as a 1-D hardware tensor (a Flatten node when it is still a feature map)."""
        if len(x.layout.hw_shape) == 1:
            return x
        cached = self._flat_cache.get(x.name)
        if cached is not None:
            return cached
        (t,) = self.b.add(N.Flatten, f"{x.name}_flatten", (x.name,), (f"{x.onnx}_flat",), onnx_node=node)
        lay = x.layout.flattened()
        h = self.new_hwt(t, x.onnx, x.frac, x.bipolar, lay)
        self._flat_cache[x.name] = h
        return h

    def emit_unit(self, a: Affine, stage: N.OutputStage, base: str, bipolar: bool, frac: int) -> HwT:
        u = a.unit
        x = self.hw(u.input, None)
        if u.op in ("XnorDense", "FixedDense"):
            x = self.flat(x, None)
        cls = getattr(N, u.op)
        (t,) = self.b.add(
            cls, u.node, (x.name,), (base,), sources=[u.node, *a.folded], stage=stage, **u.fields
        )
        return self.new_hwt(t, a.onnx, frac, bipolar, a.layout)

    def emit_pend(self, p: Pend) -> HwT:
        xs = tuple(self.hw(i, None).name for i in p.inputs)
        cls = getattr(N, p.op)
        (t,) = self.b.add(cls, p.node, xs, (p.onnx,), sources=[p.node], out=p.out, **p.fields)
        return self.new_hwt(t, p.onnx, self.frac_of(p), False, p.layout)

    # ----------------------------------------------------------------------------------------------- units
    def weights_of(self, node: onnx.NodeProto, w: Any, what: str) -> tuple[str, dict[str, Any]]:
        """Classify weights (rows = output channels, any trailing shape) as binary or fixed point.

        Returns ``("bipolar", {"bits", "scale_q", "scale_frac"})`` or
        ``("fixed", {"ints", "w_frac", "w_bits", "row_frac"})``.
        """
        if not isinstance(w, Const):
            raise unsupported(node, f"expected BipolarQuant or Quant {what}, got an activation")
        v = np.asarray(w.value, dtype=np.float64)
        cout = v.shape[0]
        rows = v.reshape(cout, -1)
        mag = np.abs(rows)
        binary = bool(np.all(mag > 0) and np.all(mag == mag[:, :1]))
        if w.bipolar or (binary and not w.quantized):
            if not binary:
                raise unsupported(node, f"binary {what} with a zero or non-uniform per-channel scale")
            q, f = exact_ints(mag[:, 0])
            return "bipolar", {"bits": (rows > 0).astype(np.uint8), "scale_q": q, "scale_frac": f}
        # per-row fraction: the quantizer's power-of-two scale, or the finest grid of the row
        declared_frac = None
        if w.quantized:
            sc = np.asarray(w.scale, dtype=np.float64).reshape(cout, -1)
            m, e = np.frexp(sc[:, 0])
            if np.all(sc == sc[:, :1]) and np.all(m == 0.5):
                declared_frac = (1 - e).astype(np.int64)
        row_frac = finest_frac_rows(rows)
        if declared_frac is not None:
            row_frac = np.maximum(row_frac, declared_frac)
        scaled = np.ldexp(rows, row_frac[:, None])
        if np.abs(scaled).max(initial=0) >= 2.0**62:
            raise unsupported(node, f"{what} need more than 62 bits as integers")
        ints = scaled.astype(np.int64)
        if not w.quantized and np.abs(ints).max(initial=0) >= 1 << 15:
            raise unsupported(node, f"expected BipolarQuant or Quant {what}, got float initializer")
        row_frac = [int(f) for f in row_frac]
        w_frac = max(row_frac)
        lo, hi = int(ints.min(initial=0)), int(ints.max(initial=0))
        need = bits_for(min(lo, -1), hi)[0]  # a signed container
        w_bits = max(w.bits if w.quantized and w.bits else 0, need, 2)
        return "fixed", {"ints": ints, "w_frac": w_frac, "w_bits": w_bits, "row_frac": row_frac}

    def make_affine(
        self,
        node: onnx.NodeProto,
        op: str,
        x: Val,
        fields: dict[str, Any],
        weights: np.ndarray,
        x_frac: int,
        mul_q: np.ndarray,
        mul_frac: int,
        bias: Const | None,
        layout: Layout,
    ) -> Affine:
        x_dtype = self.dtype_of(x)
        lo, hi = matrix_acc(x_dtype, weights, binary=op.startswith("Xnor"))
        unit = Unit(op, node.name, x, fields, lo, hi)
        acc_frac = x_frac
        frac = acc_frac + mul_frac
        mul = np.asarray(mul_q, dtype=object)
        b = np.zeros(len(mul), dtype=object)
        if bias is not None:
            bv = layout.channel_vector(np.asarray(bias.value, dtype=np.float64))
            if bv is None or not self.exact_eligible(bias):
                raise unsupported(node, "the bias must be a quantized per-channel vector")
            bq, bf = exact_ints(bv)
            f = max(frac, bf)
            mul = align_ints(mul, frac, f)
            b = align_ints(bq, bf, f)
            frac = f
        mul, b, frac = normalize(mul, b, frac, floor=acc_frac)
        return Affine(node.output[0], layout, unit, acc_frac, mul, b, frac)
