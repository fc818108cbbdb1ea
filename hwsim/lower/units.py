"""Handlers of the matrix units: Conv -> XnorConv / FixedConv, Gemm / MatMul -> XnorDense / FixedDense."""

from __future__ import annotations

from typing import Any

import numpy as np

from hwsim.lower.convert import Converter, handles
from hwsim.lower.errors import unsupported
from hwsim.lower.frontend import Const, attr
from hwsim.lower.values import (
    Affine,
    HwT,
    PadV,
    Pend,
    to_int64,
)
from hwsim.types import Bipolar


def _conv_input(cv: Converter, node, x: Any) -> tuple[HwT, tuple[int, int, int, int], int | None]:
    """The conv input tensor, the extra padding of an explicit Pad and its value (in input units)."""
    if isinstance(x, PadV):
        xh = cv.hw(x.x, node)
        unit = 2.0**-xh.frac
        if x.value == 0:
            pv = 0
        elif xh.bipolar and abs(x.value) == unit:
            pv = 1 if x.value > 0 else -1
        else:
            raise unsupported(node, f"padding value {x.value} (expected 0, or +-1 on a binary input)")
        return xh, x.pads, pv
    return cv.hw(x, node), (0, 0, 0, 0), None


@handles("Conv")
def _conv(cv: Converter, node, ins):
    x, w = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    if isinstance(bias, Const) and np.asarray(bias.value).ndim == 1:
        # ONNX Conv's bias B is (Cout,): one value per output channel (axis 1), not NumPy-broadcast on the last axis
        sc = bias.scale
        bias = bias.with_value(
            bias.name,
            np.asarray(bias.value).reshape(-1, 1, 1),
            None if sc is None else np.broadcast_to(sc, np.shape(bias.value)).reshape(-1, 1, 1),
        )
    if attr(node, "group", 1) != 1:
        raise unsupported(node, f"grouped convolution (group={attr(node, 'group')}) is not supported")
    if any(d != 1 for d in attr(node, "dilations", [1, 1])):
        raise unsupported(node, "dilated convolution is not supported")
    if attr(node, "auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise unsupported(node, "auto_pad is not supported (export with explicit pads)")
    if not isinstance(w, Const):
        raise unsupported(node, "expected BipolarQuant or Quant weights, got an activation")
    wv = np.asarray(w.value)
    if wv.ndim != 4:
        raise unsupported(node, f"expected 2-D convolution weights (Cout, Cin, KH, KW), got shape {wv.shape}")
    xh, extra, pad_v = _conv_input(cv, node, x)
    if len(xh.layout.hw_shape) != 3 or len(xh.layout.onnx_shape) != 3:
        raise unsupported(node, "the input is not a feature map")
    cout, cin, kh, kw = wv.shape
    pads = [int(p) for p in attr(node, "pads", [0, 0, 0, 0])]
    pt, pl, pb, pr = pads[0], pads[1], pads[2], pads[3]
    if pad_v not in (None, 0) and any(pads):
        raise unsupported(node, "both an explicit +-1 Pad and zero padding in the Conv")
    pad = (pt + extra[0], pl + extra[1], pb + extra[2], pr + extra[3])
    stride = tuple(int(s) for s in attr(node, "strides", [1, 1]))
    kind, info = cv.weights_of(node, w, "weights")
    layout = cv.out_layout(node.output[0], node)
    if kind == "bipolar":
        bits = info["bits"].reshape(cout, cin, kh, kw).transpose(0, 2, 3, 1).copy()
        if xh.bipolar:
            pvalue = pad_v if pad_v is not None else 0
        else:
            if pad_v not in (None, 0):
                raise unsupported(node, "a fixed-point input can only be zero-padded")
            pvalue = 0
        fields = {"weights": bits, "kernel": (kh, kw), "stride": stride, "pad": pad, "pad_value": int(pvalue)}
        return cv.make_affine(
            node,
            "XnorConv",
            xh,
            fields,
            bits,
            xh.frac,
            info["scale_q"],
            info["scale_frac"],
            bias,
            layout,
        )
    if xh.bipolar:
        raise unsupported(
            node, "multi-bit weights on a binary input are not supported (expected binary weights)"
        )
    ints = (
        to_int64(info["ints"], f"{node.name} weights").reshape(cout, cin, kh, kw).transpose(0, 2, 3, 1).copy()
    )
    mul = np.array([1 << (info["w_frac"] - f) for f in info["row_frac"]], dtype=object)
    fields = {
        "weights": ints,
        "w_bits": int(info["w_bits"]),
        "w_frac": int(info["w_frac"]),
        "kernel": (kh, kw),
        "stride": stride,
        "pad": pad,
    }
    return cv.make_affine(node, "FixedConv", xh, fields, ints, xh.frac + info["w_frac"], mul, 0, bias, layout)


@handles("Gemm", "MatMul")
def _dense(cv: Converter, node, ins):
    x, w = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    if node.op_type == "Gemm":
        if attr(node, "transA", 0):
            raise unsupported(node, "transA=1 is not supported")
        if attr(node, "alpha", 1.0) != 1.0 or attr(node, "beta", 1.0) != 1.0:
            raise unsupported(node, "alpha/beta other than 1 are not supported")
    if not isinstance(w, Const) or isinstance(x, Const):
        raise unsupported(node, "expected an activation times BipolarQuant or Quant weights")
    wv = np.asarray(w.value, dtype=np.float64)
    if wv.ndim != 2:
        raise unsupported(node, f"expected a 2-D weight matrix, got shape {wv.shape}")
    trans = node.op_type == "Gemm" and attr(node, "transB", 0)
    wc = w if trans else w.with_value(w.name, wv.T, None if w.scale is None else np.asarray(w.scale).T)
    if not isinstance(x, (HwT, Pend, Affine)):
        x = cv.hw(x, node)
    if isinstance(x, HwT):
        pass
    elif isinstance(x, Pend) and x.op == "GlobalPool" and x.out is not None:
        pass
    elif isinstance(x, Affine) and x.out is not None:
        pass
    else:
        x = cv.hw(x, node)
    if len(x.layout.onnx_shape) != 1:
        raise unsupported(node, f"expected a (N, features) input, got per-sample shape {x.layout.onnx_shape}")
    kind, info = cv.weights_of(node, wc, "weights")
    layout = cv.out_layout(node.output[0], node)
    idx = x.layout.onnx_index()  # hw input position -> ONNX feature index
    xdt = cv.dtype_of(x)
    if kind == "bipolar":
        bits = info["bits"][:, idx].copy()
        return cv.make_affine(
            node,
            "XnorDense",
            x,
            {"weights": bits},
            bits,
            cv.frac_of(x),
            info["scale_q"],
            info["scale_frac"],
            bias,
            layout,
        )
    if isinstance(xdt, Bipolar):
        raise unsupported(node, "multi-bit weights on a binary input are not supported")
    ints = to_int64(info["ints"], f"{node.name} weights")[:, idx].copy()
    mul = np.array([1 << (info["w_frac"] - f) for f in info["row_frac"]], dtype=object)
    fields = {"weights": ints, "w_bits": int(info["w_bits"]), "w_frac": int(info["w_frac"])}
    return cv.make_affine(
        node,
        "FixedDense",
        x,
        fields,
        ints,
        cv.frac_of(x) + info["w_frac"],
        mul,
        0,
        bias,
        layout,
    )
