"""RTL generators of the streaming nodes of D1's part of the library: InputQuant, Sign, MultiThreshold,
Duplicate, Flatten, LabelSelect (one word per cycle; LabelSelect: select, then emit)."""

from __future__ import annotations

from hls.emit import NodeCode, NodeEnv
from hwsim import nodes as N
from rtl.modules import Instance, bit, param_array, rom, rtl_module, with_rom


@rtl_module(N.InputQuant)
def _input_quant(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    mode = 2 if c["key"] else 1 if c["binary"] else 0
    return Instance("dybnn_input_quant", {"PE": c["pe"], "MODE": mode, "OUT_W": c["out"].bits,
                                          "OUT_SIGNED": bit(c["out"].signed), "FRAC": c["frac"]})  # fmt: skip


@rtl_module(N.Sign)
def _sign(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    thr_num = c["thr_num"]
    mem = rom("P", [(param_array(code, "thr"), thr_num.bits), (param_array(code, "invert"), 1)])
    return with_rom(Instance("dybnn_sign", {"PE": c["pe"], "C": c["c"], "X_W": c["x"].bits,
                                            "X_SIGNED": bit(c["x"].signed), "THR_W": thr_num.bits}, [mem]))  # fmt: skip


@rtl_module(N.MultiThreshold)
def _multi_threshold(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    thr_num = c["thr_num"]
    mems = [rom("P", [(param_array(code, "thr"), thr_num.bits)])] if c["steps"] else []
    params = {"PE": c["pe"], "C": c["c"], "X_W": c["x"].bits, "X_SIGNED": bit(c["x"].signed),
              "STEPS": c["steps"], "THR_W": thr_num.bits, "BASE": c["base"], "SUM_W": c["sum_num"].bits,
              "OUT_W": c["out"].bits}  # fmt: skip
    return with_rom(Instance("dybnn_multi_threshold", params, mems))


@rtl_module(N.Duplicate)
def _duplicate(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    return Instance(
        "dybnn_duplicate", {"WIDTH": c["pe"] * c["bits"], "NOUT": c["n_out"]}, packed_outputs=True
    )


@rtl_module(N.Flatten)
def _flatten(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    return Instance("dybnn_flatten", {"WIDTH": c["pe"] * c["bits"]})


@rtl_module(N.LabelSelect)
def _label_select(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    return Instance("dybnn_label_select", {"PE": c["pe"], "C": c["c"], "K": c["k"], "X_W": c["x"].bits,
                                           "X_SIGNED": bit(c["x"].signed), "IDX_W": c["idx_bits"],
                                           "OUT_W": c["out"].bits})  # fmt: skip
