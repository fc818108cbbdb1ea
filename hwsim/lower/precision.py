"""Precision check of a QONNX model before lowering: every matrix layer (Conv / Gemm / MatMul) gets the bit
widths of its weights and of the activation quantizer feeding it, and a combination that the hardware cannot
compute exactly stops the lowering with one line naming the layer and the widths found.

What the hardware computes: binary weights on binary activations (XNOR-popcount, W1A1), binary weights on a
fixed-point input (the first layer after an 8-bit input quantizer: an add/subtract tree), and fixed-point layers
on fixed-point inputs. Not supported: narrow-range multi-bit activation quantizers (Brevitas ``narrow_range=True``:
the symmetric ``{-1, 0, +1}`` of BNN-PYNQ's W1A2 / W2A2 variants) and multi-bit weights on binary activations.
"""

from __future__ import annotations

import numpy as np
import onnx

from hwsim.lower.errors import LoweringError
from hwsim.lower.frontend import Const, OnnxModel, attr

#: ops that pass an activation through unchanged in value (the quantizer before them is the layer's input)
_PASS = ("Reshape", "Flatten", "Transpose", "Identity", "Dropout", "Pad", "MaxPool", "Squeeze", "Unsqueeze")
_MATRIX = ("Conv", "Gemm", "MatMul")


def _activation_quantizer(m: OnnxModel, t: str) -> onnx.NodeProto | None:
    """The Quant / BipolarQuant that produced activation ``t`` (through value-preserving ops), if any."""
    seen = 0
    while t in m.producer and seen < 64:
        n = m.producer[t]
        if n.op_type in ("Quant", "BipolarQuant"):
            return n
        if n.op_type not in _PASS:
            return None
        t = n.input[0]
        seen += 1
    return None


def _quant_bits(n: onnx.NodeProto, consts: dict[str, Const]) -> tuple[int, bool] | None:
    """``(bits, narrow)`` of a quantizer node (1 for BipolarQuant); None when its bit width is not constant."""
    if n.op_type == "BipolarQuant":
        return 1, False
    bw = consts.get(n.input[3]) if len(n.input) > 3 else None
    if bw is None:
        return None
    return int(round(float(np.asarray(bw.value).ravel()[0]))), bool(attr(n, "narrow", 0))


def _weight_bits(w: Const) -> int | None:
    """1 for binary weights (a BipolarQuant, or +-s per row as the converter accepts them), the quantizer's bit
    width for Quant weights, None for float weights."""
    v = np.abs(np.asarray(w.value, dtype=np.float64))
    rows = v.reshape(v.shape[0], -1) if v.ndim else v.reshape(1, 1)
    if w.bipolar or (rows.size and np.all(rows > 0) and np.all(rows == rows[:, :1])):
        return 1
    return int(w.bits) if w.quantized and w.bits else None


def check_precisions(m: OnnxModel, consts: dict[str, Const]) -> None:
    """Raise :class:`LoweringError` at the first matrix layer whose weight / activation widths are unsupported."""
    for n in m.nodes:
        if n.op_type not in _MATRIX or len(n.input) < 2:
            continue
        w = consts.get(n.input[1])
        if w is None:
            continue  # weights computed from activations: reported by the converter
        wbits = _weight_bits(w)
        if wbits is None:
            continue  # float weights: reported by the converter
        q = _activation_quantizer(m, n.input[0])
        if q is None:
            continue
        qb = _quant_bits(q, consts)
        if qb is None:
            continue
        abits, narrow = qb
        why = ""
        if abits > 1 and narrow:
            why = f"{abits}-bit narrow-range activations"
        elif abits == 1 and wbits > 1:
            why = f"{abits}-bit (binary) activations"
        if why:
            raise LoweringError(
                f"unsupported precision at node {n.name} ({n.op_type}): {wbits}-bit weights with {why} from "
                f"{q.name} (W{wbits}A{abits}); dybnn lowers binary layers (W1A1), binary weights on a fixed-point "
                "input and fixed-point layers without narrow-range activation quantizers (docs/qonnx-support.md)",
                n.name,
                n.op_type,
            )
