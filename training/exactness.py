"""The float32-exactness proof of an export: float32 computes every tensor of the real-valued path exactly.

**The float32 exactness check.** Every tensor on the real-valued path is a fixed-point number: an integer times
a power of two (per tensor, or per channel where the scales are per channel: binary weights, the folded
BatchNorm). Float32 represents such a number exactly as long as the integer has at most 24 significant bits
(``|t| / unit < 2**24``), and then adds and multiplies of such numbers are exact too. :func:`check_exact_range`
runs the model twice on the same input, once as is (float32) and once in float64 (Brevitas
quantizers work in float64: every power-of-two scale and every rounding is the same), with hooks on every module
of the model outside Brevitas' internals (inputs and outputs). For each distinct tensor it

1. computes on the float64 tensor, per channel, the finest power-of-two ``unit`` dividing every element and
   fails when ``max|t_c| / unit_c >= 2**24``; for reductions (convolutions, linear layers, the folded
   scale-bias, sum-pooling, average pooling) it uses the sum of absolute values of the terms, ``f(|x|, |W|)``,
   on the grid ``unit(x) * unit(W_c)``, which bounds every partial sum whatever order the kernel adds in;
2. compares the float32 tensor with the float64 one element by element and fails at the first difference.

It raises :class:`ExportRangeError` naming the module (``blocks.1.0.bn``), the tensor (input or output) and the
value. Not checked: the model input (the input quantizer's job). A tensor consumed only by binary quantizers
(tracked with a ``TorchFunctionMode``) matters only through its sign, and a single rounded IEEE ``a - b`` or
``a * x + b`` (with an exact product) always has the sign of the exact result: for those only the products are
checked (in the FINN topologies the folded BatchNorm before a sign; its 24-bit bias keeps the whole sum exact
anyway).
The check is empirical for that batch (the ranges are the observed ones), except for the reductions over a
feature map, whose sums grow with the map: for sum-pooling (:class:`~training.layers.GlobalSumShift`, which
requantizes every element to 8 bits first) and average pooling the bound is the worst case over every input,
from the bit width of the input's type alone (its quantizer: ``H*W*2**7`` units for the sum-pooling), so that
no calibration and no input can make them inexact (:func:`pooling_bounds` computes the same bounds from one
forward, without the float64 run). For convolutions, linear layers and the folded scale-bias the worst case
from the bit widths, scales and weights (``TensorRange.static_units``) is checked when it is below 2**24 (every
one of the registry: the folded biases live on their accumulator's grid), else the observed bound.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d, QuantLinear, QuantScaleBias
from brevitas.proxy import ActQuantProxyFromInjector
from torch import nn
from torch.overrides import TorchFunctionMode

from training.calibration import ExportError, Progress, synthetic_inputs
from training.layers import (
    DyPReLU,
    GlobalSumShift,
    RPReLU,
    Tanh32,
)

#: float32 represents every integer of magnitude up to 2**24 exactly (24-bit significand).
FLOAT32_EXACT_UNITS = 2**24


class ExportRangeError(ExportError):
    """A tensor of the real-valued path is not exact in float32.

    Attributes:
        module: qualified name of the module whose input or output it is (``blocks.1.0.bn``).
        tensor: ``"output"`` or ``"input"``.
        value: the largest magnitude of the tensor (or of its accumulator bound).
        units: ``value`` in units of the tensor's fixed-point grid (``None`` for a float32/float64 mismatch).
    """

    def __init__(self, message: str, module: str, tensor: str, value: float, units: float | None) -> None:
        super().__init__(message)
        self.module = module
        self.tensor = tensor
        self.value = value
        self.units = units


_NO_GRID = 1 << 30  # exponent stand-in for a zero element (divisible by every power of two)


def _lowbit_exponents(t: torch.Tensor) -> torch.Tensor:
    """Per element, ``e`` such that ``2**e`` is the largest power of two dividing it (``_NO_GRID`` for zeros).

    Works on the exact binary representation: ``t = m * 2**k`` with an integer ``m`` of at most 53 bits, whose
    trailing zero bits raise the exponent.
    """
    t = t.detach().to(torch.float64)
    mant, exp = torch.frexp(t)  # t = mant * 2**exp, 0.5 <= |mant| < 1
    m = torch.ldexp(mant, torch.tensor(53, dtype=torch.int32)).to(torch.int64)  # exact integer, |m| < 2**53
    low = m & -m  # lowest set bit, a power of two
    trailing = torch.frexp(low.to(torch.float64))[1].to(torch.int64) - 1
    e = exp.to(torch.int64) - 53 + trailing
    return torch.where(t == 0, torch.full_like(e, _NO_GRID), e)


def grid_exponent(t: torch.Tensor) -> int | None:
    """``e`` such that ``2**e`` is the largest power of two dividing every element of ``t``; None if all zero."""
    if t.numel() == 0:
        return None
    e = int(_lowbit_exponents(t).min())
    return None if e == _NO_GRID else e


def _per_channel(t: torch.Tensor) -> torch.Tensor:
    """``t`` as ``(C, -1)``: channel (dim 1) first; a 0-d or 1-d tensor is one channel."""
    if t.dim() < 2:
        return t.reshape(1, -1)
    return t.transpose(0, 1).reshape(t.shape[1], -1)


def _channel_units(value: torch.Tensor, grid: torch.Tensor) -> tuple[float, float, int | None]:
    """Largest ``max|value_c| / 2**grid_c`` over channels; returns (units, max|value| there, grid exponent)."""
    vmax = _per_channel(value.abs()).amax(dim=1)
    ok = (grid != _NO_GRID) & (vmax > 0)
    if not bool(ok.any()):
        return 0.0, 0.0, None
    units = torch.where(
        ok, torch.ldexp(vmax, -grid.clamp(-1000, 1000).to(torch.int32)), torch.zeros_like(vmax)
    )
    c = int(units.argmax())
    return float(units[c]), float(vmax[c]), int(grid[c])


def _element_units(t: torch.Tensor) -> tuple[float, float, int | None]:
    """Largest ``|t_i| / 2**e_i`` over elements, ``2**e_i`` the finest power of two dividing ``t_i`` (its own
    significant bits); returns (units, |t_i| there, e_i)."""
    e = _lowbit_exponents(t).reshape(-1)
    v = t.detach().double().abs().reshape(-1)
    ok = e != _NO_GRID
    if not bool(ok.any()):
        return 0.0, 0.0, None
    u = torch.where(ok, torch.ldexp(v, -e.clamp(-1000, 1000).to(torch.int32)), torch.zeros_like(v))
    i = int(u.argmax())
    return float(u[i]), float(v[i]), int(e[i])


def _channel_grid(t: torch.Tensor) -> torch.Tensor:
    return _per_channel(_lowbit_exponents(t)).amin(dim=1)


def _quant_value(q) -> torch.Tensor:
    return q.value if hasattr(q, "value") else q


def _accumulator_bound(
    m: nn.Module, x: torch.Tensor, out: torch.Tensor, with_bias: bool = True
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(sum of |terms|, per-channel grid exponent)`` of a reduction ``out = sum_k x_k w_k + b``, else None.

    The sum of absolute values of the terms bounds every partial sum, whatever order the kernel adds in; the
    terms lie on the grid ``unit(x) * unit(w_c)`` (and the bias on its own; ``with_bias=False`` leaves it out).
    """
    ex = grid_exponent(x)
    if ex is None:
        return None
    if isinstance(m, GlobalSumShift):
        p = module_tensors(m.pre_q.act_quant(x))[
            0
        ]  # the proxy, not the hooked layer (the hooks count events)
        return p.abs().sum(dim=(2, 3)), _channel_grid(p)
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            return None
        s = F.avg_pool2d(x.abs(), m.kernel_size, m.stride, m.padding, m.ceil_mode, True, divisor_override=1)
        return s, _channel_grid(x)
    if isinstance(m, (QuantConv2d, QuantLinear)):
        if isinstance(m, QuantConv2d) and m.padding_mode != "zeros":
            return None
        w = _quant_value(m.quant_weight())
        if isinstance(m, QuantConv2d):
            conv = lambda a, b: F.conv2d(a, b, None, m.stride, m.padding, m.dilation, m.groups)  # noqa: E731
        else:
            conv = lambda a, b: F.linear(a, b)  # noqa: E731
        bias = out - conv(x, w)  # exact in float64 when the check passes
        bound = conv(x.abs(), w.abs())
        wgrid = _lowbit_exponents(w).reshape(w.shape[0], -1).amin(dim=1)
    elif isinstance(m, QuantScaleBias):
        w = _quant_value(m.quant_weight()).view(m.runtime_shape)
        bias = out - x * w
        bound = x.abs() * w.abs()
        wgrid = _channel_grid(w)
    else:
        return None
    if not with_bias:
        return bound, wgrid + ex
    return bound + bias.abs(), torch.minimum(wgrid + ex, _channel_grid(bias))


def _scale_grid(q, w: torch.Tensor) -> torch.Tensor:
    """Per output row, a power-of-two grid dividing every quantized weight: the quantizer's scale (every weight
    is an integer times it) when it is a power of two per row, else the finest grid of the values themselves.

    The scale is at most as coarse as the values' own grid, so a bound in its units is at least as large: the
    proof stays valid, and costs nothing next to inspecting every weight of a 1024x1024x3x3 kernel."""
    rows = w.shape[0]
    scale = getattr(q, "scale", None)
    if isinstance(scale, torch.Tensor) and scale.numel() in (1, rows):
        sc = scale.detach().double().reshape(-1).expand(rows)
        mant, exp = torch.frexp(sc)
        if bool((mant == 0.5).all()):  # every scale a power of two: 0.5 * 2**exp
            return (exp - 1).to(torch.int64)
    return _lowbit_exponents(w).reshape(rows, -1).amin(dim=1)


@dataclass
class _Static:
    """A worst-case bound of a tensor known from the model alone (bit widths, scales, weights), per channel:
    ``|t_c| <= bound[c]`` for every input, on the grid ``2**grid[c]`` (``ref`` keeps the tensor alive)."""

    ref: torch.Tensor
    bound: torch.Tensor
    grid: torch.Tensor


def _act_static(m: nn.Module, t: torch.Tensor) -> _Static | None:
    """The type of a fixed-point (or binary) activation quantizer's output: ``|t| <= maxint * scale``."""
    q = getattr(m, "act_quant", None)
    if not isinstance(q, ActQuantProxyFromInjector) or not q.is_quant_enabled:
        return None
    scale = q.scale()
    bw = q.bit_width()
    if scale is None or bw is None or scale.numel() != 1 or t.dim() < 2:
        return None
    bits = int(bw)
    signed = bool(q.is_signed) if bits > 1 else True
    maxint = 1 if bits == 1 else (2 ** (bits - 1) if signed else 2**bits - 1)
    sc = float(scale)
    g = grid_exponent(torch.tensor([sc], dtype=torch.float64))
    if g is None or 2.0**g != sc:
        return None
    c = t.shape[1]
    return _Static(
        t, torch.full((c,), maxint * sc, dtype=torch.float64), torch.full((c,), g, dtype=torch.int64)
    )


def _static_bound(
    m: nn.Module, x: _Static, out: torch.Tensor, with_bias: bool = True
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """``(bound, grid)`` per output channel of a reduction ``out = sum_k x_k w_k + b`` from the input's static
    type ``x`` (worst case over every input, not the observed one); None for other modules.

    Sum-pooling (:class:`~training.layers.GlobalSumShift`) adds ``H*W`` elements of its 8-bit ``pre_q`` type;
    average pooling ``k`` of ``x``; a convolution or linear layer ``sum_k |x|max |w_ck|`` (zero padding only
    drops terms) plus the bias; the folded scale-bias ``|x|max |a_c| + |b_c|``.
    """
    if isinstance(m, GlobalSumShift):
        pre = _act_static(m.pre_q, out)
        if pre is None:
            return None
        return pre.bound * (x.ref.shape[2] * x.ref.shape[3]), pre.grid
    if isinstance(m, nn.AvgPool2d):
        if m.divisor_override is not None:
            return None
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size, m.kernel_size)
        return x.bound * (k[0] * k[1]), x.grid
    if isinstance(m, (QuantConv2d, QuantLinear)):
        if isinstance(m, QuantConv2d) and (m.padding_mode != "zeros" or m.groups != 1):
            return None
        qw = m.quant_weight()
        w = _quant_value(qw).double()
        wa = w.abs().reshape(w.shape[0], w.shape[1], -1)  # (Cout, Cin, K)
        if wa.shape[1] != x.bound.numel():
            return None
        bound = (wa.sum(dim=2) * x.bound.view(1, -1)).sum(dim=1)
        wgrid = _scale_grid(qw, w)
        grid = wgrid + x.grid.min()
        b = getattr(m, "bias", None)
        if with_bias and b is not None:
            qb = _quant_value(m.quant_bias()).double().reshape(-1)
            bound = bound + qb.abs()
            grid = torch.minimum(grid, _lowbit_exponents(qb))
        return bound, grid
    if isinstance(m, QuantScaleBias):
        a = _quant_value(m.quant_weight()).double().reshape(-1)
        if a.numel() != x.bound.numel():
            return None
        bound = x.bound * a.abs()
        grid = x.grid + _lowbit_exponents(a)
        if with_bias and m.bias is not None:
            qb = _quant_value(m.quant_bias()).double().reshape(-1)
            bound = bound + qb.abs()
            grid = torch.minimum(grid, _lowbit_exponents(qb))
        return bound, grid
    return None


#: reductions over a feature map: checked with their worst case over every input (their size grows with the map)
_POOLING = (GlobalSumShift, nn.AvgPool2d)

#: modules whose output is the union of two fixed-point types (PReLU: ``x - g`` where positive, ``(x - g)*beta``
#: on a finer grid elsewhere): their output is measured element by element, not on the channel's finest grid
_TWO_BRANCH = (RPReLU, DyPReLU)

#: modules whose output has the type of their input (a maximum, a reshape)
_PASS_THROUGH = (nn.MaxPool2d, nn.Identity, nn.Flatten)


def _is_binary_act(m: nn.Module) -> bool:
    q = getattr(m, "act_quant", None)
    if not isinstance(q, ActQuantProxyFromInjector) or not q.is_quant_enabled:
        return False
    bw = q.bit_width()
    return bw is not None and float(bw) == 1.0


def _hooked_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Every module of the model that is not inside a Brevitas layer (whose submodules compute scales)."""
    out, brevitas_layers = [], set()
    for name, m in model.named_modules():
        parts = name.split(".")
        if any(".".join(parts[:i]) in brevitas_layers for i in range(1, len(parts))):
            continue
        if any(k.__module__.startswith("brevitas") for k in type(m).__mro__):  # a Brevitas layer or subclass
            brevitas_layers.add(name)
        if isinstance(m, (nn.ModuleList, nn.ModuleDict)):
            continue
        out.append((name or "<model>", m))
    return out


def module_tensors(obj) -> list[torch.Tensor]:
    """The tensors of a module's input or output (a tensor, a Brevitas QuantTensor, nested tuples), in order."""
    if isinstance(obj, torch.Tensor):
        return [obj]
    if hasattr(obj, "value") and isinstance(obj.value, torch.Tensor):  # a Brevitas QuantTensor
        return [obj.value]
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in module_tensors(o)]
    return []


@dataclass(frozen=True)
class TensorRange:
    """Range of one checked tensor: ``max_abs`` in units of its power-of-two grid (float32 needs < 2**24).

    ``units`` is the largest over channels of ``max|t_c| / unit_c`` (or of the accumulator bound, for reductions).
    """

    module: str
    tensor: str
    shape: tuple[int, ...]
    max_abs: float
    units: float
    #: float32 gave the same values as float64 on the checked input
    exact: bool = True
    #: consumed only by binary quantizers: ``units`` bounds the products only (their sign is what matters)
    sign_only: bool = False
    #: a reduction (convolution, linear layer, scale-bias, pooling): ``units`` bounds its accumulator
    reduction: bool = False
    #: ``units`` is the worst case over every input (a pooling: from the bit widths of its input type), not
    #: the checked batch's
    static: bool = False
    #: a reduction's worst case over every input (input type, scales, weights), where the analysis knows its
    #: input type; checked for the poolings (then ``units``), reported for the matrix units and scale-biases
    static_units: float | None = None

    @property
    def static_bits(self) -> float | None:
        """Significant bits of the worst case (``static_units``), when known."""
        if self.static_units is None:
            return None
        return math.log2(self.static_units) if self.static_units > 0 else 0.0

    @property
    def bits(self) -> float:
        """Significant bits the tensor needs (float32 has 24)."""
        return math.log2(self.units) if self.units > 0 else 0.0

    @property
    def ok(self) -> bool:
        return self.exact and self.units < FLOAT32_EXACT_UNITS


@contextlib.contextmanager
def _hooks(targets: list[tuple[str, nn.Module]], on_tensor, enter=None, leave=None) -> Iterator[None]:
    """Call ``on_tensor(name, module, kind, tensor, module_input)`` for every tensor input and output, and
    ``enter(module)`` / ``leave(module)`` around every forward."""
    handles = []

    def pre(name, module):
        def hook(_m, args):
            for t in module_tensors(args[0]) if args else []:
                on_tensor(name, module, "input", t, None)
            if enter is not None:
                enter(module)

        return hook

    def post(name, module):
        def hook(_m, args, output):
            if leave is not None:
                leave(module)
            ins = module_tensors(args[0]) if args else []
            for t in module_tensors(output):
                on_tensor(name, module, "output", t, ins[0] if ins else None)

        return hook

    try:
        for name, m in targets:
            handles.append(m.register_forward_pre_hook(pre(name, m)))
            handles.append(m.register_forward_hook(post(name, m)))
        yield
    finally:
        for h in handles:
            h.remove()


class _SignOnlyTracker(TorchFunctionMode):
    """Notes, for every hooked tensor, whether only binary quantizers consume it (as a torch-function argument).

    Consumption is attributed to the innermost hooked module running: Brevitas internals are not hooked, so the
    ops inside a binary quantizer count for it; ops in a parent's ``forward`` (``bn(conv(b)) + x``) for the parent.
    """

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[bool] = []  # per running hooked module: is it a binary quantizer
        self.hooked: set[int] = set()
        self.binary_only: dict[int, bool] = {}

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        binary = bool(self.stack) and self.stack[-1]
        for a in _flat(args) + _flat(list(kwargs.values())):
            if isinstance(a, torch.Tensor) and id(a) in self.hooked:
                self.binary_only[id(a)] = self.binary_only.get(id(a), True) and binary
        return func(*args, **kwargs)


def _flat(items) -> list:
    out = []
    for a in items:
        if isinstance(a, (list, tuple)):
            out += _flat(a)
        else:
            out.append(a)
    return out


@torch.no_grad()
def check_exact_range(
    model: nn.Module, x: torch.Tensor, strict: bool = True, *, progress: Progress | None = None
) -> list[TensorRange]:
    """Prove on ``x`` that float32 computes every intermediate of ``model`` (in its current mode) exactly.

    See the module docstring for the method. A tensor is on a per-channel power-of-two grid (per-channel scales
    are part of the fixed-point design: binary weight scales, the folded BatchNorm scale), so the range is
    measured per channel. Not checked: the model input. A tensor consumed only by binary quantizers needs only
    exact products (a single rounded ``a - b`` or ``a * x + b`` with an exact ``a * x`` keeps the sign of the
    exact result); that is checked, and its binary outputs are compared with float64's.
    The model should be in its deployed form (folded, ``eval()``): a float BatchNorm is not on a fixed-point grid.

    Args:
        strict: raise at the first failure; with ``False`` return every range (failures have ``ok == False``).
        progress: called as ``progress("check", done, total)`` over the hooked tensors of the float64 run.

    Returns:
        the range of every checked tensor in execution order (``bits`` shows the headroom).

    Raises:
        ExportRangeError: at the first tensor (in execution order) that is not exact in float32.
    """
    x = x.detach().to(torch.float32)
    # float32 pass: keep every hooked tensor alive (so that ids stay unique) and note who consumes it
    events: list[tuple[str, str, torch.Tensor]] = []
    tracker = _SignOnlyTracker()

    def record(name, module, kind, t, _inp):
        events.append((name, kind, t))
        tracker.hooked.add(id(t))

    def enter(module):
        tracker.stack.append(_is_binary_act(module))

    def leave(module):
        tracker.stack.pop()

    with _hooks(_hooked_modules(model), record, enter, leave), tracker:
        model(x)
    # each tensor once, named after its producer (the first event that sees it); a view of the model input
    # (flatten) is the input too
    mode, seen = [], set()
    for _, _, t in events:
        is_input = t.data_ptr() == x.data_ptr() and t.numel() == x.numel()
        if id(t) in seen or is_input or not t.is_floating_point():
            mode.append("skip")
        else:
            mode.append("sign" if tracker.binary_only.get(id(t), False) else "full")
        seen.add(id(t))

    ranges: list[TensorRange] = []
    position = iter(range(len(events)))

    report_every = max(1, len(events) // 50)

    def check(name, module, kind, t, inp):
        i = next(position, None)
        if progress is not None and i is not None and (i % report_every == 0 or i == len(events) - 1):
            progress("check", i + 1, len(events))
        if i is None or events[i][:2] != (name, kind) or events[i][2].shape != t.shape:
            raise RuntimeError(f"the float64 shadow diverged from the float32 run at {name} {kind}")
        sign_only = mode[i] == "sign"
        sb = None
        if kind == "output":
            xs = _lookup(statics, inp) if inp is not None else None
            if xs is None and isinstance(module, GlobalSumShift) and inp is not None:
                xs = _Static(inp, torch.zeros(0), torch.zeros(0))  # its bound needs only the map size
            sb = _static_bound(module, xs, t, with_bias=not sign_only) if xs is not None else None
            st = _act_static(module, t)
            if st is None and xs is not None and isinstance(module, _PASS_THROUGH):
                st = _Static(t, xs.bound, xs.grid)
            if st is None and sb is not None and t.dim() >= 2 and not sign_only:
                st = _Static(t, *sb)
            if st is not None and id(t) not in statics:
                statics[id(t)] = st
        if mode[i] == "skip":
            return
        t32 = events[i][2]
        where = f"{name} ({kind})"
        if not bool(torch.isfinite(t).all()):
            raise ExportRangeError(f"{where}: non-finite values", name, kind, float("nan"), None)
        max_abs = float(t.abs().max()) if t.numel() else 0.0
        if isinstance(module, Tanh32):
            # an unavoidable float function (docs/numerics.md): evaluated in float32 in both runs, it must feed a quantizer
            if kind == "output":
                exact = bool(torch.equal(t32.to(torch.float64), t))
                ranges.append(TensorRange(name, kind, tuple(t.shape), max_abs, 0.0, exact, False))
                if strict and not exact:
                    raise ExportRangeError(f"{where}: float32 tanh differs from the shadow run", name, kind,
                                           max_abs, None)  # fmt: skip
            return
        # a tensor that only feeds binary quantizers needs exact products; then one rounding keeps the sign
        if sign_only:
            units, value, grid = 0.0, 0.0, None
        elif isinstance(module, _TWO_BRANCH):
            units, value, grid = _element_units(t)
        else:
            units, value, grid = _channel_units(t, _channel_grid(t))
        what = "|value|"
        bound = None
        static_units = _channel_units(sb[0].view(1, -1), sb[1])[0] if sb is not None else None
        # a pooling is checked with its worst case; so is any reduction whose worst case is exact (a proof for
        # every input, and the observed bound is not needed)
        static = sb is not None and (isinstance(module, _POOLING) or static_units < FLOAT32_EXACT_UNITS)
        if static:
            bound, what = (sb[0].view(1, -1), sb[1]), "worst-case accumulator bound (from the bit widths)"
        elif kind == "output" and inp is not None:
            bound = _accumulator_bound(module, inp, t, with_bias=not sign_only)
            what = "accumulator bound sum|x*w| (observed)"
        reduction = bound is not None
        if bound is not None:
            b_units, b_value, b_grid = _channel_units(*bound)
            if b_units > units or static:
                units, value, grid = b_units, b_value, b_grid
        exact = sign_only or bool(torch.equal(t32.to(torch.float64), t))
        ranges.append(
            TensorRange(
                name, kind, tuple(t.shape), max_abs, units, exact, sign_only, reduction, static, static_units
            )
        )
        if not strict:
            return
        if units >= FLOAT32_EXACT_UNITS:
            raise ExportRangeError(
                f"{where}: {what} {value:.9g} is {units:.6g} units of 2^{grid}, beyond float32's exact integer "
                f"range 2^24 (needs {math.log2(units):.1f} bits); requantize it to a narrower fixed-point type",
                name,
                kind,
                value,
                units,
            )
        if not exact:
            diff = t32.to(torch.float64) != t
            d = float((t32.to(torch.float64) - t).abs().max())
            raise ExportRangeError(
                f"{where}: float32 differs from the exact (float64) result in {int(diff.sum())}/{t.numel()} "
                f"elements (max |diff| {d:.3g}, max |value| {max_abs:.9g})",
                name,
                kind,
                max_abs,
                None,
            )

    statics: dict[int, _Static] = {}
    with _as_float64(model) as shadow, _hooks(_hooked_modules(shadow), check):
        shadow(x.double())
    return ranges


@contextlib.contextmanager
def _as_float64(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` with every floating parameter and buffer in float64, restored to its dtype afterwards (exact:
    float32 -> float64 -> float32 round-trips). In place: a deep copy of a Brevitas model costs seconds."""
    saved = [(t, t.data) for t in list(model.parameters()) + list(model.buffers()) if t.is_floating_point()]
    try:
        for t, d in saved:
            t.data = d.to(torch.float64)
        yield model
    finally:
        for t, d in saved:
            t.data = d


@torch.no_grad()
def pooling_bounds(
    model: nn.Module, x: torch.Tensor | None = None, convolutions: bool = False
) -> list[TensorRange]:
    """The worst case over every input of each reduction over a feature map of ``model`` (sum-pooling,
    average pooling), from the bit widths of its input type alone, as :func:`check_exact_range` checks it.

    One float32 forward (on ``x``, default one standard-normal image of ``model.input_shape``) only shows the
    module graph and the map sizes: the bounds do not depend on the values, and hold whatever the calibration.
    A pooling whose input type is unknown (not a quantizer's output) is returned with ``static=False`` and
    ``units = inf``. Cheap enough to check every registry model at its native size in the fast tests.

    ``convolutions``: also every convolution and linear layer (binary or real, with its bias: a real convolution
    with its BatchNorm folded in, :meth:`training.layers.FixedConv2d.absorb`) and every folded BatchNorm after a
    binary layer (the scale-bias ``a_c * x + b_c`` with its bias on the grid of ``a_c * x``), bounded the same way
    from its input type, its quantized weights and bias; the model must then be folded and have run an
    inference forward (a bias' scale is the input's times the weights', cached by that forward).
    """
    kinds = (*_POOLING, QuantConv2d, QuantLinear, QuantScaleBias) if convolutions else _POOLING
    if x is None:
        x = synthetic_inputs(model, 1)
    statics: dict[int, _Static] = {}
    out: list[TensorRange] = []

    def on_tensor(name, module, kind, t, inp):
        if kind != "output":
            return
        xs = _lookup(statics, inp) if inp is not None else None
        st = _act_static(module, t)
        if st is None and xs is not None and isinstance(module, _PASS_THROUGH):
            st = _Static(t, xs.bound, xs.grid)
        if st is not None and id(t) not in statics:
            statics[id(t)] = st
        if not isinstance(module, kinds) or (id(t) in statics and isinstance(module, _POOLING)):
            return
        if xs is None and isinstance(module, GlobalSumShift) and inp is not None:
            xs = _Static(inp, torch.zeros(0), torch.zeros(0))
        sb = _static_bound(module, xs, t) if xs is not None else None
        units = _channel_units(sb[0].view(1, -1), sb[1])[0] if sb is not None else math.inf
        out.append(TensorRange(name, kind, tuple(t.shape), math.nan, units, True, False, True, sb is not None,
                               None if sb is None else units))  # fmt: skip
        statics[id(t)] = _Static(t, *sb) if sb is not None else _Static(t, torch.zeros(0), torch.zeros(0))

    was_training = model.training
    model.eval()
    try:
        with _hooks(_hooked_modules(model), on_tensor):
            model(x.detach().to(torch.float32))
    finally:
        model.train(was_training)
    return out


def _lookup(statics: dict[int, _Static], t: torch.Tensor) -> _Static | None:
    """The static type of ``t``, also through a view (``torch.flatten`` of an ``(N, C, H, W)`` tensor)."""
    st = statics.get(id(t))
    if st is not None:
        return st
    for st in statics.values():
        r = st.ref
        if r.data_ptr() == t.data_ptr() and r.numel() == t.numel() and r.dim() == 4 and t.dim() == 2:
            k = r.shape[2] * r.shape[3]
            return _Static(t, st.bound.repeat_interleave(k), st.grid.repeat_interleave(k))
    return None
