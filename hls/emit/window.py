"""Emitters of the sliding-window nodes (SlidingWindow, MaxPool, AvgPool) and the window-generator context that
the convolutions share (``hls/templates/_swu.hpp.j2``)."""

from __future__ import annotations

from hls.emit import EmitError, Iv, NodeCode, NodeEnv, emitter, frac_of, num_of, port
from hls.emit.elementwise import requant_ctx
from hls.timing import window_buffer_depth
from hwsim import nodes as N
from hwsim.types import Bipolar


def swu_ctx(win: N.Window, simd: int, bits: int, masked: bool, pad_ones: bool) -> dict:
    """Context of one sliding-window generator: the node's :class:`~hwsim.nodes.Window`, word width and what
    the padding holds.

    ``masked``: padded words carry a cleared valid bit (0-padding of bits, or max-pool padding that must be
    ignored); otherwise padded words hold all ones (``pad_ones``, bipolar +1) or all zeros (-1, or fixed 0).
    """
    cf = win.c // simd
    emit = win.ow * win.kh * win.kw * cf  # window words per output row
    return {"h": win.h, "w": win.w, "c": win.c, "kh": win.kh, "kw": win.kw, "sh": win.sh, "sw": win.sw,
            "pt": win.pt, "pl": win.pl, "ph": win.ph, "pw": win.pw, "oh": win.oh, "ow": win.ow, "cf": cf,
            "simd": simd, "data_bits": simd * bits, "masked": masked, "pad_ones": pad_ones, "pad": win.pad,
            "win_bits": simd * bits + (1 if masked else 0), "emit": emit,
            "row_max": max(emit, win.sh * win.pw * cf)}  # fmt: skip


@emitter(N.SlidingWindow)
def _sliding_window(env: NodeEnv) -> NodeCode:
    node: N.SlidingWindow = env.node
    pe = env.fold.pe
    bipolar = isinstance(env.in_spec.dtype, Bipolar)
    if not bipolar and node.pad_value != 0:
        raise EmitError(f"node {node.name!r}: a fixed-point SlidingWindow pads with 0")
    x = num_of(env.in_spec)
    swu = swu_ctx(node.window(env.in_spec.shape), pe, x.bits, False, bipolar and node.pad_value > 0)
    kh, kw = node.kernel
    return NodeCode(
        "sliding_window.hpp.j2", {"swu": swu, "pe": pe}, [], ("swu",), (port(env, node.inputs[0], pe),),
        (port(env, node.outputs[0], pe),),
        f"{kh}x{kw} windows, stride {node.stride}, pad {node.pad} with {node.pad_value:+d}, SIMD = {pe}",
    )  # fmt: skip


@emitter(N.MaxPool, N.AvgPool)
def _pool(env: NodeEnv) -> NodeCode:
    node = env.node
    pe = env.fold.pe
    x = num_of(env.in_spec)
    bipolar = isinstance(env.in_spec.dtype, Bipolar)
    is_max = isinstance(node, N.MaxPool)
    pad = node.pad
    swu = swu_ctx(node.window(env.in_spec.shape), pe, x.bits, is_max and any(pad), False)
    swu["win_depth"] = window_buffer_depth(env.graph, node, env.fold)
    kk = node.kernel[0] * node.kernel[1]
    ctx = {"swu": swu, "pe": pe, "x": x, "out": num_of(env.out_spec), "kk": kk, "pixels": swu["oh"] * swu["ow"],
           "is_max": is_max, "bipolar": bipolar, "requant": False}  # fmt: skip
    if is_max:
        summary = (
            "window maximum (OR on bits), padding ignored" if any(pad) else "window maximum (OR on bits)"
        )
    else:
        fx = frac_of(env, env.in_spec)
        total = Iv.of(env.ranges.step("window sum"))
        ctx.update(sum_num=total.num, pool_shift=node.shift, **requant_ctx(node.out, fx + node.shift))
        summary = f"window sum times 2^-{node.shift}" + (
            f", requantized to {node.out}" if node.out else " (exact)"
        )
    kh, kw = node.kernel
    return NodeCode(
        "max_pool.hpp.j2" if is_max else "avg_pool.hpp.j2", ctx, [], ("swu", "pool"), (port(env, node.inputs[0], pe),),
        (port(env, node.outputs[0], pe),), f"{kh}x{kw} stride {node.stride} {summary}, PE = {pe}",
    )  # fmt: skip


__all__ = ["swu_ctx"]
