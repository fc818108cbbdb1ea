"""RTL generators of DyBNN's dynamic units DynamicSign and DynamicPReLU: ``dybnn_dynamic_core`` (frame buffer,
channel statistics) or, for a hyper function that reads a context vector (``hyper_context: stem``),
``dybnn_dynamic_context`` (context in, no frame buffer), both around ``dybnn_dynamic_hyper`` (the hyper-function
MLP), and the per-channel compare or PReLU lanes; and of HyperContext (``dybnn_hyper_context``: the one frame
buffer, the context vector out). Every width, shift and grid is the HLS emitter's (``hls/emit/dynamic.py``); the
constants are laid out in the order the loops read them."""

from __future__ import annotations

from hls.emit import NodeCode, NodeEnv
from hls.estimate.memory import URAM_WIDTH, map_sequential_buffer, uram_blocks
from hwsim import nodes as N
from rtl.gen_elementwise import RAM_STYLE, num, per_channel_roms, prelu_params, ram_style
from rtl.modules import Instance, Mem, RtlError, bit, param_array, rom, rtl_module, with_rom


def frame_layout(frames: int, words: int, width: int, has_uram: bool = False) -> tuple[str, int]:
    """``(ram_style, pack)`` of a frame buffer of ``frames`` frames of ``words`` words of ``width`` bits, by the
    estimator's rule for a buffer written and read in order (:func:`map_sequential_buffer`): LUTRAM when
    shallow; on a part with URAM, URAM for a buffer of half a URAM288 or more, its rows packed (``dybnn_pack_ram``:
    ``pack`` consecutive words per 72-bit row; a power of two that divides the frame, so that a frame's last word
    completes its row; the one with the fewest URAM288, the smallest among equals); else RAMB18, one word per
    row (``pack`` 1, ``dybnn_ram``)."""
    depth = frames * words
    style = map_sequential_buffer(depth, width, has_uram=has_uram).style
    if style != "uram":
        return RAM_STYLE[style], 1
    packs = [1]
    while packs[-1] * 2 * width <= URAM_WIDTH and words % (packs[-1] * 2) == 0 and depth // (packs[-1] * 4):
        packs.append(packs[-1] * 2)
    return RAM_STYLE[style], min(packs, key=lambda k: (uram_blocks(depth // k, k * width), k))


def hyper_instance(env: NodeEnv, code: NodeCode) -> tuple[dict[str, int | str], list[Mem]]:
    """Parameters and ROMs of ``dybnn_dynamic_core`` (``hls.emit.dynamic.hyper_ctx``)."""
    c = code.context
    h = c["hyper"]
    if h["hidden"].signed:
        raise RtlError(f"node {env.node.name!r}: the hyper function's hidden layer must be unsigned")
    pe = h["pe"]
    params: dict[str, int | str] = {
        "PE": pe, "CF": c["cf"], "PIXELS": c["pixels"], **num("X", c["x"]), "PRE": bit(h["pre"]),
        "PRE_BITS": h["pre_bits"] or 1, "PRE_SIGNED": bit(h["pre_signed"]), "PRE_SHIFT": h["pre_shift"],
        "SUM_BITS": h["sum_num"].bits, **num("STAT", h["stat"]), "STAT_SHIFT": h["stat_shift"], "HD": h["hd"],
        **num("W1", h["w1_num"]), "L1_BITS": h["l1_num"].bits, "A1": h["a1"], **num("B1", h["b1_num"]),
        "H1_BITS": h["h1_num"].bits, "HID_BITS": h["hidden"].bits, "HID_SHIFT": h["hidden_shift"], "NOF": h["nof"],
        **num("W2", h["w2_num"]), "L2_BITS": h["l2_num"].bits, "A2": h["a2"], **num("B2", h["b2_num"]),
        "Z_BITS": h["z_num"].bits, "FZ": h["fz"], "ACT": bit(h["act"]), "ACT_BITS": h["act_bits"] or 1,
        "ACT_SIGNED": bit(h["act_signed"]), "ACT_SHIFT": h["act_shift"], "SQUASH": bit(h["squash"]),
        "SQ_STEPS": max(1, h["sq_steps"]), "SQ_LO": h["sq_lo"], "DELTA_BITS": h["delta_num"].bits,
    }  # fmt: skip
    w1 = param_array(code, "w1")  # [PE][HD][CF]: word j*CF + cf, the layer-1 loop order
    w2 = param_array(code, "w2")  # [PE][NOF][HD]: word of*HD + j, the layer-2 loop order
    b1 = param_array(code, "b1")  # [HD]
    b2 = param_array(code, "b2")  # [PE][NOF]
    nums = {p.name: p.num for p in code.params}
    mems = [
        rom("W1", [(w1.reshape(pe, -1), nums["w1"].bits)]),
        rom("B1", [(b1.reshape(1, -1), nums["b1"].bits)]),
        rom("W2", [(w2.reshape(pe, -1), nums["w2"].bits)]),
        rom("B2", [(b2, nums["b2"].bits)]),
    ]
    if h["squash"]:
        params.update(num("SQ", nums["sq_thr"]))
        mems.append(rom("SQ", [(param_array(code, "sq_thr").reshape(1, -1), nums["sq_thr"].bits)]))
    else:
        params.update(SQ_BITS=1, SQ_SIGNED=0)
    if c["context"]:  # no frame buffer: the context (HCF words) in, two banks of deltas
        params.update(CONTEXT=1, HCF=h["cf"])
        params["STAT_STYLE"] = ram_style(h["cf"], pe * h["stat"].bits, env.has_uram)
        params["DELTA_STYLE"] = ram_style(2 * c["cf"], pe * h["delta_num"].bits, env.has_uram)
        return params, mems
    nb = c["buffers"]  # the folding's frames in the frame buffer
    params["BUFFERS"] = nb
    nfwd = len(c["forward"])  # outputs 2, 3: the buffered frame for the shortcut (hls.timing.forward_frames)
    if nfwd > 2:
        raise RtlError(
            f"node {env.node.name!r}: the RTL module forwards its frame to at most 2 shortcuts, not {nfwd}"
        )
    params["NFWD"] = nfwd
    params["FRAME_STYLE"], params["FRAME_PACK"] = frame_layout(nb, c["words"], pe * c["x"].bits, env.has_uram)
    params["STAT_STYLE"] = ram_style(nb * c["cf"], pe * h["sum_num"].bits, env.has_uram)
    params["DELTA_STYLE"] = ram_style(nb * c["cf"], pe * h["delta_num"].bits, env.has_uram)
    return params, mems


#: the tables ``dybnn_dynamic_rom`` keeps as modules of their own where :func:`keep_rom` says so (``<NAME>_KEEP``)
KEPT_TABLES = ("B2", "TAU", "GAMMA", "ZETA", "BETA")


def keep_rom(words: tuple[int, ...] | list[int], style: str) -> bool:
    """A LUT ROM of more than four words whose words are not all equal (a column that is not constant) is a
    module of its own (``keep_hierarchy``): flattened, its late address made ABC9 rebuild every column around the
    address logic (trained weights, docs/estimation.md). A constant table stays inline, where its constants
    remove the logic they feed (a zero bias's adder); up to four words the columns are flip-flops of the address
    bits (no LUT ROM)."""
    return style == "distributed" and len(words) > 4 and len(set(words)) > 1


def _styled(inst: Instance) -> Instance:
    """rom_style of every ROM by the estimator's rule, except the squash table: every PE reads SQ_STEPS of its
    entries in one cycle, so it is logic (LUT ROM, as the estimator counts it), declared in the module; and
    ``<NAME>_KEEP`` of the bias and per-channel tables (:func:`keep_rom`)."""
    with_rom(inst)
    inst.params.pop("SQ_STYLE", None)
    for m in inst.mems:
        if m.name in KEPT_TABLES:
            inst.params[f"{m.name}_KEEP"] = bit(keep_rom(m.words, str(inst.params[f"{m.name}_STYLE"])))
    return inst


@rtl_module(N.DynamicSign)
def _dynamic_sign(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    params, mems = hyper_instance(env, code)
    p, m = per_channel_roms(code, ("tau",))
    params.update(p, CMP_BITS=c["cmp_num"].bits, SHIFT_X=c["shift_x"], SHIFT_DELTA=c["shift_delta"])
    return _styled(Instance("dybnn_dynamic_sign", params, mems + m))


@rtl_module(N.DynamicPReLU)
def _dynamic_prelu(env: NodeEnv, code: NodeCode) -> Instance:
    c = code.context
    params, mems = hyper_instance(env, code)
    p, m = per_channel_roms(code, ("gamma", "zeta", "beta"))
    params.update(p, **prelu_params(c), G_DELTA_SHIFT=c["g_delta_shift"], Z_DELTA_SHIFT=c["z_delta_shift"])
    return _styled(Instance("dybnn_dynamic_prelu", params, mems + m))


@rtl_module(N.HyperContext)
def _hyper_context(env: NodeEnv, code: NodeCode) -> Instance:
    """The one frame buffer of a ``hyper_context: stem`` network: frame in with the channel statistics (as a
    dynamic unit's, ``hls.emit.dynamic`` HyperContext context), the context out, then the frame out."""
    c = code.context
    h = c["hyper"]
    pe, nb = c["pe"], c["buffers"]
    params: dict[str, int | str] = {
        "PE": pe, "CF": c["cf"], "PIXELS": c["pixels"], **num("X", c["x"]), "PRE": bit(h["pre"]),
        "PRE_BITS": h["pre_bits"] or 1, "PRE_SIGNED": bit(h["pre_signed"]), "PRE_SHIFT": h["pre_shift"],
        "SUM_BITS": h["sum_num"].bits, **num("STAT", h["stat"]), "STAT_SHIFT": h["stat_shift"],
        "STAT_STYLE": ram_style(nb * c["cf"], pe * h["sum_num"].bits, env.has_uram), "BUFFERS": nb,
    }  # fmt: skip
    params["FRAME_STYLE"], params["FRAME_PACK"] = frame_layout(nb, c["words"], pe * c["x"].bits, env.has_uram)
    return Instance("dybnn_hyper_context", params, [])


__all__ = ["KEPT_TABLES", "frame_layout", "hyper_instance", "keep_rom"]
