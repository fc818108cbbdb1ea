"""One way to register the plug-ins of a node type: a :class:`Registry` per concern, filled by a decorator.

Every concern that depends on the node type keeps a registry from node class to function, filled where the
function is defined with a decorator in the ``@kernel(XnorConv)`` style: :data:`hwsim.reference.REFERENCE`
(``@reference``), :data:`hwsim.kernels.KERNELS` (``@kernel``), :data:`hwsim.infer.INFER` (``@infer_rule``),
:data:`hls.emit.EMITTERS` (``@emitter``), :data:`hls.cycles.LOOPS` (``@loop_rule``),
:data:`hls.estimate.registry.ESTIMATORS` (``@estimator``). Registering a second function for a class is an error
(the import order would otherwise decide which one runs). The lowering's :data:`hwsim.lower.convert.HANDLERS`
(``@handles``) is the same kind of registry keyed by ONNX op type. ``tests/hwsim/test_registry.py`` checks that
every node type is in every registry it needs (``docs/architecture.md``: adding a node type).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class Registry(dict):
    """``node class (or ONNX op type) -> function`` for one concern (``"Numba kernel"``, ``"HLS emitter"``, ...)."""

    def __init__(self, concern: str) -> None:
        super().__init__()
        self.concern = concern

    def register(self, *classes: Any, wrap: Callable[[F], F] | None = None) -> Callable[[F], F]:
        """A decorator that registers its function (or ``wrap(function)``, which it then returns) for
        ``classes``."""

        def deco(fn: F) -> F:
            entry = fn if wrap is None else wrap(fn)
            for c in classes:
                if c in self:
                    raise ValueError(f"two {self.concern}s registered for {getattr(c, '__name__', c)}")
                self[c] = entry
            return entry

        return deco

    def __repr__(self) -> str:
        return f"Registry({self.concern!r}, {len(self)} node types)"
