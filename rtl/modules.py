"""The RTL module of every node type: ``@rtl_module(NodeType)`` registers a function that turns one node of the
stream graph into an :class:`Instance` (library module, SV parameters, memory images).

A registered function receives the node's :class:`hls.emit.NodeEnv` and the :class:`hls.emit.NodeCode` its HLS
emitter made: every width (accumulators, thresholds, intermediate values) is taken from that code's context and
parameter arrays, which come from the project's one range analysis, so the RTL and the HLS project compute with
the same types. Timing is not decided here: each library module runs the loop structure that
:mod:`hls.cycles` / :mod:`hls.timing` model.

Memory images: :class:`Mem` holds one integer per memory word; lanes and fields are packed LSB first by
:func:`pack_rows` (lane ``p`` of a PE-wide word at bits ``[p*W, (p+1)*W)``, two's complement truncated), the same
order as a stream word (:mod:`hwsim.encoding`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hls.emit import NodeCode, NodeEnv, Num
from hls.estimate.memory import map_memory
from hwsim import nodes as N
from hwsim.registry import Registry

#: the library of SystemVerilog modules (one file per module, ``<module>.sv``)
LIB_DIR = Path(__file__).parent / "lib"


class RtlError(ValueError):
    """A node cannot be generated as RTL (unsupported combination of fields); the message names the node."""


@dataclass(frozen=True)
class Mem:
    """One memory of an instance: ``words`` (one integer per memory word, ``0 <= w < 2**width``), written to
    ``mem/<instance>_<name>.mem`` and passed as the string parameters ``<NAME>_INIT_FILE`` / ``<NAME>_STYLE``."""

    name: str
    width: int
    words: tuple[int, ...]
    #: "rom" (constants) or "ram" (a buffer the module writes; ``words`` empty)
    kind: str = "rom"
    #: memory depth (``len(words)`` for a ROM)
    depth: int = 0

    @property
    def rows(self) -> int:
        return self.depth or len(self.words)


@dataclass
class Instance:
    """One library module instance: module name, SV parameters (ints, bools or strings) and memories."""

    module: str
    params: dict[str, int | str]
    mems: list[Mem] = field(default_factory=list)
    #: the outputs (Duplicate) / inputs (Concat) are one packed port ``out_tdata`` / ``in_tdata``
    packed_outputs: bool = False
    packed_inputs: bool = False


#: node type -> RTL generator (``@rtl_module``), the project's one registry style (:mod:`hwsim.registry`)
RTL_MODULES = Registry("RTL module")


def rtl_module(*classes: type) -> Callable:
    """Register the RTL generator of one or more node types (a second one for a type is an error)."""
    return RTL_MODULES.register(*classes)


def instance_of(env: NodeEnv, code: NodeCode) -> Instance:
    fn = RTL_MODULES.get(type(env.node))
    if fn is None:
        raise RtlError(f"node {env.node.name!r}: no RTL module for node type {env.node.op_type}")
    return fn(env, code)


def hardware_node_types() -> list[type]:
    """Every node type the accelerator can hold (host-side nodes such as FloatTail excluded)."""
    return [t for t in N.NODE_TYPES.values() if not t.host]


# ------------------------------------------------------------------------------------------------ helpers


def signed_num(n: Num) -> Num:
    """The signed type that holds every value of ``n`` (an unsigned type gains a sign bit)."""
    return n if n.signed else Num(n.bits + 1, True)


def pack_rows(fields: Sequence[tuple[np.ndarray, int]]) -> tuple[list[int], int]:
    """Memory words from per-lane fields: each field is ``(array [lanes][rows] or [lanes][rows][k], bits)``.

    Lane ``p`` of word ``r`` holds the fields in order, LSB first (a ``[lanes][rows][k]`` field holds its ``k``
    values LSB first); lanes are concatenated LSB first. Values are two's complement truncated to ``bits``.
    Returns ``(words, word width)``.
    """
    arrs = []
    lane_w = 0
    for a, bits in fields:
        a = np.asarray(a, dtype=object)
        if a.ndim == 2:
            a = a[:, :, None]
        arrs.append((a, bits, lane_w))
        lane_w += a.shape[2] * bits
    lanes, rows = arrs[0][0].shape[:2]
    words = []
    for r in range(rows):
        w = 0
        for p in range(lanes):
            base = p * lane_w
            for a, bits, off in arrs:
                mask = (1 << bits) - 1
                for k in range(a.shape[2]):
                    w |= (int(a[p, r, k]) & mask) << (base + off + k * bits)
        words.append(w)
    return words, lanes * lane_w


def rom_style(depth: int, width: int) -> str:
    """``rom_style`` of a constant table by the estimator's memory rule (:func:`hls.estimate.memory.map_memory`):
    LUTs when shallow, else block RAM (a ROM needs its initial contents, which UltraRAM cannot hold)."""
    return "distributed" if map_memory(depth, width).style == "lutram" else "block"


def rom(name: str, fields: Sequence[tuple[np.ndarray, int]]) -> Mem:
    words, width = pack_rows(fields)
    return Mem(name, max(1, width), tuple(words))


def bit(v: bool) -> int:
    return 1 if v else 0


def param_array(code: NodeCode, name: str) -> np.ndarray:
    """The HLS emitter's parameter array ``name`` of a node (the RTL generators read the same values)."""
    for a in code.params:
        if a.name == name:
            return np.asarray(a.data)
    raise RtlError(f"{code.template}: the HLS emitter made no parameter array {name!r}")


def with_rom(inst: Instance) -> Instance:
    """Set the ``<MEM>_STYLE`` parameter of each of the instance's memories from its shape (the estimator's
    rule)."""
    for m in inst.mems:
        inst.params[f"{m.name}_STYLE"] = rom_style(m.rows, m.width)
    return inst


def _register_all() -> None:
    """Import every ``rtl/gen_*.py`` (each registers its node types with :func:`rtl_module`)."""
    import importlib
    import pkgutil

    for m in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if m.name.startswith("gen_"):
            importlib.import_module(f"rtl.{m.name}")


_register_all()

__all__ = [
    "LIB_DIR",
    "RTL_MODULES",
    "Instance",
    "Mem",
    "RtlError",
    "hardware_node_types",
    "instance_of",
    "pack_rows",
    "rom",
    "rom_style",
    "rtl_module",
    "signed_num",
]
