"""Level L3: Numba kernels for every node type, on bit-packed activations (see ``docs/performance.md``).

``KERNELS[cls](node, inputs, in_specs, out_specs) -> outputs`` has the signature and tensor representation of
:data:`hwsim.reference.REFERENCE`, except that bipolar tensors travel as :class:`PackedBits` (uint64 words along
the channel axis, :mod:`hwsim.encoding` order). A kernel accepts a bipolar input either packed or as uint8 bits;
a bipolar output is always packed, and unpacks to the reference's uint8 array wherever numpy asks for an array.
Fixed-point tensors hold the reference's integers but may be stored narrower than int64 (the narrowest signed
type holding the tensor's :class:`~hwsim.types.Fixed` range, :func:`storage_dtype`): the real-valued path of a
network then stays in cache. Kernels accept any signed integer input and compute in int64;
:func:`to_reference` converts a tensor back to the reference representation (``simulate`` does on the way out).

Modules: :mod:`.xnor` (XnorConv/XnorDense, XNOR-popcount), :mod:`.intmm` (FixedConv/FixedDense and the
fixed-point-input binary units), :mod:`.binarize` (InputQuant, Sign, DynamicSign, MultiThreshold),
:mod:`.elementwise` (PReLU, DynamicPReLU, Add, Requant), :mod:`.pool` (AvgPool, MaxPool, GlobalPool),
:mod:`.stream` (SlidingWindow, Concat, Duplicate, Flatten, LabelSelect).
"""

from hwsim.kernels import binarize, elementwise, intmm, pool, stream, xnor  # noqa: F401 - register kernels
from hwsim.kernels.bits import PackedBits, as_array, as_packed, popcount, to_reference
from hwsim.kernels.fixed import storage_dtype
from hwsim.kernels.registry import KERNELS, kernel

__all__ = [
    "KERNELS",
    "PackedBits",
    "as_array",
    "as_packed",
    "kernel",
    "popcount",
    "storage_dtype",
    "to_reference",
]
