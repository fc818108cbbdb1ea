"""Code generation: one emitter per node type, registered with ``@emitter(NodeType)``.

An emitter turns one hardware-graph node into a :class:`NodeCode`: the Jinja2 template of its header
(``hls/templates/<node>.hpp.j2``) with a context of plain values (integers, booleans, :class:`Num` types, lists),
its parameter arrays (written to ``params/<node>.h``), the labels of its pipelined loops (counted in the
C simulation, see :mod:`hls.cycles`) and the word layout of its input and output streams. Emitters build no C++
text; templates do all the C++.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
import numpy as np

from hls.folding import Fold
from hwsim import nodes as N
from hwsim.graph import HwGraph
from hwsim.ranges import Interval, NodeRanges, bits_for, node_ranges, signed_bits_for
from hwsim.registry import Registry
from hwsim.types import Bipolar, Fixed, Float, Index, TensorSpec


class EmitError(ValueError):
    """A node cannot be generated (unsupported combination of fields); the message names the node."""


@dataclass(frozen=True)
class Num:
    """An integer type of the generated code: ``ap_int<bits>`` (signed) or ``ap_uint<bits>``."""

    bits: int
    signed: bool

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


@dataclass(frozen=True)
class Port:
    """One end of a stream at a node: ``elems`` elements of type ``num`` per word."""

    tensor: str
    elems: int
    num: Num

    @property
    def width(self) -> int:
        return self.elems * self.num.bits


@dataclass(frozen=True)
class ParamArray:
    """A constant array of a node: integer ``data`` of any shape, stored as ``num`` in the HLS design."""

    name: str
    num: Num
    data: np.ndarray
    comment: str


@dataclass
class NodeCode:
    template: str
    context: dict[str, Any]
    params: list[ParamArray]
    loops: tuple[str, ...]
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    summary: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NodeEnv:
    """What an emitter sees: the graph, the node, its folding and its C identifier; ``has_uram``: the target
    part has UltraRAM (the RTL generators' memory styles follow the estimator's rule for the part)."""

    graph: HwGraph
    node: N.Node
    fold: Fold
    ident: str
    has_uram: bool = False

    def spec(self, tensor: str) -> TensorSpec:
        return self.graph.spec(tensor)

    @property
    def in_spec(self) -> TensorSpec:
        return self.graph.spec(self.node.inputs[0])

    @property
    def out_spec(self) -> TensorSpec:
        return self.graph.spec(self.node.outputs[0])

    @property
    def ranges(self) -> NodeRanges:
        """The node's intervals from the one range analysis (:func:`hwsim.ranges.node_ranges`)."""
        return node_ranges(self.node, [self.graph.spec(t) for t in self.node.inputs])


#: node type -> ``fn(NodeEnv) -> NodeCode``
EMITTERS = Registry("HLS emitter")


def emitter(*classes: type) -> Callable:
    """Register the code generator of one or more node types."""
    return EMITTERS.register(*classes)


def emit_node(env: NodeEnv) -> NodeCode:
    fn = EMITTERS.get(type(env.node))
    if fn is None:
        raise EmitError(f"node {env.node.name!r}: no HLS emitter for node type {env.node.op_type}")
    return fn(env)


# ------------------------------------------------------------------------------------------------- helpers

_CPP_RESERVED = {
    "alignas", "alignof", "and", "and_eq", "asm", "auto", "bitand", "bitor", "bool", "break", "case", "catch",
    "char", "char16_t", "char32_t", "class", "compl", "const", "constexpr", "const_cast", "continue", "decltype",
    "default", "delete", "do", "double", "dynamic_cast", "else", "enum", "explicit", "export", "extern", "false",
    "float", "for", "friend", "goto", "if", "inline", "int", "long", "mutable", "namespace", "new", "noexcept",
    "not", "not_eq", "nullptr", "operator", "or", "or_eq", "private", "protected", "public", "register",
    "reinterpret_cast", "return", "short", "signed", "sizeof", "static", "static_assert", "static_cast", "struct",
    "switch", "template", "this", "thread_local", "throw", "true", "try", "typedef", "typeid", "typename", "union",
    "unsigned", "using", "virtual", "void", "volatile", "wchar_t", "while", "main", "std", "hls", "dybnn",
    "ap_int", "ap_uint", "ap_fixed", "ap_ufixed", "dybnn_common", "dybnn_top",
}  # fmt: skip


def c_ident(name: str, taken: set[str] | None = None) -> str:
    """A valid, unreserved C++ identifier for ``name``; unique within ``taken`` (which it updates) if given.

    Letters, digits and ``_`` are kept, every other character becomes ``_``; a leading digit, a reserved word
    or a name starting with ``_`` followed by an upper-case letter / ``__`` gets a prefix ``n_``.
    """
    s = re.sub(r"[^0-9A-Za-z_]", "_", name) or "n"
    if (
        s[0].isdigit()
        or s in _CPP_RESERVED
        or keyword.iskeyword(s)
        or s.startswith("__")
        or re.match(r"_[A-Z]", s)
    ):
        s = "n_" + s
    if taken is not None:
        base, i = s, 2
        while s in taken:
            s = f"{base}_{i}"
            i += 1
        taken.add(s)
    return s


def num_of(spec: TensorSpec) -> Num:
    """Element type of a tensor on a stream."""
    d = spec.dtype
    if isinstance(d, Fixed):
        return Num(d.bits, d.signed)
    if isinstance(d, Bipolar):
        return Num(1, False)
    if isinstance(d, Index):
        return Num(d.bits, False)
    if isinstance(d, Float):
        return Num(32, False)
    raise EmitError(f"unsupported tensor type {d}")


def frac_of(env: NodeEnv, spec: TensorSpec, what: str = "input") -> int:
    if not isinstance(spec.dtype, Fixed):
        raise EmitError(
            f"node {env.node.name!r} ({env.node.op_type}): {what} must be fixed point, got {spec.dtype}"
        )
    return spec.dtype.frac


def port(env: NodeEnv, tensor: str, elems: int) -> Port:
    return Port(tensor, elems, num_of(env.spec(tensor)))


def elems_of(spec: TensorSpec) -> int:
    n = 1
    for d in spec.shape:
        n *= d
    return n


def num_for(lo: int, hi: int) -> Num:
    """Smallest signed type holding ``[lo, hi]`` (intermediates are always signed)."""
    return Num(signed_bits_for(lo, hi), True)


def storage_num(a: np.ndarray) -> Num:
    """Smallest type (unsigned when possible) holding every value of ``a``."""
    if a.size == 0:
        return Num(1, False)
    return Num(*bits_for(int(a.min()), int(a.max())))


class Iv(Interval):
    """An :class:`hwsim.ranges.Interval` that also names its C++ type (:attr:`num`); ``Iv.of`` takes a
    :class:`Num` too. Ranges come from :mod:`hwsim.ranges` (the one range analysis); emitters only convert."""

    @property
    def num(self) -> Num:
        return num_for(self.lo, self.hi)


def shift_amount(env: NodeEnv, amount: int, what: str) -> int:
    """A left shift that aligns one grid to a finer one must not be negative."""
    if amount < 0:
        raise EmitError(f"node {env.node.name!r}: {what} needs a right shift of {-amount} bits (not exact)")
    return amount


def per_pe(values: np.ndarray, pe: int) -> np.ndarray:
    """Lay out per-channel values ``(C, ...)`` as ``[PE][C/PE][...]``: channel ``c = nf*PE + p`` -> ``[p][nf]``."""
    c = values.shape[0]
    return np.ascontiguousarray(values.reshape(c // pe, pe, *values.shape[1:]).swapaxes(0, 1))


# ------------------------------------------------------------------------------------------------- jinja


def _ap(n: Num) -> str:
    return f"ap_{'' if n.signed else 'u'}int<{n.bits}>"


def _c_bool(v: bool) -> str:
    return "true" if v else "false"


def _c_hex(v: int) -> str:
    v = int(v)
    return f"0x{v:x}" + ("ULL" if v > 0xFFFFFFFF else "")


def _c_int(v: int) -> str:
    v = int(v)
    if -(2**31) <= v < 2**31:
        return str(v)
    return f"{v}LL" if v > 0 else f"(-{-v - 1}LL - 1)"


def _pod(n: Num) -> str:
    for b in (8, 16, 32, 64):
        if n.bits <= b:
            return f"{'' if n.signed else 'u'}int{b}_t"
    raise EmitError(f"no plain integer type holds {n.bits} bits")


_ENV: jinja2.Environment | None = None


def jinja_env(package: str, **filters: Callable) -> jinja2.Environment:
    """A Jinja2 environment over ``package``'s ``templates/`` as every back end renders them (StrictUndefined,
    trim_blocks, lstrip_blocks, the trailing newline kept, no escaping), with the back end's filters."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters.update(filters)
    return env


def template_env() -> jinja2.Environment:
    """The Jinja2 environment of the HLS templates."""
    global _ENV
    if _ENV is None:
        _ENV = jinja_env("hls", ap=_ap, c_bool=_c_bool, c_hex=_c_hex, c_int=_c_int, pod=_pod)
    return _ENV


# register the emitters
from hls.emit import dynamic, elementwise, matrix, window  # noqa: E402,F401

__all__ = [
    "EMITTERS",
    "EmitError",
    "Iv",
    "NodeCode",
    "NodeEnv",
    "Num",
    "ParamArray",
    "Port",
    "c_ident",
    "emit_node",
    "emitter",
    "template_env",
]
