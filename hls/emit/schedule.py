"""FIFO depths from the pipeline schedule of the dataflow design.

Model (loop iterations = cycles at II=1, as in :mod:`hls.cycles`): every channel ``c`` carries ``W[c]`` words per
frame; its first word leaves at ``T[c]`` and the frame takes ``P[c]`` cycles (the slowest node upstream), so words
arrive every ``P[c] / W[c]`` cycles. A node emits its first word after it has read ``need`` words of its input and
run ``extra`` more iterations (:func:`hls.cycles.first_output`)::

    T[out] = T_start + need * P[in] / W[in] + extra + 1        P[out] = max(P[in], cycles of the node)

where ``T_start`` is the latest first word of its inputs. A node with several inputs (Add, Concat) takes nothing
from an early input before its latest input starts, so that input's FIFO must hold what arrives in between::

    depth_i = min(W_i, ceil((T_start - T[in_i]) * W_i / P[in_i])) + 2

This is the whole frame when the other branch holds a DyBNN dynamic unit (it emits nothing before it has read its
whole frame): the shortcut FIFO is part of the price of a dynamic threshold. Every other FIFO has depth 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_DEPTH = 2


@dataclass(frozen=True)
class StreamTiming:
    first: float  # cycle of the first word
    period: int  # cycles per frame of the slowest node upstream


@dataclass(frozen=True)
class NodeTiming:
    inputs: tuple[str, ...]  # channel variables feeding the node, in port order
    outputs: tuple[str, ...]
    cycles: int
    need: int  # words of the first input read before the first output word
    extra: int  # iterations after those before the first output word
    multi_input: bool  # waits for all inputs (Add, Concat)


def schedule(
    order: list[NodeTiming], inputs: list[str], words: dict[str, int]
) -> tuple[dict[str, StreamTiming], dict[str, int]]:
    """Stream timings and FIFO depths (by channel variable) for nodes in dataflow order.

    ``inputs``: channels fed by the top-level input ports (first word at cycle 0, one word per cycle);
    ``words``: words per frame of every channel.
    """
    timing: dict[str, StreamTiming] = {v: StreamTiming(0.0, words[v]) for v in inputs}
    depth: dict[str, int] = {}
    for nt in order:
        ins = [timing[v] for v in nt.inputs]
        start = max((s.first for s in ins), default=0.0)
        p_in = max((s.period for s in ins), default=0)
        rate = ins[0].period / max(1, words[nt.inputs[0]]) if ins else 1.0  # cycles per input word
        first = start + nt.need * rate + nt.extra + 1
        period = max(p_in, nt.cycles)
        for v in nt.outputs:
            timing[v] = StreamTiming(first, period)
        if nt.multi_input:
            for v, s in zip(nt.inputs, ins, strict=True):
                w = words[v]
                wait = start - s.first
                if wait <= 0:
                    continue
                backlog = math.ceil(wait * w / max(s.period, 1))
                depth[v] = max(DEFAULT_DEPTH, min(w, backlog) + 2)
    return timing, depth
