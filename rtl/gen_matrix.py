"""RTL generators of the matrix units (XnorDense, XnorConv, FixedDense, FixedConv: dybnn_mvu with its output
stage, behind dybnn_swu for a convolution) and of SlidingWindow. Every width comes from the HLS emitter's
context (``hls/emit/matrix.py``, ``hls/emit/window.py``)."""

from __future__ import annotations

import numpy as np

from hls.emit import NodeCode, NodeEnv
from hls.estimate.memory import fifo_cost, map_memory
from hwsim import nodes as N
from rtl.modules import Instance, Mem, bit, pack_rows, param_array, rtl_module, signed_num, with_rom

#: xnor / signed_add / mac (hls/emit/matrix.py) -> dybnn_mvu KIND
KINDS = {"xnor": 0, "signed_add": 1, "mac": 2}
#: estimator FIFO style -> dybnn_fifo STYLE
FIFO_STYLE = {"srl": "srl", "lutram": "distributed", "bram": "block", "uram": "ultra"}
#: estimator memory style -> ram_style
RAM_STYLE = {"lutram": "distributed", "bram": "block", "uram": "ultra"}
#: a dense layer is the matrix unit itself; a convolution adds its window generator (binary and multi-bit weights
#: differ only in the matrix unit's KIND parameter)
MODULE = {
    N.XnorDense: "dybnn_mvu",
    N.FixedDense: "dybnn_mvu",
    N.XnorConv: "dybnn_conv",
    N.FixedConv: "dybnn_conv",
}


def _weights(code: NodeCode, m: dict) -> Mem:
    w = param_array(code, "weights")
    if m["kind"] == "mac":  # [PE][TILES][SIMD] signed
        words, width = pack_rows([(w, m["w_num"].bits)])
    else:
        if m["limbs"]:  # [PE][TILES][LIMBS] 64-bit limbs, least significant first
            lanes = np.empty(w.shape[:2], dtype=object)
            for p in range(w.shape[0]):
                for t in range(w.shape[1]):
                    v = 0
                    for k in range(w.shape[2]):
                        v |= int(w[p, t, k]) << (64 * k)
                    lanes[p, t] = v
            w = lanes
        words, width = pack_rows([(w, m["simd"])])
    return Mem("W", width, tuple(words))


def _stage(code: NodeCode, st: dict) -> tuple[dict, Mem]:
    if st["mode"] == "threshold":
        thr_w = st["thr_num"].bits
        words, width = pack_rows([(param_array(code, "thr"), thr_w), (param_array(code, "invert"), 1)])
        return {"STAGE": 0, "THR_W": thr_w, "OUT_BITS": 1, "OUT_SIGNED": 0}, Mem("P", width, tuple(words))
    mul_w, bias_w = signed_num(st["mul_num"]).bits, signed_num(st["bias_num"]).bits
    words, width = pack_rows([(param_array(code, "mul"), mul_w), (param_array(code, "bias"), bias_w)])
    params = {"STAGE": 1, "MUL_W": mul_w, "BIAS_W": bias_w, "VALUE_W": st["value_num"].bits,
              "REQUANT": bit(st["requant"]), "SHIFT": st.get("shift", 0), "OUT_BITS": st["out"].bits,
              "OUT_SIGNED": bit(st["out"].signed)}  # fmt: skip
    return params, Mem("P", width, tuple(words))


def vec_style(nf: int, sf: int, in_bits: int) -> str:
    """``VEC_STYLE`` of ``dybnn_mvu``'s input vector (``sf`` words of ``in_bits``, kept for the ``nf - 1`` other
    neuron folds) by the estimator's memory rule (:func:`hls.estimate.memory.map_memory`, writable): a block RAM
    when deeper than the LUTRAM bound, else a LUTRAM, except a few words of few bits (at most four words, fewer
    than 16 bits: flip-flops and a LUT multiplexer per bit, cheaper than a RAM32M; Yosys made the same choice for
    these when the vector had no style). Without neuron folds (``nf = 1``) or with one word there is no memory."""
    if nf <= 1 or sf <= 1:
        return "registers"
    if sf <= 4 and sf * in_bits < 16:
        return "registers"
    return "block" if map_memory(sf, in_bits, writable=True).style != "lutram" else "distributed"


def swu_params(swu: dict, has_uram: bool = False) -> dict:
    depth = (swu["kh"] + swu["sh"]) * swu["pw"] * swu["cf"]
    style = RAM_STYLE[map_memory(depth, swu["win_bits"], has_uram=has_uram, writable=True).style]
    return {"H": swu["h"], "W": swu["w"], "PT": swu["pt"], "PL": swu["pl"], "PH": swu["ph"], "PW": swu["pw"],
            "KH": swu["kh"], "KW": swu["kw"], "SH": swu["sh"], "SW": swu["sw"], "OH": swu["oh"], "OW": swu["ow"],
            "CF": swu["cf"], "DATA_W": swu["data_bits"], "WIN_W": swu["win_bits"], "PAD_ONES": bit(swu["pad_ones"]),
            "LB_STYLE": style}  # fmt: skip


@rtl_module(N.XnorDense, N.XnorConv, N.FixedDense, N.FixedConv)
def _matrix(env: NodeEnv, code: NodeCode) -> Instance:
    m = code.context["mvu"]
    swu = code.context["swu"]
    stage, pmem = _stage(code, m["stage"])
    params = {"PE": m["pe"], "SIMD": m["simd"], "NF": m["nf"], "SF": m["sf"], "KIND": KINDS[m["kind"]],
              "MASKED": bit(m["masked"]), "X_W": m["x"].bits, "X_SIGNED": bit(m["x"].signed), "IN_W": m["in_bits"],
              "W_W": m["w_num"].bits if m["w_num"] is not None else 1, "ACC_W": m["acc_num"].bits, **stage,
              "VEC_STYLE": vec_style(m["nf"], m["sf"], m["in_bits"])}  # fmt: skip
    if isinstance(env.node, (N.XnorConv, N.FixedConv)):
        params = {"HAS_SWU": bit(swu is not None), **params}
        if swu is not None:
            params.update(swu_params(swu, env.has_uram))
            depth = swu["win_depth"]  # hls.timing.window_buffer_depth, as the HLS project declares it
            params["WIN_DEPTH"] = depth
            params["WIN_STYLE"] = FIFO_STYLE[fifo_cost(depth, m["in_bits"], has_uram=env.has_uram).style]
        else:  # the stream word is the matrix unit's input word
            params["DATA_W"] = m["in_bits"]
    return with_rom(Instance(MODULE[type(env.node)], params, [_weights(code, m), pmem]))


@rtl_module(N.SlidingWindow)
def _sliding_window(env: NodeEnv, code: NodeCode) -> Instance:
    return Instance("dybnn_sliding_window", swu_params(code.context["swu"], env.has_uram))
