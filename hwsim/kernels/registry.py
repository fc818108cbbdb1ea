"""The kernel registry, the per-node cache of prepared (packed, transposed) parameters, and the thread policy."""

from __future__ import annotations

import contextlib
import functools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numba
import numpy as np

from hwsim.registry import Registry

KERNELS = Registry("Numba kernel")

_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: Work items of a parallel kernel are split into at most this many contiguous chunks; each chunk allocates its
#: scratch buffers once (so buffers are per thread, never shared) and ``prange`` spreads chunks over threads.
PARALLEL_CHUNKS = 64

#: A kernel call estimated to take less than this (single-threaded, in ns) runs on the calling thread only: a
#: parallel launch costs tens of microseconds on an idle machine, and a full scheduler time slice (milliseconds)
#: whenever another process holds a core, which would dominate small nodes.
SERIAL_NS = 200_000


def elements(x: Any) -> int:
    """Number of logical elements of a kernel tensor (packed bits count as their bits)."""
    shape = getattr(x, "shape", None)
    return int(np.prod(shape)) if shape is not None else 0


def default_cost(node: Any, ins: list, in_specs: list, out_specs: list | None) -> float:
    """About 1 ns per input element: elementwise nodes, pooling, packing."""
    return float(sum(elements(x) for x in ins))


@contextlib.contextmanager
def threads_for(cost_ns: float) -> Iterator[None]:
    """Run the body on one thread when ``cost_ns`` is below :data:`SERIAL_NS` (``numba.set_num_threads`` is
    thread-local and the parallel kernels then execute in the caller)."""
    if numba.config.DISABLE_JIT or cost_ns >= SERIAL_NS or numba.get_num_threads() == 1:
        yield
        return
    prev = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(prev)


def kernel(cls: type, cost: Callable[..., float] = default_cost) -> Callable:
    """Register the Numba kernel of a node type: ``fn(node, inputs, in_specs, out_specs) -> outputs``.

    ``cost(node, inputs, in_specs, out_specs)`` estimates the single-threaded time in ns; small calls run on one
    thread (:func:`threads_for`).
    """

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(node, ins, in_specs, out_specs):
            with threads_for(cost(node, ins, in_specs, out_specs)):
                return fn(node, ins, in_specs, out_specs)

        return run

    return KERNELS.register(cls, wrap=wrap)


def prepared(node: Any, key: str, build: Callable[[], Any]) -> Any:
    """``build()`` once per (node, key): nodes are immutable, so packed weights can be reused across calls."""
    per_node = _PREPARED.setdefault(node, {})
    if key not in per_node:
        per_node[key] = build()
    return per_node[key]
