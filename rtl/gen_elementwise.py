"""RTL generators of the channel-wise nodes: Requant, Add, PReLU, Concat, GlobalPool (one word per cycle; the
module files say what each computes). Every width and shift is the HLS emitter's (``hls/emit/elementwise.py``)."""

from __future__ import annotations

import numpy as np

from hls.emit import NodeCode, NodeEnv, Num
from hls.estimate.memory import map_memory
from hwsim import nodes as N
from rtl.modules import Instance, Mem, RtlError, bit, rom, rtl_module, with_rom

#: estimator memory style -> ram_style
RAM_STYLE = {"lutram": "distributed", "bram": "block", "uram": "ultra", "none": "distributed"}


def ram_style(depth: int, width: int, has_uram: bool = False) -> str:
    """``ram_style`` of a writable buffer by the estimator's memory rule (:func:`hls.estimate.memory.map_memory`;
    ``ultra`` only on a part with URAM)."""
    return RAM_STYLE[map_memory(depth, width, has_uram=has_uram, writable=True).style]


def num(prefix: str, n: Num) -> dict[str, int]:
    """``<prefix>_BITS`` and ``<prefix>_SIGNED`` of an element type."""
    return {f"{prefix}_BITS": n.bits, f"{prefix}_SIGNED": bit(n.signed)}


def requant_params(c: dict, out: Num) -> dict[str, int]:
    """The optional final requantization of an exact value (``hls.emit.elementwise.requant_ctx``)."""
    if not c["requant"]:
        return {"REQUANT": 0, **num("OUT", out), "SHIFT": 0}
    return {"REQUANT": 1, "OUT_BITS": c["out_bits"], "OUT_SIGNED": bit(c["out_signed"]), "SHIFT": c["shift"]}


def prelu_params(c: dict) -> dict[str, int]:
    """Grids and widths of ``PReLU_beta(x - g) + z`` (``hls.emit.elementwise.prelu_ctx``) and its requantization."""
    return {"SHIFT_X": c["shift_x"], "D_BITS": c["d_num"].bits, "SHIFT_POS": c["shift_pos"], "P_BITS": c["p_num"].bits,
            "SHIFT_P": c["shift_p"], "R_BITS": c["y_num"].bits, "OUT_BITS": c["out_bits"],
            "OUT_SIGNED": bit(c["out_signed"]), "SHIFT": c["shift"]}  # fmt: skip


def per_channel_roms(code: NodeCode, names: tuple[str, ...]) -> tuple[dict[str, int], list[Mem]]:
    """ROMs of per-channel constants laid out ``[PE][CF]`` (word ``cf``, PE lanes): ``<NAME>_BITS/_SIGNED`` and the
    memories ``<NAME>``."""
    params: dict[str, int] = {}
    mems = []
    for name in names:
        a = next(p for p in code.params if p.name == name)
        params.update(num(name.upper(), a.num))
        mems.append(rom(name.upper(), [(np.asarray(a.data), a.num.bits)]))
    return params, mems


@rtl_module(N.Requant)
def _requant(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    return Instance("dybnn_requant", {"PE": c["pe"], **num("X", c["x"]), "OUT_BITS": c["out_bits"],
                                      "OUT_SIGNED": bit(c["out_signed"]), "SHIFT": c["shift"]})  # fmt: skip


@rtl_module(N.Add)
def _add(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    return Instance("dybnn_add", {"PE": c["pe"], **num("A", c["a"]), **num("B", c["b"]), "SHIFT_A": c["shift_a"],
                                  "SHIFT_B": c["shift_b"], "SUM_BITS": c["sum_num"].bits,
                                  **requant_params(c, c["out"])})  # fmt: skip


@rtl_module(N.PReLU)
def _prelu(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    params, mems = per_channel_roms(code, ("gamma", "zeta", "beta"))
    return with_rom(Instance("dybnn_prelu", {"PE": c["pe"], "CF": c["cf"], **num("X", c["x"]), **params,
                                             **prelu_params(c)}, mems))  # fmt: skip


@rtl_module(N.Concat)
def _concat(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    ins = c["inputs"]
    if not 2 <= len(ins) <= 4:
        raise RtlError(f"node {env.node.name!r}: the RTL Concat takes 2 to 4 inputs, got {len(ins)}")
    params: dict[str, int | str] = {"N_IN": len(ins), "PE": c["pe"], "OUT_BITS": c["out"].bits}
    for k, s in enumerate(ins):
        params.update({f"CF{k}": s["cf"], f"BITS{k}": s["num"].bits, f"SIGNED{k}": bit(s["num"].signed),
                       f"SHIFT{k}": s["shift"]})  # fmt: skip
    return Instance("dybnn_concat", params, packed_inputs=True)


def pre_params(c: dict) -> dict[str, int]:
    """The optional per-element requantization before a channel sum (GlobalPool.pre, HyperFunction.pre)."""
    return {"PRE": bit(c["pre"]), "PRE_BITS": c["pre_bits"] or 1, "PRE_SIGNED": bit(c["pre_signed"]),
            "PRE_SHIFT": c["pre_shift"]}  # fmt: skip


@rtl_module(N.GlobalPool)
def _global_pool(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    style = ram_style(c["cf"], c["pe"] * c["sum_num"].bits, env.has_uram)
    return Instance("dybnn_global_pool", {"PE": c["pe"], "CF": c["cf"], "PIXELS": c["pixels"], **num("X", c["x"]),
                                          **pre_params(c), "SUM_BITS": c["sum_num"].bits, **requant_params(c, c["out"]),
                                          "RAM_STYLE": style})  # fmt: skip


__all__ = ["num", "per_channel_roms", "pre_params", "prelu_params", "ram_style", "requant_params"]
