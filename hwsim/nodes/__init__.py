"""Hardware-graph node types, one module each; :data:`NODE_TYPES` maps ``op_type`` to the class."""

from hwsim.nodes.add import Add
from hwsim.nodes.avg_pool import AvgPool
from hwsim.nodes.base import (
    NODE_TYPES,
    HyperFunction,
    MatrixNode,
    Node,
    NodeValidationError,
    OutputStage,
    Window,
    WindowNode,
)
from hwsim.nodes.concat import Concat
from hwsim.nodes.duplicate import Duplicate
from hwsim.nodes.dynamic_prelu import DynamicPReLU
from hwsim.nodes.dynamic_sign import DynamicSign
from hwsim.nodes.fixed_conv import FixedConv
from hwsim.nodes.fixed_dense import FixedDense
from hwsim.nodes.flatten import Flatten
from hwsim.nodes.float_tail import FloatTail
from hwsim.nodes.global_pool import GlobalPool
from hwsim.nodes.hyper_context import HyperContext
from hwsim.nodes.input_quant import InputQuant
from hwsim.nodes.label_select import LabelSelect
from hwsim.nodes.max_pool import MaxPool
from hwsim.nodes.multi_threshold import MultiThreshold
from hwsim.nodes.prelu import PReLU
from hwsim.nodes.requant import Requant
from hwsim.nodes.sign import Sign
from hwsim.nodes.sliding_window import SlidingWindow
from hwsim.nodes.xnor_conv import XnorConv
from hwsim.nodes.xnor_dense import XnorDense

__all__ = [
    "NODE_TYPES",
    "Add",
    "AvgPool",
    "Concat",
    "Duplicate",
    "DynamicPReLU",
    "DynamicSign",
    "FixedConv",
    "FixedDense",
    "Flatten",
    "FloatTail",
    "GlobalPool",
    "HyperContext",
    "HyperFunction",
    "InputQuant",
    "LabelSelect",
    "MaxPool",
    "MultiThreshold",
    "MatrixNode",
    "Node",
    "NodeValidationError",
    "OutputStage",
    "PReLU",
    "Requant",
    "Sign",
    "SlidingWindow",
    "XnorConv",
    "Window",
    "WindowNode",
    "XnorDense",
]
