"""``hwsim.registry``: one registration style for every plug-in, and every node type in every registry it needs
(the checklist of docs/architecture.md)."""

from __future__ import annotations

import pytest

from hls.cycles import CYCLES, LOOPS
from hls.emit import EMITTERS
from hls.estimate.registry import ESTIMATORS
from hwsim.infer import INFER
from hwsim.kernels import KERNELS
from hwsim.nodes import NODE_TYPES
from hwsim.reference import REFERENCE
from hwsim.registry import Registry

#: what every node type needs; a host node (the float tail after the accelerator) only the simulator's
EVERY_NODE = (INFER, REFERENCE, KERNELS)
ACCELERATOR_NODE = (EMITTERS, LOOPS, CYCLES, ESTIMATORS)


@pytest.mark.parametrize("op_type", sorted(NODE_TYPES))
def test_every_node_type_is_in_every_registry_it_needs(op_type):
    cls = NODE_TYPES[op_type]
    needs = EVERY_NODE + (() if cls.host else ACCELERATOR_NODE)
    assert [r.concern for r in needs if cls not in r] == []
    if cls.host:
        assert [r.concern for r in ACCELERATOR_NODE if cls in r] == []


def test_a_second_registration_is_an_error():
    reg = Registry("widget")

    @reg.register(int, str)
    def first(x):
        return x

    assert reg[int] is first and reg[str] is first
    with pytest.raises(ValueError, match="two widgets registered for int"):
        reg.register(int)(lambda x: x)
    wrapped = Registry("wrapper").register(float, wrap=lambda fn: lambda x: 2 * fn(x))(lambda x: x)
    assert wrapped(3) == 6
