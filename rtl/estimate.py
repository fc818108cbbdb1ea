"""The RTL backend of the estimator (``dybnn estimate --backend rtl``): LUT, FF, BRAM18, URAM and DSP of the RTL
design (``dybnn rtl``, ``rtl/lib``) as Yosys's ``synth_xilinx`` maps it, built from what each library module
instantiates: its registers (declared widths: Yosys keeps every register bit that is not constant or unused, so a
32-bit ``int unsigned`` counter is 32 flip-flops), counters, adders and comparators (carry chains), multiplexers,
popcount trees, multipliers (DSP48 when both operands have at least 2 bits and the product at least 9), and its
memories (:func:`dybnn_rom`, :func:`dybnn_ram`, :func:`dybnn_fifo`: LUT ROM, LUTRAM, SRL, BRAM or URAM by the
style the generator declared, with Yosys's primitives).

Per library module one function ``_<module>(c, p)`` adds the components of one instance with parameters ``p``
(the SV parameters of ``project.json`` / :class:`rtl.modules.Instance`) to the cost ``c``; a module that
instantiates another calls that module's function, so the structure of the estimate is the structure of the RTL.
The constant tables are read (:class:`RomContents`): a ROM bit column that is constant costs nothing (Yosys
propagates it), identical columns share their LUT and flip-flop.

:func:`estimate_unit` estimates one instance; :func:`estimate_rtl` a whole design (the same plan ``dybnn rtl``
writes: :func:`rtl.project.make_rtl_plan`), as a :class:`hls.estimate.records.DesignEstimate` whose cycles,
latency and FIFO depths are the timing model's (the RTL runs the loops :mod:`hls.timing` models).
``benchmarks/bench_rtl_estimate.py`` holds it against Yosys (``docs/estimation.md``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hls.estimate.memory import RAMB18_SHAPES, URAM_DEPTH, URAM_WIDTH, bram18_tiles, clog2
from hls.estimate.records import Resources
from rtl.synth import yosys_family

#: bits of an SV ``int`` / ``int unsigned`` (the library's loop counters)
INT = 32


def aw(n: int) -> int:
    """Address width of ``n`` entries as the library declares it: ``$clog2(n > 1 ? n : 2)``."""
    return clog2(max(n, 2))


# ------------------------------------------------------------------------------------------------ cost


@dataclass
class Cost:
    """Resources of one instance by component (``parts``), for a Yosys family (``xc7`` or ``xcup``)."""

    family: str = "xc7"
    parts: dict[str, Resources] = field(default_factory=dict)

    def add(
        self, part: str, lut: float = 0, ff: float = 0, bram18: float = 0, uram: float = 0, dsp: float = 0
    ):
        r = Resources(lut, ff, bram18, uram, dsp)
        self.parts[part] = self.parts.get(part, Resources()) + r

    def total(self) -> Resources:
        return Resources.total(self.parts.values())

    def prefixed(self, prefix: str, sub: Cost) -> None:
        for k, v in sub.parts.items():
            self.parts[f"{prefix}{k}"] = self.parts.get(f"{prefix}{k}", Resources()) + v


# ------------------------------------------------------------------------------------------------ primitives
# LUT costs of the carry-chain and logic primitives as ABC9 maps them for synth_xilinx (one LUT6 per output bit
# of a ripple adder feeding CARRY4/CARRY8; an incrementer needs no LUT on the chain's propagate inputs beyond
# the first bit; a comparison of two variables is a subtraction on the chain; a comparison with a constant is
# a LUT tree of 6 (equality) or 5 (magnitude) bits per LUT).


def add_luts(bits: int) -> float:
    """``a + b`` of two variables, ``bits`` result bits: one LUT per bit on the carry chain."""
    return max(0, bits)


def inc_luts(bits: int) -> float:
    """``a + 1`` (or any constant): the chain's propagate inputs are the bits themselves [one LUT for the
    first bit]."""
    return 1 if bits > 0 else 0


def cmp_luts(bits: int) -> float:
    """``a < b`` / ``a >= b`` of two variables: a subtraction on the carry chain, one LUT per bit."""
    return max(0, bits)


def cmp_const_luts(bits: int) -> float:
    """``a < K`` / ``a == K``: a LUT tree, 6 input bits per LUT and a second level joining them."""
    if bits <= 0:
        return 0
    n = math.ceil(bits / 6)
    return n + (math.ceil((n - 1) / 5) if n > 1 else 0)


def const_cmp_luts(bits: int) -> float:
    """A magnitude comparison of a ``bits``-bit value with a constant (a threshold table of one word): narrow
    (up to 12 bits), a LUT tree (:func:`cmp_const_luts`); wider, on the carry chain with a LUT per two bits (the
    constant's bits fold into the propagate LUTs)."""
    return cmp_const_luts(bits) if bits <= 12 else math.ceil(bits / 2)


def eq_luts(bits: int) -> float:
    """``a == b`` of two variables: 3 bit pairs per LUT6, then an AND tree."""
    if bits <= 0:
        return 0
    n = math.ceil(bits / 3)
    return n + (math.ceil((n - 1) / 5) if n > 1 else 0)


def mux_luts(inputs: int, width: int) -> float:
    """``inputs``:1 multiplexer of ``width`` bits: a LUT6 is a 4:1 mux, MUXF7/MUXF8 join four of them into
    16:1 (free), a LUT level beyond."""
    if inputs <= 1 or width <= 0:
        return 0
    if inputs <= 2:
        return width  # a LUT3 per bit (often merged with the logic behind it)
    groups = math.ceil(inputs / 16)
    per = (groups - 1) * 4 + math.ceil((inputs - (groups - 1) * 16) / 4)
    if groups > 1:
        per += math.ceil((groups - 1) / 3)
    return width * per


def dsp_of(a_bits: int, b_bits: int, family: str, y_bits: int | None = None) -> int:
    """DSP48 slices of an ``a x b`` product (signed widths) kept to ``y_bits`` result bits, as Yosys's
    ``mul2dsp`` splits it: none when an operand has fewer than 2 bits or the result fewer than 9
    [DSP_A/B_MINWIDTH=2, DSP_Y_MINWIDTH=9]; else tiles of 25x18 (xc7) or 27x18 (xcup)."""
    y = a_bits + b_bits if y_bits is None else min(y_bits, a_bits + b_bits)
    if a_bits < 2 or b_bits < 2 or y < 9:
        return 0
    amax = 25 if family == "xc7" else 27
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    if b > 18 and a <= amax:
        a, b = b, a
    return math.ceil(a / amax) * math.ceil(b / 18)


def rne_sat(
    c: Cost,
    part: str,
    in_w: int,
    bits: int,
    signed: bool,
    shift: int,
    n: int = 1,
    *,
    in_range: tuple[int, int] | None = None,
    registered: bool = False,
) -> int:
    """``dybnn_rne_sat`` (round half to even by ``shift`` bits, saturate to ``bits``), ``n`` lanes: the rounding
    (the tie test on the ``shift`` low bits and the increment on the carry chain) and the saturation the value's
    range needs (``in_range``, default that of a signed ``in_w``-bit value): none when the rounded range fits (Yosys
    drops the constant comparisons), a bound test and a multiplexer per side that can overflow -- except the clamp
    of negative values to 0, which is the output register's synchronous reset when ``registered``. Returns the
    output bits that are constant (the high bits of an unsigned result that cannot
    reach them): their flip-flops are removed (the zero low bits of a left shift are not: Yosys keeps them)."""
    s, left = max(shift, 0), max(-shift, 0)
    lo, hi = in_range if in_range is not None else (-(2 ** (in_w - 1)), 2 ** (in_w - 1) - 1)
    lut = 0.0
    if s > 0:
        # the rounded range: floor of the lowest, the highest rounded up from half (a value whose low bits are
        # known zero does not round up)
        lo, hi = lo >> s, (hi + (1 << (s - 1))) >> s
        # the tie test reads the s remainder bits and fl[0]; the chain's first propagate input is fl[0] ^ up, a
        # function of the same s + 1 bits: one LUT for both while they fit a LUT6
        lut += 1 if s + 1 <= 6 else cmp_const_luts(s + 1) + inc_luts(max(in_w - s, 1) + 1)
    else:
        lo, hi = lo << left, hi << left
    out_lo, out_hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    lo_sat, hi_sat = lo < out_lo, hi > out_hi
    rb = max(abs(lo), abs(hi)).bit_length() + 1
    over = max(1, rb - bits + 1)
    if lo_sat and hi_sat and registered and over + 1 <= 6:
        # the output register: the upper bound's test (its over bits) folds into each bit's LUT (the bit, or the
        # bound's bit when over), the lower bound is the register's synchronous reset / set (one LUT: the test
        # and the load enable)
        lut += bits + cmp_const_luts(over + 1)
    elif hi_sat and not lo_sat and signed and registered and over + 1 <= 6:
        # only the upper bound: its test folds into the LUT of each bit below the sign; the sign bit (0 on
        # overflow, as the rounded value's sign is) is the carry chain's output, taken by the register
        lut += bits - 1
    elif hi_sat and not lo_sat and not signed and registered and over + 1 <= 6:
        # only the upper bound of an unsigned result, all ones: the output register's synchronous set (FDSE), its
        # test and the load enable one LUT; the bits are the carry chain's outputs (rq_x10u_o6u_s3's cells)
        lut += cmp_const_luts(over + 1)
    elif lo_sat and hi_sat:
        lut += 2 * cmp_const_luts(over) + bits
    elif hi_sat or (lo_sat and (signed or out_lo != 0 or not registered)):
        lut += cmp_const_luts(over) + bits
    elif lo_sat:
        lut += 1  # the sign bit and the load enable make the output register's reset
    c.add(part, lut=n * lut)
    if not signed and not hi_sat:
        return max(0, bits - max(hi, 0).bit_length())
    return 0


# ------------------------------------------------------------------------------------------------ memories


@dataclass(frozen=True)
class RomContents:
    """What Yosys keeps of a LUT ROM: its non-constant, distinct bit columns."""

    depth: int
    width: int
    columns: int  # distinct non-constant columns
    #: up to four words: the distinct columns that are no function the flip-flop makes of the two address bits
    #: alone (``a0``, ``a1``, ``a0 & ~a1``, ``a1 & ~a0``, ``a0 | a1``: D and a synchronous reset / set)
    gated: int = 0

    @staticmethod
    def of(words: Sequence[int] | None, depth: int, width: int) -> RomContents:
        return RomContents.joint([(words, width)], depth)

    @staticmethod
    def joint(tables: Sequence[tuple[Sequence[int] | None, int]], depth: int) -> RomContents:
        """Several ROMs read at one address (``(words, width)`` each): Yosys merges identical flip-flops across
        them, so their distinct columns are counted together."""
        width = sum(w for _, w in tables)
        if any(words is None for words, _ in tables):
            return RomContents(depth, width, width)
        cols = set()
        for words, w in tables:
            for b in range(w):
                col = tuple((int(x) >> b) & 1 for x in words[:depth])
                if any(col) and not all(col):
                    cols.add(col)
        # the columns as truth tables over the address (a1 a0 = 00, 01, 10, 11; words past the depth are don't
        # care: Yosys reads them as 0)
        free = {(0, 1, 0, 1), (0, 0, 1, 1), (0, 1, 0, 0), (0, 0, 1, 0), (0, 1, 1, 1)}
        gated = sum(1 for col in cols if depth <= 4 and tuple(col) + (0,) * (4 - len(col)) not in free)
        return RomContents(depth, width, len(cols), gated)


def rom_column_luts(depth: int) -> float:
    """LUT6 of one bit column of a ``depth``-deep LUT ROM: 64 entries per LUT, MUXF7/F8 join four, a LUT
    level beyond. Up to four words (two address bits) none: the registered column is a function of two bits of
    the next address, which Yosys maps onto the flip-flop itself (its D, and its synchronous reset or set: FDRE /
    FDSE) with the address bits and a few gates of them shared by every column."""
    if depth <= 4:
        return 0
    rows = math.ceil(depth / 64)
    return rows + max(0, math.ceil(rows / 4) - 1)


def block_tiling(depth: int, width: int) -> tuple[int, int]:
    """``(RAMB18, banks)`` of a ``depth x width`` block memory as Yosys's ``memory_libmap`` tiles it: for a
    RAMB18 or RAMB36 shape ``d x w`` (a RAMB36 counts two RAMB18), ``banks = ceil(depth / d)`` tiles in depth of
    ``width // w`` full slices each, and the ``r = width % w`` remaining bits of every bank packed side by side
    into shared tiles (a power of two of banks per tile, at most ``w // r``: the low bank bits become a select of
    the read data). The cheapest shape, and of those the fewest banks. An 8192 x 64 table: 2048 x 9 tiles, four
    banks of seven slices and one tile for the 64th bit of all four, 29 RAMB18 (``bram18_tiles`` counts 32, a
    whole slice per bank); 4096 x 64: 15; 8192 x 20: 9 (each read from the cells of ``dybnn_rom`` synthesized
    alone)."""
    if depth <= 0 or width <= 0:
        return 0, 0
    best: tuple[int, int] | None = None
    for shapes, cost in ((RAMB18_SHAPES, 1), (RAMB36_SHAPES, 2)):
        for d, w in shapes:
            banks = math.ceil(depth / d)
            full, r = divmod(width, w)
            per = 1 << ((w // r).bit_length() - 1) if r else 1  # banks of the remainder per shared tile
            tiles = cost * (banks * full + (math.ceil(banks / per) if r else 0))
            if best is None or (tiles, banks) < best:
                best = (tiles, banks)
    assert best is not None
    return best


def block_read(c: Cost, part: str, depth: int, width: int) -> None:
    """A block memory's read as Yosys builds it (:func:`block_tiling`): its RAMB18, and with more than one bank
    in depth a multiplexer of the banks per bit, whose select (the registered high address bits) is a flip-flop
    per bit (8192 x 64 and 4096 x 64: 64 LUTs; 8192 x 20: 20)."""
    tiles, banks = block_tiling(depth, width)
    c.add(part, bram18=tiles)
    if banks > 1:
        c.add(part + ".banks", lut=mux_luts(banks, width), ff=clog2(banks))


def rom(c: Cost, part: str, depth: int, width: int, style: str, contents: RomContents | None = None) -> None:
    """``dybnn_rom``: registered read. Block: RAMB18 tiles (the output register is the BRAM's) and the bank
    multiplexer (:func:`block_read`); distributed: a LUT ROM (Yosys's ``rom_style = "logic"``) per non-constant
    distinct column and its output flip-flop."""
    if style == "block":
        block_read(c, part, depth, width)
        return
    rc = contents or RomContents(depth, width, width, width if depth <= 4 else 0)
    # up to four words: a shared gate of the address bits for each column the flip-flop cannot make alone (at
    # most three: a column is then that gate, or the gate or an address bit with the other as reset / set)
    gates = min(rc.gated, 3 if depth > 2 else 1) if depth <= 4 else 0
    c.add(part, lut=rc.columns * rom_column_luts(depth) + gates, ff=rc.columns)


def lutram_luts(depth: int, width: int, family: str) -> float:
    """LUTs of a simple-dual-port distributed RAM (one write, one read port) with Yosys's primitives:
    xc7: RAM32M (32 x 6, 4 LUTs), RAM64M (64 x 3, 4 LUTs), deeper: rows of RAM64M or of RAM128X1D (4 LUTs per
    bit), whichever is cheaper, and a LUT multiplexer over the rows; xcup: rows of RAM32M16 (32 x 14, 8 LUTs) and a LUT multiplexer over the rows (what
    Yosys picks there, rather than RAM128X1D), or for 33 to 64 words one row of RAM64M8 (64 x 7, 8 LUTs) where
    that is cheaper."""
    if depth <= 0 or width <= 0:
        return 0
    if family == "xc7":
        if depth <= 32:
            return 4 * math.ceil(width / 6)
        if depth <= 64:
            return 4 * math.ceil(width / 3)
        # rows of RAM64M (64 x 3), a LUT multiplexer per bit over the rows and a LUT per row for its write enable
        # (the write address's row bits and the write strobe); up to 128 words one RAM128X1D per bit where that is
        # cheaper than the RAM64M rows. Beyond 128 words Yosys took RAM64M rows in every case read (a 226 x 64
        # FIFO: 88 RAM64M and a 4:1 LUT per bit; 146 x 1: three RAM64M, not two RAM128X1D; 66 x 1: one RAM128X1D;
        # 98 x 8: six RAM64M, as many LUTs as eight RAM128X1D)
        r64 = math.ceil(depth / 64)
        c64 = 4 * r64 * math.ceil(width / 3) + width * mux_luts(r64, 1)
        if depth <= 128 and 4 * width < c64:
            return 4 * width
        return c64 + r64
    # xcup: Yosys stacks RAM32M16 (32 x 14 in 8 LUTs) in rows of 32 words, a LUT multiplexer over the rows; 33 to
    # 64 words fit one row of RAM64M8 (64 x 7 in 8 LUTs), which Yosys takes where it is cheaper (dybnn-tiny-stem's
    # 64-word context-unit memories at the ZCU104 folding)
    rows = math.ceil(depth / 32)
    r32 = 8 * rows * math.ceil(width / 14) + (mux_luts(rows, width) if rows > 1 else 0)
    if depth <= 64:
        return min(r32, 8 * math.ceil(width / 7))
    return r32


def ram(
    c: Cost,
    part: str,
    depth: int,
    width: int,
    style: str,
    absorbed: bool = False,
    distinct: int | None = None,
) -> None:
    """``dybnn_ram``: one write and one registered read per cycle with a write-first bypass (the written word and
    a compare of the two addresses, registered, and a multiplexer on the read data). ``absorbed``: the read data
    feeds LUT logic (an adder, a comparison) that takes the bypass multiplexer's three inputs into its own LUTs,
    so the multiplexer costs none. ``distinct``: the written word's distinct bits when fewer than ``width`` (a
    sign-extended value: Yosys merges the registered copies of one bit; the memory itself keeps every bit)."""
    a = aw(depth)
    if style == "block":
        c.add(part, bram18=bram18_tiles(depth, width))
    elif style == "ultra":
        c.add(part, uram=yosys_uram(depth, width))
    else:
        c.add(part, lut=lutram_luts(depth, width, c.family), ff=width)  # the read register
    fwd = width if distinct is None else min(width, distinct)
    c.add(part + ".bypass", lut=eq_luts(a) + (0 if absorbed else width), ff=fwd + 1)


def fifo(c: Cost, part: str, width: int, depth: int, style: str) -> None:
    """``dybnn_fifo``: an occupancy counter (``clog2(DEPTH+1)`` bits: add/subtract, full and empty tests) and the
    storage: SRL style one shift register per bit (SRLC32E per 32 words, flip-flops below 3 words, where
    Yosys's SRL pass stops) read at ``count - 1``; else a circular buffer in ``dybnn_ram`` with its two
    pointers."""
    lw = clog2(depth + 1)
    a = aw(depth)
    if lw <= 2:
        # DEPTH 2 or 3: each count bit's next value (the count, in valid, out ready, rst_n) is one LUT; the ready,
        # push and the valid one each (the cells of 1 x 2, 16 x 2 and 32 x 3 SRL FIFOs)
        c.add(part + ".count", lut=lw + 3, ff=lw)
    else:
        # count + push - pop: two carry-chain adders; the full and empty tests
        c.add(part + ".count", lut=2 * add_luts(lw) + 2 * cmp_const_luts(lw), ff=lw)
    if style == "srl":
        if depth == 1:
            c.add(part, ff=width)
        elif depth == 2:
            c.add(part, ff=2 * width, lut=mux_luts(2, width))
        else:
            k = math.ceil(depth / 32)
            c.add(part, lut=width * (k + (mux_luts(k, 1) if k > 4 else 0)) + add_luts(a))
        return
    ram(c, part, depth, width, {"distributed": "distributed", "block": "block", "ultra": "ultra"}[style])
    # two pointers. DEPTH a power of two: the wrap is the incrementer's own overflow; the read pointer's next value
    # (the RAM's read address) a multiplexer per bit (hold / increment). Else the write pointer (enable: push, the
    # flip-flops' CE) has its wrap multiplexer only where DEPTH has a one (wrap_luts; the cells of the 1 x 66,
    # 1 x 146, 8 x 98, 12 x 40 and 64 x 475 FIFOs), and the read pointer's next value (hold / increment / wrap)
    # is counted two LUTs per bit: one in the 1 x 66 FIFO's cells, beside push and pop as LUTs of their own; two
    # to three in the 64 x 475 one's, where ABC copies the pop test (the count's empty test and out ready) into
    # every bit
    if depth & (depth - 1) == 0:
        lut = 2 * (inc_luts(a) + cmp_const_luts(a)) + mux_luts(2, a)
    else:
        lut = 2 * (inc_luts(a) + cmp_const_luts(a)) + wrap_luts(depth, a) + 2 * a
    c.add(part + ".pointers", lut=lut, ff=2 * a)


# ------------------------------------------------------------------------------------------------ modules

#: library module -> its cost function ``fn(c, p, mems)``
MODULES: dict[str, Callable[[Cost, Mapping, Mapping], None]] = {}


def module(name: str):
    def reg(fn):
        MODULES[name] = fn
        return fn

    return reg


def _i(p: Mapping, k: str, default: int = 0) -> int:
    v = p.get(k, default)
    return int(v) if not isinstance(v, str) else default


def _contents(mems: Mapping, name: str, depth: int, width: int) -> RomContents:
    return RomContents.of(mems.get(name), depth, width)


def handshake(c: Cost, part: str = "control", luts: float = 3, ffs: float = 1) -> None:
    """The valid/ready logic of a stream stage: the output valid flip-flop and a few gates."""
    c.add(part, lut=luts, ff=ffs)


def stage(c: Cost, part: str = "control", ready_reset: bool = True) -> None:
    """The handshake of a one-word stage (``adv = !out_valid || out_ready``, ``fire = in_valid && in_ready``):
    the output valid flip-flop and, as ABC maps it, one LUT each for ``adv`` (the valid register's enable), for
    ``fire`` (the data register's enable: ABC does not reuse the ready LUT for it) and for the ready when it also
    ANDs ``rst_n`` (``ready_reset``; else the ready is ``adv`` itself), and the inverter of ``rst_n`` (an FDRE's
    synchronous reset is active high)."""
    c.add(part, lut=3 + (1 if ready_reset else 0), ff=1)


def wrap_luts(n: int, bits: int) -> int:
    """The multiplexer of a ``bits``-bit counter that wraps from ``n - 1`` to 0 (``c == n - 1 ? 0 : c + 1``, the
    enable and the reset the flip-flops' CE and R): a LUT only on the bits where ``n`` has a one; where ``n`` has
    a zero the incremented value at the wrap is already 0 there (the width converters' ``op``, Concat's ``cf``, a
    FIFO's write pointer: one LUT per such bit in their cells)."""
    return bin(n & ((1 << bits) - 1)).count("1")


def tz(n: int) -> int:
    """Trailing zero bits of ``n > 0``."""
    return (n & -n).bit_length() - 1


def counter(c: Cost, part: str, bits: int, wrap: bool = True, next_used: bool = True) -> None:
    """A ``bits``-bit loop counter: its register, the incrementer, the wrap test against its bound (a constant)
    and the clear. ``next_used``: its next value is a signal of its own (a memory's read address one cycle
    ahead), a LUT per bit for the clear and hold; else the clear and the enable are the flip-flops' synchronous
    reset and clock enable (FDRE's R and CE) and the bits take the incrementer's outputs."""
    if bits <= 0:
        return
    c.add(
        part, ff=bits, lut=inc_luts(bits) + (cmp_const_luts(bits) if wrap else 0) + (bits if next_used else 0)
    )


@module("dybnn_mvu")
def _mvu(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, simd, nf, sf = _i(p, "PE", 1), _i(p, "SIMD", 1), _i(p, "NF", 1), _i(p, "SF", 1)
    kind, stage = _i(p, "KIND"), _i(p, "STAGE")
    x_w, in_w, w_w, acc_w = _i(p, "X_W", 1), _i(p, "IN_W", 1), _i(p, "W_W", 1), _i(p, "ACC_W", 8)
    tiles = nf * sf
    wl = simd * w_w if kind == 2 else simd
    pl = _i(p, "THR_W", 8) + 1 if stage == 0 else _i(p, "MUL_W", 2) + _i(p, "BIAS_W", 2)
    counter(c, "control", aw(tiles) if tiles > 1 else 0)
    counter(c, "control", aw(nf) if nf > 1 else 0)
    counter(c, "control", aw(sf) if sf > 1 else 0)
    handshake(c, "control", luts=4)
    rom(c, "weights", tiles, pe * wl, str(p.get("W_STYLE", "distributed")),
        _contents(mems, "W", tiles, pe * wl))  # fmt: skip
    rom(c, "params", nf, pe * pl, str(p.get("P_STYLE", "distributed")), _contents(mems, "P", nf, pe * pl))
    if nf > 1:  # the input vector kept for the other neuron folds (VEC_STYLE)
        vs = p.get("VEC_STYLE")
        input_vector(c, sf, in_w, pe if kind == 0 else 0, None if vs is None else str(vs))
    # SF = 1: acc_new = 0 + partial, the accumulator register is never read (Yosys removes it and its adder)
    acc_ff, acc_add = (0, 0) if sf == 1 else (acc_w, add_luts(acc_w))
    mul_w, value_w = _i(p, "MUL_W", 2), _i(p, "VALUE_W", 8)
    stage_dsp = dsp_of(min(acc_w, value_w), mul_w, c.family, value_w) if stage == 1 else 0
    if kind == 0 and sf == 1 and nf <= 2 and simd + (2 if nf == 2 else 0) <= 6 and not stage_dsp:
        # a lane of few inputs: with SF = 1 and at most two words in the tables every weight and parameter bit is
        # a constant or the registered column of the one address bit (or its complement: Yosys keeps both flip-
        # flops), so each output bit of the lane -- popcount, affine stage or threshold, requantization -- is a
        # function of the SIMD input bits and those two, at most six inputs: one LUT per output bit (the cells of
        # matrix_e_xconv1x1, PE 3, SIMD 3, NF 2: no adder, no partial products)
        c.add("lanes", lut=pe * _i(p, "OUT_BITS", 1))
        c.add("output", ff=pe * _i(p, "OUT_BITS", 1))
        return
    if kind == 0:
        # one weight word: constant weights; two words with SF = 1 (NF = 2): every weight bit is a constant or the
        # registered address bit (or its complement), shared by all the lane's terms, and ABC packs the terms as
        # for constant weights (matrix_r_xconv2, PE 16, SIMD 32: 1,356 LUTs in Yosys, 1,738 with the
        # variable-weight tree). With SF = 2 (matrix_c_xfc, an accumulator behind the popcount) the
        # variable-weight tree holds (within 7 %).
        const = tiles == 1 or (tiles == 2 and sf == 1)
        c.add("lanes", lut=pe * (popcount_luts(simd, const_weights=const) + acc_add), ff=pe * acc_ff)
    elif kind == 1:
        lane = simd * add_luts(min(acc_w, x_w + clog2(simd) + 1)) + acc_add
        c.add("lanes", lut=pe * lane, ff=pe * acc_ff)
    else:
        # products in DSP48s, their sum in the post-adders (P = C + A*B, the previous DSP's P into C: no carry
        # chain), PREG unused; the accumulator a register in the fabric whose clear (sf == 0 ? 0 : acc: a LUT per
        # bit) feeds the first DSP's C (read from the cells of matrix_c_ffc; with SF = 1 there is no accumulator)
        d = dsp_of(x_w + (0 if _i(p, "X_SIGNED") else 1), w_w, c.family, acc_w)
        c.add("lanes.mul", dsp=pe * simd * d)
        if d:
            c.add("lanes", lut=pe * acc_ff, ff=pe * acc_ff)
            if c.family == "xcup":
                # Yosys uses no DSP48E2 post-adder (P = A*B in every DSP48E2 of matrix_s_fconv1: OPMODE 005,
                # C = 0): the SIMD products are summed by SIMD - 1 carry-chain adders in the fabric
                c.add("lanes", lut=pe * (simd - 1) * add_luts(acc_w))
        else:
            c.add("lanes", lut=pe * simd * (x_w * w_w + add_luts(acc_w)), ff=pe * acc_ff)
    if stage == 0:
        thr_w = _i(p, "THR_W", 8)
        c.add("stage", lut=pe * (cmp_luts(max(acc_w, thr_w)) + 1))
    else:
        d = stage_dsp
        consts = affine_constants(mems.get("P"), pe, pl, mul_w) if nf == 1 else None
        # acc * mul + bias: the bias in the DSP's post-adder, except on xcup (no DSP48E2 post-adder, above) or
        # where the product is split over several DSP48E1 (matrix_r_ffc, a 26-bit accumulator: the two halves
        # cascade, C = 0): then it is a carry-chain adder in the fabric, and the output register too
        dsp_add = d == 1 and c.family == "xc7"
        if d:
            c.add("stage", dsp=pe * d, lut=0 if dsp_add else pe * add_luts(value_w))
        elif consts is not None:
            c.add("stage", lut=sum(const_affine_luts(k, b, value_w) for k, b in consts))
        else:
            rows = table_rows(mems.get("P"), nf, pe, pl, mul_w)
            # with SF = 1 the accumulator is the popcount itself: clog2(SIMD+1) bits, the rest constant 0
            a_bits = min(acc_w, value_w, clog2(simd + 1) if kind == 0 and sf == 1 else acc_w)
            # an accumulator of at most three bits (a popcount of up to 7 inputs with SF = 1): ABC builds the
            # lane's `acc * mul + bias` as one carry chain whose S and DI LUTs read acc's bits and mul's and bias's
            # columns directly, two LUTs per bit, where that is smaller than maccmap's tree (matrix_d_xconv1x1's
            # cells: an 8-bit chain per lane, 46 LUTs counted by the tree for its two lanes)
            per = [macc_luts(a_bits, r, value_w, bias=True) for r in rows]
            if a_bits <= 3:
                per = [min(x, 2 * value_w) for x in per]
            c.add("stage", lut=sum(per))
        if _i(p, "REQUANT"):
            rne_sat(c, "stage", value_w, _i(p, "OUT_BITS", 1), bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), pe)
        elif dsp_add:
            # the output register takes the DSP's result as it is: Yosys packs it into the DSP48's P register
            # (the real models' XnorConv / XnorDense, and matrix_c_ffc: PREG = 1 on the stage's DSP only)
            return
    c.add("output", ff=pe * _i(p, "OUT_BITS", 1))


def input_vector(c: Cost, sf: int, in_w: int, lanes: int = 0, style: str | None = None) -> None:
    """The matrix unit's input vector (``vec[sf]``, written and read at one address, and the select
    ``need_in ? in : vec[sf]``) by its ``VEC_STYLE`` (``rtl.gen_matrix.vec_style``; ``None``: a project written
    before the parameter, whose vector had no style and took Yosys's choice, the same as the generator's rule but
    the block RAM). One word is a register. ``registers``: flip-flops, a write enable per word and a LUT multiplexer
    per bit (Yosys's own choice for an unstyled vector of fewer than 16 bits: 4 x 1, 3 x 4, 9 x 1, while 4 x 4 was
    a LUTRAM; the generator takes it for at most four words);
    ``distributed``: a LUTRAM read asynchronously, on xc7 deeper than 64 words RAM64M blocks of 64 x 3 (Yosys
    picks them over RAM128X1D for this single-address memory) and a multiplexer over the blocks; ``block``: RAMB18
    tiles read one cycle ahead (the next ``sf``, a LUT per address bit), the select and the multiplexer of the
    banks in depth when more than one (:func:`block_tiling`). ``lanes`` (popcount lanes): the select is not
    shared: each lane's XNOR terms read ``in``, ``vec`` and ``need_in`` themselves, too many inputs for the popcount's first full adders, and
    ABC builds the select in each lane (a LUT per input bit and lane; the real models' XnorConv / XnorDense with
    NF > 1 and SF > 1 showed it, e.g. TFC's first layer: 94 LUTs per lane, 12 shared); else one select, a LUT per
    bit."""
    sel = lanes * in_w if lanes else (mux_luts(2, in_w) if sf > 1 else 0)
    if sf == 1:
        # one word (a register): the select stays one LUT per bit, shared by the lanes (the real models' XnorConv
        # with SF = 1: Conv_2 of dybnn-tiny, PE 4, showed no copies)
        c.add("input_vector", ff=in_w, lut=in_w if lanes else 0)
    elif style == "block":
        tiles, banks = block_tiling(sf, in_w)
        c.add("input_vector", bram18=tiles, lut=aw(sf) + sel + (mux_luts(banks, in_w) if banks > 1 else 0),
              ff=clog2(banks) if banks > 1 else 0)  # fmt: skip
    elif style == "registers" or (style is None and sf * in_w < 16):
        # fewer than 16 bits (4 x 1, 3 x 4, 9 x 1; 4 x 4 is a LUTRAM): flip-flops, each word's write enable
        # (`fire && sf == k`) a LUT of its own on the flip-flops' CE, and a multiplexer per bit (matrix_e_xdense's
        # 9 x 1 vector: nine CE LUTs, the 9:1 read multiplexer in LUT6 + MUXF7 / MUXF8 with the XNOR folded in)
        c.add(
            "input_vector",
            ff=sf * in_w,
            lut=sf + ((mux_luts(sf, in_w) + sel) if lanes else mux_luts(sf + 1, in_w)),
        )
    elif c.family == "xc7" and sf > 64:
        k = math.ceil(sf / 64)
        c.add(
            "input_vector", lut=4 * k * math.ceil(in_w / 3) + in_w * mux_luts(k, 1) + (sel if lanes else in_w)
        )
    else:
        c.add("input_vector", lut=lutram_luts(sf, in_w, c.family) + sel)


def _signed(v: int, bits: int) -> int:
    return v - (1 << bits) if bits and v >> (bits - 1) & 1 else v


def affine_constants(
    words: Sequence[int] | None, pe: int, pl: int, mul_w: int
) -> list[tuple[int, int]] | None:
    """Per lane ``(mul, bias)`` of an affine stage whose parameter table is one word (``NF = 1``: constants), read
    from its image; ``None`` without it."""
    if not words:
        return None
    w = int(words[0])
    out = []
    for q in range(pe):
        v = (w >> (q * pl)) & ((1 << pl) - 1)
        out.append((_signed(v & ((1 << mul_w) - 1), mul_w), _signed(v >> mul_w, pl - mul_w)))
    return out


def table_rows(words: Sequence[int] | None, depth: int, pe: int, pl: int, mul_w: int) -> list[int]:
    """Per lane the bits of ``mul`` (the low ``mul_w`` bits of each lane's ``pl``-bit field of the parameter
    table) that are not 0 in every word: the partial-product rows of ``acc * mul`` (``mul_w`` each without the
    image)."""
    if not words:
        return [mul_w] * pe
    out = []
    for q in range(pe):
        seen = 0
        for w in words[:depth]:
            seen |= (int(w) >> (q * pl)) & ((1 << mul_w) - 1)
        out.append(bin(seen).count("1"))
    return out


def macc_luts(a_bits: int, rows: int, y_bits: int, bias: bool = False) -> float:
    """``a * b (+ c)`` in LUTs, ``b`` with ``rows`` partial-product rows (its bits that are not always 0), kept to
    ``y_bits`` result bits: Yosys's ``maccmap`` adds the partial products (``a``'s bits ANDed with one bit of
    ``b``, shifted) and the addend ``c`` column by column in a tree of full adders until two bits are left per
    column, and the final adder on the carry chain. A full adder is a sum and a carry LUT (the ANDs fold into its
    inputs: three bit pairs are six LUT inputs); a column's carries go to the next column (the top column's are
    dropped); the final adder is one LUT per bit."""
    cols = [0] * y_bits
    for j in range(rows):
        for i in range(a_bits):
            if i + j < y_bits:
                cols[i + j] += 1
    if bias:
        cols = [n + 1 for n in cols]
    fa = 0
    for k in range(y_bits):
        while cols[k] > 2:
            cols[k] -= 2
            fa += 1
            if k + 1 < y_bits:
                cols[k + 1] += 1
    two = [k for k, n in enumerate(cols) if n == 2]
    return 2 * fa + (y_bits - two[0] if two else 0)


def naf_digits(k: int) -> tuple[int, int]:
    """``(positive, negative)`` nonzero digits of ``k`` in the non-adjacent form (signed binary with no two
    adjacent nonzero digits: the fewest shifted terms, added or subtracted, whose sum is ``k``)."""
    pos = neg = 0
    m = abs(k)
    while m:
        if m & 1:
            d = 2 - (m & 3)  # +1 (m = 1 mod 4) or -1 (m = 3 mod 4)
            if (d > 0) == (k > 0):
                pos += 1
            else:
                neg += 1
            m -= d
        m >>= 1
    return pos, neg


def const_affine_luts(k: int, b: int, value_w: int) -> float:
    """``acc * k + b`` with constants ``k`` and ``b``, in LUTs (the product too narrow for a DSP48): ABC builds the
    product by constant from shifted copies of ``acc`` (one term per nonzero digit of ``k``'s non-adjacent form,
    a subtraction for a negative digit) and the bias joins them as one more term: ``terms - 1`` carry-chain
    adders of ``value_w`` bits, and one more (a negation) when every term is subtracted."""
    pos, neg = naf_digits(k)
    terms = pos + neg + (1 if b else 0)
    negate = 1 if neg and not pos and not b else 0
    return (max(0, terms - 1) + negate) * add_luts(value_w)


def popcount_luts(n: int, const_weights: bool = False) -> float:
    """XNOR and popcount of ``n`` bit pairs: Yosys turns the sum of 1-bit terms into a tree of full adders
    (``maccmap``): ``n - w`` of them for a ``w = clog2(n+1)``-bit count, each a sum and a carry LUT (the first
    level's XNORs fold into them: three bit pairs are six LUT inputs), and the final ``w``-bit adder.

    ``const_weights`` (one weight word, ``NF * SF = 1``: the weights are constants): the XNORs are wires and
    inverters, the terms plain input bits, and ABC packs six of them per LUT: each counter LUT of six bits reduces
    the count by one bit (a 6:3 counter is three LUTs for three bits less) where a full adder of three bit pairs
    takes two LUTs per bit: ``n - w`` LUTs; the counters leave three rows, summed by a ternary adder on the carry
    chain (its S and DI inputs both LUTs: two per bit; matrix_e_xfc's 75-input lanes): ``n + w`` LUTs in all."""
    if n <= 1:
        return 1
    w = clog2(n + 1)
    return (n + w) if const_weights else 2 * (n - w) + w


def swu(c: Cost, p: Mapping, prefix: str = "window.") -> None:
    """``dybnn_swu``: thirteen 32-bit ``int unsigned`` loop variables (fill / emit / read indices) with their
    next-state logic, two additions / comparisons of two of them (``e_top + e_ky``, ``i < ahead``), an equality
    (``i + 1 == n_row``), ``rows_ahead`` (a subtraction from a constant, a minimum, a maximum) and the
    constants' comparisons (inverted bits on the carry chains); the line buffer (``dybnn_ram``,
    ``(KH+SH)*PW*CF`` words), the address arithmetic (modulo ``2**AW``, the products by ``PW``, ``SW`` and ``CF``
    written as sums of shifted copies: no DSP48) and the output register. ``rows_ahead`` multiplies a 32-bit
    index by ``PW`` and then by ``CF``: a 33 x n product (two DSP48) for each factor that is not a power of
    two."""
    kh, sh, pw, cf = _i(p, "KH", 1), _i(p, "SH", 1), _i(p, "PW", 1), _i(p, "CF", 1)
    win_w = _i(p, "WIN_W", 1)
    depth = (kh + sh) * pw * cf
    lut = 13 * INT + 2 * INT + eq_luts(INT) + 3 * INT + INT // 2
    c.add(prefix + "control", ff=13 * INT + 2, lut=lut)
    for k in (pw, cf):
        if k > 1 and k & (k - 1):
            c.add(prefix + "control", dsp=dsp_of(INT + 1, k.bit_length() + 1, c.family))
    c.add(prefix + "address", lut=2 * add_luts(aw(depth)))
    ram(c, prefix + "line_buffer", depth, win_w, str(p.get("LB_STYLE", "distributed")))
    c.add(prefix + "output", ff=win_w, lut=win_w)


@module("dybnn_swu")
def _swu(c: Cost, p: Mapping, mems: Mapping) -> None:
    swu(c, p, "")


@module("dybnn_sliding_window")
def _sliding_window(c: Cost, p: Mapping, mems: Mapping) -> None:
    swu(c, dict(p, MASKED=0), "")


@module("dybnn_conv")
def _conv(c: Cost, p: Mapping, mems: Mapping) -> None:
    if _i(p, "HAS_SWU", 1):
        swu(c, p)
        fifo(c, "window_fifo", _i(p, "IN_W", 1), _i(p, "WIN_DEPTH", 2), str(p.get("WIN_STYLE", "srl")))
    sub = Cost(c.family)
    _mvu(sub, p, mems)
    c.prefixed("mvu.", sub)


@module("dybnn_fifo")
def _fifo(c: Cost, p: Mapping, mems: Mapping) -> None:
    fifo(c, "fifo", _i(p, "WIDTH", 8), _i(p, "DEPTH", 2), str(p.get("STYLE", "srl")))


def width_convert_unpack(c: Cost, ni: int, no: int, iw: int, ow: int, gb: int) -> None:
    """``dybnn_width_convert`` with ``NI > 1`` iterations per input word. The input counter ``ip`` (``iw`` bits):
    ``need_in = ip == NI`` (a constant comparison) and ``(need_in ? 0 : ip) + 1`` on the carry chain, whose
    multiplexer is needed only on the bits where ``NI`` has a one (elsewhere the bit is already 0 when
    ``need_in``): an inverter or a LUT for bit 0 and one LUT per other one bit of ``NI``. The output counter when
    ``NO > 1`` (incrementer and the ``last`` test). The handshake: ``rst_n && adv``, the ready, ``step``, the
    valid register's enable and the reset's inverter. The input word: each bit a load / shift / hold LUT, except
    the top ``G`` elements, whose shifted value is 0: a load whose synchronous reset (one LUT) clears them; the
    ``G`` elements moved (``need_in ? in : iw``), a LUT each."""
    if no == 1 and iw <= 2:
        # a counter of one or two bits: each bit's next value, with the reset, the enable and the handshake's
        # inputs (in / out valid, out ready, rst_n), fits one LUT, and need_in folds into the handshake's LUTs:
        # the ready, step, the valid register's enable, the reset's inverter (IN_E 3 -> OUT_E 1's cells)
        luts = 4 + iw
    else:
        luts = cmp_const_luts(iw) + 1 + bin(ni >> 1).count("1") + 5
    if no > 1:
        luts += inc_luts(ow) + cmp_const_luts(ow)
    c.add("control", ff=iw + (ow if no > 1 else 0) + 1, lut=luts)
    c.add("input_word", ff=(ni - 1) * gb, lut=(ni - 2) * gb + 1 + gb)


@module("dybnn_width_convert")
def _width_convert(c: Cost, p: Mapping, mems: Mapping) -> None:
    in_e, out_e, bits, g = _i(p, "IN_E", 1), _i(p, "OUT_E", 1), _i(p, "BITS", 1), _i(p, "G", 1)
    ni, no = in_e // g, out_e // g
    gb = g * bits
    iw, ow = clog2(ni + 1), aw(no) if no > 1 else 1
    if ni == 1 and no > 1:
        # a packer: ip is a constant (reset to NI = 1, next value 1; Yosys removes its flip-flop). The handshake:
        # the ready, step (the output shift's enable), the output word's load enable and the valid register's
        # next state, one LUT each. op (ow bits) wraps at NO - 1: with one or two bits each bit's next value is one
        # LUT with the reset and the handshake folded in; wider, the reset's inverter, the incrementer's first
        # LUT, the wrap's multiplexer (wrap_luts), and the last test: ABC reads the carry out of the two low bits
        # from the chain (CARRY4 CO[1] = op[0] & op[1]) and the other ow - 2 bits in a LUT when there are more
        # than one (the real models' 1 -> 32, 4 -> 32, 1 -> 28 and 1 -> 8 packers' cells)
        if ow <= 2:
            luts = 4 + ow
        else:
            luts = 4 + 1 + inc_luts(ow) + wrap_luts(no, ow) + (cmp_const_luts(ow - 2) if ow - 2 > 1 else 0)
        c.add("control", ff=ow + 1, lut=luts)
    elif ni == 1:
        c.add(
            "control", ff=iw + ow + 1, lut=inc_luts(iw) + inc_luts(ow) + 2 * cmp_const_luts(max(iw, ow)) + 1
        )
    else:
        width_convert_unpack(c, ni, no, iw, ow, gb)
    if no > 1:
        c.add("output_shift", ff=(no - 1) * gb)
    c.add("output", ff=out_e * bits)


@module("dybnn_duplicate")
def _duplicate(c: Cost, p: Mapping, mems: Mapping) -> None:
    w, n = _i(p, "WIDTH", 1), _i(p, "NOUT", 2)
    c.add("output", ff=w)  # the NOUT copies of the word are one register (Yosys merges identical flip-flops)
    # per output its valid register's next state and its term of the ready AND; with two outputs every control
    # signal is a function of six inputs (the valids, the readies, rst_n, in_valid): one LUT each for the ready, the
    # data register's enable and each valid's next state (the reset folds into those)
    c.add("control", ff=n, lut=n + 2 if 2 * n + 2 <= 6 else 2 * n + math.ceil(n / 3) + 1)


@module("dybnn_flatten")
def _flatten(c: Cost, p: Mapping, mems: Mapping) -> None:
    c.add("output", ff=_i(p, "WIDTH", 1))
    stage(c)


def table_cmp_luts(bits: int, depth: int, words: Sequence[int] | None = None) -> float:
    """``x >= t`` of an input value and a threshold read from a table of ``depth`` words (the registered ROM of
    Sign / MultiThreshold), ``bits`` wide; ``words``: the lane's thresholds when the image is read (the distinct
    words are what counts: a table of equal words is a constant). A constant (:func:`const_cmp_luts`; ``t = 0`` is
    the sign bit alone, no LUT: Yosys does not shorten the chain for other trailing zeros); two words: every threshold bit is a constant or one registered column, a comparison with a constant that has
    one more input: two bits of ``x`` per LUT on the carry chain; deeper, two variables: ABC packs three bit pairs
    per carry stage (their equality the propagate LUT, their comparison the generate LUT), two LUTs per three
    bits."""
    if words is not None:
        distinct = sorted(set(words[:depth]))
        depth = len(distinct)
        if depth == 1 and distinct[0] == 0:
            return 0  # Yosys's opt_expr: a signed x >= 0 is x's inverted sign bit
    if depth <= 1:
        return const_cmp_luts(bits)
    if depth == 2:
        return math.ceil(bits / 2)
    return 2 * math.ceil(bits / 3)


def lane_fields(
    words: Sequence[int] | None, depth: int, lw: int, lane: int, off: int, bits: int, signed: bool = True
) -> list[int] | None:
    """The ``bits``-bit field at ``lane * lw + off`` of each of a table's ``depth`` words, signed or unsigned
    (``None`` without the image)."""
    if words is None:
        return None
    fields = [(int(w) >> (lane * lw + off)) & ((1 << bits) - 1) for w in words[:depth]]
    return [_signed(v, bits) for v in fields] if signed else fields


@module("dybnn_sign")
def _sign(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, ch, x_w, thr_w = _i(p, "PE", 1), _i(p, "C", 1), _i(p, "X_W", 1), _i(p, "THR_W", 1)
    cf = ch // pe
    lw = thr_w + 1
    rc = _contents(mems, "P", cf, pe * lw)
    # a table of constant columns only: its address counter has no reader (Yosys removes it)
    counter(c, "control", aw(cf) if cf > 1 and rc.columns else 0)
    stage(c)
    rom(c, "params", cf, pe * lw, str(p.get("P_STYLE", "distributed")), rc)
    cw = max(x_w + 1, thr_w)
    words = mems.get("P")
    lut = sum(table_cmp_luts(cw, cf, lane_fields(words, cf, lw, q, 0, thr_w)) + 1 for q in range(pe))
    c.add("lanes", lut=lut, ff=pe)


@module("dybnn_multi_threshold")
def _multi_threshold(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, ch, x_w = _i(p, "PE", 1), _i(p, "C", 1), _i(p, "X_W", 1)
    steps, thr_w, out_w = _i(p, "STEPS"), max(1, _i(p, "THR_W", 1)), _i(p, "OUT_W", 1)
    cf = ch // pe
    lw = steps * thr_w
    rc = _contents(mems, "P", cf, pe * lw) if steps else RomContents(cf, 0, 0)
    counter(c, "control", aw(cf) if cf > 1 and rc.columns else 0)
    stage(c)
    if steps:
        rom(c, "params", cf, pe * lw, str(p.get("P_STYLE", "distributed")), rc)
    cw = max(x_w + 1, thr_w)
    words = mems.get("P")
    cmp = sum(table_cmp_luts(cw, cf, lane_fields(words, cf, lw, q, t * thr_w, thr_w))
              for q in range(pe) for t in range(steps))  # fmt: skip
    c.add("lanes", lut=cmp + pe * (out_w if steps > 1 else 0), ff=pe * out_w)


@module("dybnn_input_quant")
def _input_quant(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, mode, out_w = _i(p, "PE", 1), _i(p, "MODE"), _i(p, "OUT_W", 1)
    stage(c)
    if mode == 1:
        # the bit: the exponent's all-ones and zero tests, the mantissa's non-zero test, and three gates (NaN,
        # -0, the result)
        c.add("lanes", lut=pe * (2 * cmp_const_luts(8) + cmp_const_luts(23) + 3), ff=pe)
    elif mode == 2:  # the key: the negation of the 31-bit magnitude on the carry chain, a select of 32 bits
        c.add("lanes", lut=pe * (add_luts(32) + 32), ff=pe * out_w)
    else:
        # float -> fixed (to_fixed): three barrel shifts of the 24-bit mantissa by a 5-bit amount (the floor m >> r,
        # fl << r for the remainder, m << shift), each ceil(5/2) levels of 4:1 LUT multiplexers over 24 + OUT_W
        # bits; the remainder / half-way and the limit comparisons (24 bits each); the saturation, the rounding
        # increment and the negation over OUT_W bits
        lane = 3 * math.ceil(5 / 2) * (24 + out_w) + 2 * cmp_luts(24) + 3 * out_w
        c.add("lanes", lut=pe * lane, ff=pe * out_w)


@module("dybnn_label_select")
def _label_select(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, k, x_w, idx_w, out_w = (
        _i(p, "PE", 1),
        _i(p, "K", 1),
        _i(p, "X_W", 1),
        _i(p, "IDX_W", 1),
        _i(p, "OUT_W", 1),
    )
    xw = x_w + 1
    c.add("state", ff=k * (xw + idx_w + 1) + min(out_w, idx_w))  # the output's bits above the index are 0
    if pe == 1 and k == 1:
        # one score into a one-entry list (the real models' LabelSelect; its cells): the word counter i (an int)
        # counts WORDS = C words, then stays 0 for the one emitted index: the incrementer's first LUT, the wrap's
        # multiplexer where WORDS has a one and one LUT for the emission's clear; the tests i == WORDS - 1 and
        # i == K - 1 share the test that i's bits above aw(WORDS) are zero (a LUT tree), each with a LUT for the low
        # bits and one joining them; the handshake and the state (ready, fire, adv, the next states of the valid,
        # `emitting` and `used`, i's enable and clear, the reset's inverter): nine LUTs. The comparison of two
        # variables packs three bit pairs per carry stage (two LUTs per three bits of the score), and one LUT
        # places the score (`!used || x > best`); the entry's registers load the score and its index (their
        # enable), no select
        words = max(1, _i(p, "C", 1))
        low = aw(words)
        tests = cmp_const_luts(INT - low) + 2 * (cmp_const_luts(low) + 1)
        c.add("control", ff=INT + 2, lut=inc_luts(INT) + wrap_luts(words, INT) + 1 + tests + 9)
        c.add("insert", lut=2 * math.ceil(x_w / 3) + 1)
    else:
        # the word counter i (an int): its clear and hold are the flip-flops' reset and enable, the incrementer,
        # the i == WORDS - 1 test, the handshake
        c.add("control", ff=INT + 2, lut=inc_luts(INT) + cmp_const_luts(INT) + 4)
        # insertion of PE scores into the top-K list: per score and list entry a comparison and the shift
        c.add("insert", lut=pe * k * (cmp_luts(xw) + xw + idx_w + 1))
    c.add("output", lut=mux_luts(k, idx_w))


@module("dybnn_requant")
def _requant(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, xb, ob = _i(p, "PE", 1), _i(p, "X_BITS", 1), _i(p, "OUT_BITS", 1)
    stage(c, ready_reset=False)
    rng = (-(2 ** (xb - 1)), 2 ** (xb - 1) - 1) if _i(p, "X_SIGNED") else (0, 2**xb - 1)
    const = rne_sat(c, "lanes", xb + 1, ob, bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), pe, in_range=rng,
                    registered=True)  # fmt: skip
    c.add("output", ff=pe * (ob - const))


@module("dybnn_add")
def _add(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, sb, ob = _i(p, "PE", 1), _i(p, "SUM_BITS", 1), _i(p, "OUT_BITS", 1)
    handshake(c, luts=4)
    c.add("lanes", lut=pe * add_luts(sb))
    if _i(p, "REQUANT"):
        rne_sat(c, "lanes", sb, ob, bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), pe)
    c.add("output", ff=pe * ob)


def lane_words(
    words: Sequence[int] | None, depth: int, n: int, bits: int, signed: bool, width: int
) -> list[list[int]] | None:
    """Per lane the values of a parameter table of ``depth`` words (``n`` lanes of ``bits`` each per word), read
    as ``width``-bit two's complement words (sign- or zero-extended), or ``None`` without the image."""
    if words is None:
        return None
    mask = (1 << width) - 1
    return [[v & mask for v in lane_fields(words, depth, bits, q, 0, bits, signed)] for q in range(n)]


def table_add_luts(
    width: int,
    k: Sequence[int] | None,
    subtract: bool = False,
    a_lo: int = 0,
    a_hi: int | None = None,
    a_logic: bool = False,
    kept: int = 0,
) -> float:
    """``a + k`` or ``a - k`` on the carry chain, ``width`` bits, ``k`` read from a parameter table (``k``: its
    words as ``width``-bit values; ``None``: a variable, one LUT per bit). A bit of ``k`` that is equal in every
    word is a constant, one that is not a column of the table's register (with two words the address bit). Yosys
    keeps the chain from the lowest bit where a word of ``k`` is nonzero (below it the sum is ``a``'s bits: no
    carry, no borrow); on the chain the propagate input of bit ``i`` is ``a_i ^ e_i`` (``e = k``, or ``~k`` for the
    subtraction): a wire when ``e_i`` is 0 in every word, an inverter when it is 1, a LUT of ``a_i`` and the column
    when it differs between the words; a bit of ``a`` that is a constant 0 (``i < a_lo``: a left shift) leaves ``e_i`` alone (a
    wire of the table's register, or its inverter); ``a``'s sign copies (``i >= a_hi``) with the same ``e_i`` share
    one. ``a_logic``: ``a`` is itself LUT logic (a multiplexer), which takes the propagate into its LUT: one LUT
    per chain bit; when ``k`` is 0 in every word there is no adder, and the multiplexer keeps a LUT on each of the
    ``kept`` bits its consumer reads."""
    if k is None:
        return add_luts(width)
    nz = [i for i in range(width) if any((v >> i) & 1 for v in k)]
    if not nz:
        return kept if a_logic else 0
    if a_logic:
        return width - nz[0]
    a_hi = width if a_hi is None else a_hi
    seen = set()
    luts = 0
    for i in range(nz[0], width):
        e = tuple(((v >> i) & 1) ^ (1 if subtract else 0) for v in k)
        if i < a_lo:
            luts += (
                1 if len(set(e)) > 1 or e[0] == 0 else 0
            )  # e_i itself (the register's bit) or its inverter
            continue
        if len(set(e)) == 1 and e[0] == 0:
            continue  # a wire
        key = (min(i, a_hi), e)
        if key not in seen:
            seen.add(key)
            luts += 1
    return luts


def prelu_lane(
    c: Cost,
    part: str,
    p: Mapping,
    slope_w: int,
    n: int,
    gamma: list[list[int]] | None = None,
    zeta: list[list[int]] | None = None,
    beta: list[list[int]] | None = None,
) -> None:
    """``dybnn_prelu_lane``: ``d = x - g`` (D_BITS), ``d * slope`` (a DSP48 when wide enough), the sign select
    (folded into the next adder's LUTs), ``+ z`` (R_BITS) and the requantization. ``gamma`` / ``zeta``: per lane
    the words of ``g`` and ``z`` when they come from a table of one or two words (:func:`table_add_luts`: a
    constant, or a bit of the table's address); ``None``: variables (a DynamicPReLU's shifted thresholds). With
    all three tables (``beta``: the slopes) the sum's range is what the lane can produce (``x - g`` shifted left
    when not negative, times the slope when negative, plus ``z``): the requantization saturates only where that
    range overflows (ABC removes a bound test that cannot fire)."""
    d_bits, p_bits, r_bits, ob = (
        _i(p, "D_BITS", 1),
        _i(p, "P_BITS", 1),
        _i(p, "R_BITS", 1),
        _i(p, "OUT_BITS", 1),
    )
    dsp = dsp_of(d_bits, slope_w, c.family, p_bits)
    # x: X_BITS (+ its sign copies) shifted left by SHIFT_X; the sign select folds into the + z adder's LUTs
    sx, xb = _i(p, "SHIFT_X"), _i(p, "X_BITS", 1)
    lut = 0.0
    for q in range(n):
        lut += table_add_luts(d_bits, gamma[q] if gamma else None, True, sx, sx + xb - 1)
        # z = 0: the select stays, a LUT per bit the rounding's chain reads (the rest fold into its tie test)
        lut += table_add_luts(r_bits, zeta[q] if zeta else None, a_logic=True,
                              kept=r_bits - max(_i(p, "SHIFT"), 0))  # fmt: skip
    if not dsp:
        lut += n * d_bits * slope_w
    c.add(part, lut=lut, dsp=n * dsp)
    if gamma is None or zeta is None or beta is None:
        rne_sat(c, part, r_bits, ob, bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), n)
        return
    xs = bool(_i(p, "X_SIGNED", 1))
    xlo, xhi = (-(2 ** (xb - 1)), 2 ** (xb - 1) - 1) if xs else (0, 2**xb - 1)
    for q in range(n):
        g = [_signed(v, d_bits) for v in gamma[q]]
        z = [_signed(v, r_bits) for v in zeta[q]]
        dlo, dhi = (xlo << sx) - max(g), (xhi << sx) - min(g)
        vs = [0, max(dhi, 0) << _i(p, "SHIFT_POS")]
        if dlo < 0:
            vs += [d * b for d in (dlo, min(dhi, -1)) for b in (min(beta[q]), max(beta[q]))]
        sp = _i(p, "SHIFT_P")
        rng = ((min(vs) << sp) + min(z), (max(vs) << sp) + max(z))
        rne_sat(c, part, r_bits, ob, bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), in_range=rng)


@module("dybnn_prelu")
def _prelu(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, cf = _i(p, "PE", 1), _i(p, "CF", 1)
    names = ("GAMMA", "ZETA", "BETA")
    # a table of constant columns only has no reader of its address counter: Yosys removes the counter
    live = RomContents.joint([(mems.get(k), pe * _i(p, f"{k}_BITS", 1)) for k in names], cf).columns
    counter(c, "control", aw(cf) if cf > 1 and live else 0)
    handshake(c)
    # the three ROMs read one address: Yosys merges their identical columns
    if all(str(p.get(f"{k}_STYLE", "distributed")) == "distributed" for k in names):
        rom(c, "params", cf, sum(pe * _i(p, f"{k}_BITS", 1) for k in names), "distributed",
            RomContents.joint([(mems.get(k), pe * _i(p, f"{k}_BITS", 1)) for k in names], cf))  # fmt: skip
    else:
        for name in names:
            w = pe * _i(p, f"{name}_BITS", 1)
            rom(c, "params", cf, w, str(p.get(f"{name}_STYLE", "distributed")), _contents(mems, name, cf, w))
    gamma = lane_words(mems.get("GAMMA"), cf, pe, _i(p, "GAMMA_BITS", 1), bool(_i(p, "GAMMA_SIGNED", 1)),
                       _i(p, "D_BITS", 1))  # fmt: skip
    zeta = lane_words(mems.get("ZETA"), cf, pe, _i(p, "ZETA_BITS", 1), bool(_i(p, "ZETA_SIGNED", 1)),
                      _i(p, "R_BITS", 1))  # fmt: skip
    bb = _i(p, "BETA_BITS", 1)
    beta = lane_words(mems.get("BETA"), cf, pe, bb, bool(_i(p, "BETA_SIGNED", 1)), bb + 1)
    beta = [[_signed(v, bb + 1) for v in lane] for lane in beta] if beta is not None else None
    prelu_lane(c, "lanes", p, bb + 1, pe, gamma, zeta, beta)
    c.add("output", ff=pe * _i(p, "OUT_BITS", 1))


@module("dybnn_concat")
def _concat(c: Cost, p: Mapping, mems: Mapping) -> None:
    """The word counter ``cf`` (``clog2(CF + 1)`` bits, enable and reset on the flip-flops) wraps at ``CF``:
    the incrementer's first LUT and :func:`wrap_luts`; its wrap test folds into those LUTs while at most two bits
    need the multiplexer, else it is a LUT of its own (elementwise_cat_b3, four bits). The input select
    ``cf < E_k`` (``E_k`` the inputs' cumulative word counts, the last ``CF``) reads only ``cf``'s bits from the
    lowest one of ``E_k`` upward; when those bits and the ``N_IN`` data bits fit a LUT5 every output bit is one
    LUT with the tests folded in (elementwise_c_cat_fx: ``cf[4:3]`` and two data bits), else each test is a
    shared LUT (elementwise_cat_fx: ``cf < 10`` and ``cf < 20`` read four bits) and the multiplexer reads them."""
    n, pe, ob = _i(p, "N_IN", 2), _i(p, "PE", 1), _i(p, "OUT_BITS", 1)
    ends = [sum(_i(p, f"CF{j}") for j in range(k + 1)) for k in range(n)]
    cf = ends[-1]
    a = clog2(cf + 1)
    w = wrap_luts(cf, a)
    c.add("control", ff=a, lut=inc_luts(a) + w + (cmp_const_luts(a) if w > 2 else 0))
    handshake(c, luts=2 + 2 * n)
    read = a - min(tz(e) for e in ends)
    if read + n <= 5:
        c.add("select", lut=pe * ob)
    else:
        c.add("select", lut=sum(cmp_const_luts(a - tz(e)) for e in ends) + mux_luts(n, pe * ob))
    c.add("output", ff=pe * ob)


def pool_reduce(c: Cost, p: Mapping, mode: int, kk: int, prefix: str = "") -> None:
    """``dybnn_pool_reduce``: per channel fold an accumulator word in ``dybnn_ram`` (CF words), the window
    counter, per lane the sum (MODE 0, with optional pre- and post-requantization), max (1) or OR (2)."""
    pe, cf, xb = _i(p, "PE", 1), _i(p, "CF", 1), _i(p, "X_BITS", 1)
    sb = _i(p, "SUM_BITS", xb)
    acc = sb if mode == 0 else xb
    ob = _i(p, "OUT_BITS", xb)
    counter(c, prefix + "control", aw(cf))
    counter(c, prefix + "control", aw(kk))
    handshake(c, prefix + "control", luts=4)
    ram(c, prefix + "accumulators", cf, pe * acc, str(p.get("RAM_STYLE", "distributed")), absorbed=True)
    if mode == 0:
        lane = add_luts(sb)
        c.add(prefix + "lanes", lut=pe * lane)
        if _i(p, "PRE"):
            # the element is X_BITS wide (sign- or zero-extended by one bit): its range, not that of X_BITS + 1
            # bits, decides which bounds can saturate (reactnet-tiny's ReduceSum_0: 16-bit elements >> 9 fit 8 bits,
            # no saturation in its cells; 118 -> 100 / 100)
            xr = (-(2 ** (xb - 1)), 2 ** (xb - 1) - 1) if _i(p, "X_SIGNED", 1) else (0, 2**xb - 1)
            rne_sat(
                c,
                prefix + "lanes",
                xb + 1,
                _i(p, "PRE_BITS", 1),
                bool(_i(p, "PRE_SIGNED")),
                _i(p, "PRE_SHIFT"),
                pe,
                in_range=xr,
            )
        if _i(p, "REQUANT"):
            rne_sat(c, prefix + "lanes", sb, ob, bool(_i(p, "OUT_SIGNED")), _i(p, "SHIFT"), pe)
    elif mode == 1:
        c.add(prefix + "lanes", lut=pe * (cmp_luts(xb + 1) + 2 * xb))
    else:
        c.add(prefix + "lanes", lut=pe * xb)
    c.add(prefix + "output", ff=pe * ob)


@module("dybnn_pool_reduce")
def _pool_reduce(c: Cost, p: Mapping, mems: Mapping) -> None:
    pool_reduce(c, p, _i(p, "MODE"), _i(p, "KK", 1))


@module("dybnn_global_pool")
def _global_pool(c: Cost, p: Mapping, mems: Mapping) -> None:
    pool_reduce(c, p, 0, _i(p, "PIXELS", 1))


def _pool(c: Cost, p: Mapping, mode: int, masked: bool) -> None:
    pe, xb = _i(p, "PE", 1), _i(p, "X_BITS", 1)
    win_w = pe * xb + (1 if masked else 0)
    q = dict(p, DATA_W=pe * xb, WIN_W=win_w)
    swu(c, q)
    fifo(c, "window_fifo", win_w, _i(p, "WIN_DEPTH", 2), str(p.get("WIN_STYLE", "srl")))
    pool_reduce(c, dict(p, RAM_STYLE=p.get("ACC_STYLE", "distributed")), mode, _i(p, "KH", 1) * _i(p, "KW", 1),
                "reduce.")  # fmt: skip


@module("dybnn_max_pool")
def _max_pool(c: Cost, p: Mapping, mems: Mapping) -> None:
    _pool(c, dict(p, SUM_BITS=_i(p, "X_BITS", 1), REQUANT=0, OUT_BITS=_i(p, "X_BITS", 1)),
          2 if _i(p, "BIPOLAR") else 1, bool(_i(p, "MASKED")))  # fmt: skip


@module("dybnn_avg_pool")
def _avg_pool(c: Cost, p: Mapping, mems: Mapping) -> None:
    _pool(c, p, 0, False)


def channel_statistics(c: Cost, p: Mapping, pe: int) -> None:
    """Frame in (``dybnn_dynamic_core``): per lane the channel sum's adder (after the optional requantization of
    the element to PRE_BITS) and the sum's requantization to the statistic."""
    xb, sum_b, stat_b = _i(p, "X_BITS", 1), _i(p, "SUM_BITS", 1), _i(p, "STAT_BITS", 1)
    c.add("sums", lut=pe * add_luts(sum_b))
    if _i(p, "PRE"):
        rne_sat(c, "sums", xb + 1, _i(p, "PRE_BITS", 1), bool(_i(p, "PRE_SIGNED")), _i(p, "PRE_SHIFT"), pe)
    rne_sat(c, "statistics", sum_b, stat_b, bool(_i(p, "STAT_SIGNED")), _i(p, "STAT_SHIFT"), pe)


def hyper_layers(
    c: Cost, p: Mapping, mems: Mapping, pe: int, cf: int, hd: int, nof: int, stats: bool = True
) -> None:
    """The frame-dependent part of the hyper function: with ``stats`` the channel sums' adders and requantization
    to the statistic (:func:`channel_statistics`), the weight and bias ROMs, the shared multipliers, both layers'
    sums and the hidden layer. ``cf``: the statistic's words (C0/PE for a context unit)."""
    stat_b = _i(p, "STAT_BITS", 1)
    w1b, w2b, b1b = _i(p, "W1_BITS", 1), _i(p, "W2_BITS", 1), _i(p, "B1_BITS", 1)
    l1b, l2b, h1b, hidb = (_i(p, k, 1) for k in ("L1_BITS", "L2_BITS", "H1_BITS", "HID_BITS"))
    n1, n2 = hd * cf, nof * hd
    if stats:
        channel_statistics(c, p, pe)
    # hyper layer 1: PE products summed into one accumulator
    rom(c, "hyper1", n1, pe * w1b, str(p.get("W1_STYLE", "distributed")), _contents(mems, "W1", n1, pe * w1b))
    rom(c, "hyper1", hd, b1b, str(p.get("B1_STYLE", "distributed")), _contents(mems, "B1", hd, b1b))
    # one multiplier per lane, shared by the two layers (statistic x w1 in hyper1, hidden x w2 in hyper2): its two
    # operand multiplexers, an MA x MB product (a DSP48 when wide enough); the product feeds both layers' sums,
    # so neither addition goes into the DSP's post-adder: hyper1's PE-term sum (one accumulator a1) and hyper2's
    # per-lane accumulators are carry chains
    ma, mb = max(stat_b, hidb) + 1, max(w1b, w2b) + 1
    dm = dsp_of(ma, mb, c.family, ma + mb)
    c.add("mac", dsp=pe * dm, lut=pe * (ma + mb + (0 if dm else ma * mb // 2)))
    c.add("hyper1", lut=pe * add_luts(l1b) + add_luts(h1b) + h1b, ff=l1b)
    rne_sat(c, "hyper1", h1b, hidb, False, _i(p, "HID_SHIFT"))
    ram(c, "hidden", hd, hidb, "distributed")
    rom(c, "hyper2", n2, pe * w2b, str(p.get("W2_STYLE", "distributed")), _contents(mems, "W2", n2, pe * w2b))
    c.add("hyper2", lut=pe * add_luts(l2b), ff=pe * l2b)


def delta_source_bits(p: Mapping) -> int:
    """The distinct bits of one delta as the hyper function writes it (``DELTA_BITS`` wide): the clipped ``z``
    (``ZC = max(Z_BITS, FZ + 2)`` bits, or only ``Z_BITS`` when the clip is dead) or the activation's ``ACT_BITS``,
    sign-extended (the copies of the sign are one bit) or zero-extended (constant bits); the squash's sum with
    ``SQ_LO``: every bit."""
    d_b = _i(p, "DELTA_BITS", 1)
    if _i(p, "SQUASH"):
        return d_b
    if _i(p, "ACT"):
        return min(d_b, _i(p, "ACT_BITS", 1))
    zb, fz = _i(p, "Z_BITS", 1), _i(p, "FZ", 1)
    return min(d_b, zb if zb - 1 <= fz else max(zb, fz + 2))


#: RAMB36 aspect ratios (SDP, UG473/UG573): twice the depth of the RAMB18 shape of the same width
RAMB36_SHAPES = tuple((2 * d, w) for d, w in RAMB18_SHAPES) + ((512, 72),)


def block_depth_tiles(depth: int, width: int) -> int:
    """Tiles in depth of a block memory as Yosys maps it: of the RAMB18 / RAMB36 shapes that reach the fewest
    RAMB18 (:func:`bram18_tiles`; a RAMB36 counts two), the one with the fewest tiles in depth (a tile more in
    depth costs a read multiplexer; memory_libmap counts it). A 3136 x 32 frame buffer: seven 512 x 36 RAMB18
    (no other shape reaches 7); 1568 x 32: two 2048 x 18 RAMB36, one tile deep."""
    best = bram18_tiles(depth, width)
    ks = [
        math.ceil(depth / d) for d, w in RAMB18_SHAPES if math.ceil(depth / d) * math.ceil(width / w) == best
    ]
    ks += [
        math.ceil(depth / d)
        for d, w in RAMB36_SHAPES
        if 2 * math.ceil(depth / d) * math.ceil(width / w) == best
    ]
    return min(ks) if ks else 1


def yosys_uram(depth: int, width: int) -> int:
    """URAM288 of a ``depth x width`` ``ultra`` memory as Yosys's memory_libmap maps it: ``ceil(depth / 4096)``
    groups of 4096 words in depth, laid side by side in the 72-bit rows (a word may straddle two URAM288; the
    netlist of a 100,352 x 64 memory: 25 groups in 23 URAM288, a 50,176 x 16 one: 13 groups in 3). Yosys does
    not use the URAM cascade."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(math.ceil(depth / URAM_DEPTH) * width / URAM_WIDTH)


def group_mux_luts(groups: int, width: int) -> float:
    """The read multiplexer of a memory of ``groups`` primitives in depth and the write-first bypass, per bit:
    up to four inputs one LUT6 (a 4:1 multiplexer on the registered address bits); beyond, an AND-OR of
    one-hot selects, two data bits per LUT (a LUT per group decodes its select, shared by every bit). Read from
    Yosys's netlists of ``dybnn_ram`` / ``dybnn_pack_ram`` in URAM288 (docs/estimation.md)."""
    n = groups + 1
    if n <= 4:
        return float(width)
    return width * math.ceil(n / 2) + groups


def depth_tiles(depth: int, width: int, style: str) -> int:
    """Memory primitives in depth, each read through a multiplexer: :func:`block_depth_tiles` for block RAM,
    ``ceil(depth / 4096)`` groups of URAM288 (:func:`yosys_uram`), one for LUTRAM (its read multiplexer is in
    :func:`lutram_luts`)."""
    if style == "block":
        return block_depth_tiles(depth, width)
    if style == "ultra":
        return math.ceil(depth / URAM_DEPTH)
    return 1


def packed_ram(c: Cost, part: str, depth: int, width: int, pack: int, style: str) -> None:
    """``dybnn_pack_ram``: ``dybnn_ram`` of ``depth / pack`` rows of ``pack`` words; per row bit a multiplexer
    of the memory's ``k`` tiles in depth and the bypassed row ((k+1):1, :func:`depth_tiles`), then one ``pack``:1
    multiplexer per output bit (the registered lane, the read address's low bits); the ``pack - 1`` gather
    registers, each loaded by a decode of the write address's low bits (a LUT each). ``pack`` 1 is ``dybnn_ram``
    itself (:func:`ram`)."""
    if pack <= 1:
        ram(c, part, depth, width, style)
        return
    rows, row_w = depth // pack, pack * width
    ram(c, part, rows, row_w, style, absorbed=True)
    k = depth_tiles(rows, row_w, style)
    sel = group_mux_luts(k, row_w) if style == "ultra" else mux_luts(k + 1, row_w)
    c.add(part + ".pack", lut=sel + mux_luts(pack, width) + (pack - 1), ff=(pack - 1) * width + clog2(pack))


def frame_buffer(c: Cost, p: Mapping, ring: int, width: int, nfwd: int) -> None:
    """The frame buffer, ``dybnn_ram`` of RING words: the write-first bypass multiplexer folds into the lanes'
    adders or comparisons, except where the word also goes to a register (the forwarded outputs, NFWD >= 1: a LUT
    per bit); block RAM deeper than one tile reads through a multiplexer of the tiles (``k`` tiles and the bypass:
    a (k+1):1 multiplexer per bit; its select, the registered high read address bits, is the read pointer). With
    FRAME_PACK > 1 (URAM rows of several words), :func:`packed_ram`."""
    style = str(p.get("FRAME_STYLE", "distributed"))
    pack = _i(p, "FRAME_PACK", 1)
    if pack > 1:
        packed_ram(c, "frame_buffer", ring, width, pack, style)
        return
    ram(c, "frame_buffer", ring, width, style, absorbed=nfwd == 0)
    if style in ("block", "ultra"):
        k = depth_tiles(ring, width, style)
        if k > 1:
            # the tiles' multiplexer takes the bypass in (ram() counted it with NFWD >= 1)
            sel = group_mux_luts(k, width) if style == "ultra" else mux_luts(k + 1, width)
            c.add("frame_buffer.bypass", lut=sel - (0 if nfwd == 0 else width))


def dynamic_core(c: Cost, p: Mapping, mems: Mapping, out_w: int) -> None:
    """``dybnn_dynamic_core``: the frame buffer (a ring of BUFFERS frames in ``dybnn_ram``), the channel sums
    (``dybnn_ram`` of CF words) and statistics (BUFFERS*CF words), the hyper function's two layers (PE
    multipliers shared by both, their accumulators, the weight and bias ROMs, the hidden layer's LUTRAM), the
    delta banks, the three processes' counters and the forwarded outputs."""
    pe, cf, pixels, xb = _i(p, "PE", 1), _i(p, "CF", 1), _i(p, "PIXELS", 1), _i(p, "X_BITS", 1)
    hd, nof, nb, nfwd = _i(p, "HD", 1), _i(p, "NOF", 1), _i(p, "BUFFERS", 1), _i(p, "NFWD")
    sum_b, stat_b, d_b = _i(p, "SUM_BITS", 1), _i(p, "STAT_BITS", 1), _i(p, "DELTA_BITS", 1)
    zb = _i(p, "Z_BITS", 1)
    words = pixels * cf
    ring = nb * words
    n1, n2 = hd * cf, nof * hd
    bk = nb * cf
    nbank = 2 if nof > cf else 1
    # counters of the three processes (frame in, hyper function, frame out)
    # z = (l2 <<< A2) + b2 keeps no bit of l2 when Z_BITS <= A2: the deltas do not depend on the frame, and
    # Yosys removes everything that only feeds l2 (the sums, statistics, multipliers, both layers' sums)
    live = zb > _i(p, "A2")
    # (bits, next value used: a read address one cycle ahead (only while the memory it reads is live), or an
    # up/down count or state, whose next value is logic of its own)
    regs = {"wcf": (aw(cf), live), "wpx": (aw(pixels), False), "wb": (1, False), "wp": (aw(ring), False),
            "occ": (aw(ring) + 1, True), "nst": (2, True), "hst": (2, True), "hcf": (aw(cf), live),
            "j": (aw(hd), live), "of": (aw(nof), True), "ob": (aw(cf), False), "part": (1, False),
            "a1i": (aw(n1), live), "a2i": (aw(n2), live), "hb": (1, live), "oact": (1, False),
            "ri": (aw(words), False), "ocf": (aw(cf), True), "rb": (1, True), "rp": (aw(ring), True),
            "ndl": (2, True)}  # fmt: skip
    for b, used in regs.values():
        counter(c, "control", b, next_used=used)
    frame_buffer(c, p, ring, pe * xb, nfwd)
    # the delta word is an operand of the lanes' carry chains beside another multiplexed word (the frame buffer's
    # read data): its write-first bypass multiplexer is a LUT per bit (LUT3 bypass ? fwd : q in the netlist)
    for _ in range(nbank):
        ram(
            c,
            "deltas",
            bk,
            pe * d_b,
            str(p.get("DELTA_STYLE", "distributed")),
            distinct=pe * delta_source_bits(p),
        )
    if live:
        ram(c, "sums", cf, pe * sum_b, str(p.get("STAT_STYLE", "distributed")), absorbed=True)
        ram(c, "statistics", bk, pe * stat_b, str(p.get("STAT_STYLE", "distributed")))
        hyper_layers(c, p, mems, pe, cf, hd, nof)
    hyper_output(c, p, mems, pe, nof, live)
    # outputs: the lane results and the forwarded frame (its registers only with NFWD >= 1; out2's are out1's,
    # the same word: Yosys merges them), a valid flip-flop per output
    c.add("output", ff=out_w + 1 + min(nfwd, 2) + (pe * xb if nfwd else 0), lut=6)


def hyper_output(c: Cost, p: Mapping, mems: Mapping, pe: int, nof: int, live: bool) -> None:
    """Hyper layer 2's output stage (``dybnn_dynamic_hyper``): per lane z = (l2 <<< A2) + b2 (no adder when
    ``live`` is false: the deltas are constants, nor when ``b2`` is zero in every word: ``z`` is the shifted
    ``l2``, as in a random-weight export whose biases are their zero initialization) and the squash or the clip
    with its requantization."""
    d_b, b2b, zb = _i(p, "DELTA_BITS", 1), _i(p, "B2_BITS", 1), _i(p, "Z_BITS", 1)
    rom(
        c,
        "hyper2",
        nof,
        pe * b2b,
        str(p.get("B2_STYLE", "distributed")),
        _contents(mems, "B2", nof, pe * b2b),
    )
    c.add("hyper2", lut=pe * (add_luts(zb) if live and not _table_zero(mems, "B2", nof) else 0))
    if _i(p, "SQUASH"):
        # the binary search over the squash table: step k (k = 0..SQ_STEPS-1) compares z with one of the 2**k
        # entries its earlier decisions select (a LUT ROM of 2**k words; step 0 a constant) and adds a bit
        steps, sqb = _i(p, "SQ_STEPS", 1), _i(p, "SQ_BITS", 1)
        # t <= z on SQC = max(Z_BITS, SQ_BITS) + 1 bits, both operands sign-extended: Yosys narrows the comparison
        # to the wider operand's bits (an unsigned threshold has one bit more)
        sqc = max(zb, sqb + (0 if _i(p, "SQ_SIGNED") else 1))
        sq = mems.get("SQ")
        per = math.ceil(sqc / 2)  # step 0 reads one entry: a comparison with a constant
        for k in range(1, steps):
            # the entries step k can read: sq_thr[(2j+1) * 2**(steps-1-k) - 1], j < 2**k
            idx = [(2 * j + 1) * 2 ** (steps - 1 - k) - 1 for j in range(2**k)]
            words = [sq[i] for i in idx if i < len(sq)] if sq is not None else None
            cols = RomContents.of(words, len(idx), sqb).columns
            # a threshold bit of step k is a function of the k bits decided before it: with z's bit, k + 1 inputs,
            # one LUT6 on the comparison's chain while k <= 5 (the chain's DI input takes z's bit); beyond, the
            # column is a LUT ROM of its own
            per += (cols * rom_column_luts(2**k) if k > 5 else 0) + cmp_luts(sqc)
        c.add("hyper2", lut=pe * (per + add_luts(d_b)))
    else:
        fz = _i(p, "FZ", 1)
        zc = max(zb, fz + 2)
        # the clip to [-2**FZ, 2**FZ]: none when z's range (Z_BITS signed) lies inside (the comparisons of a
        # sign-extended Z_BITS value with the bounds are constant: Yosys removes them)
        if zb - 1 > fz:
            c.add("hyper2", lut=pe * (2 * cmp_const_luts(zc) + zc))
        if _i(p, "ACT"):
            rne_sat(c, "hyper2", zc, _i(p, "ACT_BITS", 1), bool(_i(p, "ACT_SIGNED")), _i(p, "ACT_SHIFT"), pe)


def context_core(c: Cost, p: Mapping, mems: Mapping, out_w: int) -> None:
    """``dybnn_dynamic_context`` (a unit whose hyper function reads the context vector, ``hyper_context: stem``):
    no frame buffer and no channel sums; the context's HCF words in a statistics ``dybnn_ram``, the hyper function
    (:func:`hyper_layers` without the statistics, :func:`hyper_output`), two banks of deltas (2*CF words each),
    the counters of its two processes (context in + the hyper function's, frame out) and the output register."""
    pe, cf, hcf, pixels = _i(p, "PE", 1), _i(p, "CF", 1), _i(p, "HCF", 1), _i(p, "PIXELS", 1)
    hd, nof = _i(p, "HD", 1), _i(p, "NOF", 1)
    stat_b, d_b, zb = _i(p, "STAT_BITS", 1), _i(p, "DELTA_BITS", 1), _i(p, "Z_BITS", 1)
    n1, n2 = hd * hcf, nof * hd
    # context in (ccf, nfr), the hyper function (hst, hcf, j, of, ob, part, a1i, a2i, hb), frame out (oact, ri,
    # ocf, rb, ndl)
    bits = [
        aw(hcf),
        2,
        2,
        aw(hcf),
        aw(hd),
        aw(nof),
        aw(cf),
        1,
        aw(n1),
        aw(n2),
        1,
        1,
        aw(pixels * cf),
        aw(cf),
        1,
        2,
    ]
    for b in bits:
        counter(c, "control", b)
    live = zb > _i(p, "A2")  # as in dynamic_core: else the deltas are constants and the statistics go
    # the lanes read the input word itself (no frame buffer, no second multiplexed operand): the delta memories'
    # bypass multiplexers fold into the lanes' carry-chain LUTs
    for _ in range(2 if nof > cf else 1):
        ram(c, "deltas", 2 * cf, pe * d_b, str(p.get("DELTA_STYLE", "distributed")), absorbed=True)
    if live:
        ram(c, "context", hcf, pe * stat_b, str(p.get("STAT_STYLE", "distributed")))
        hyper_layers(c, p, mems, pe, hcf, hd, nof, stats=False)
    hyper_output(c, p, mems, pe, nof, live)
    c.add("output", ff=out_w + 1, lut=4)


def unit_core(c: Cost, p: Mapping, mems: Mapping, out_w: int) -> None:
    """The core of a dynamic unit: :func:`context_core` with CONTEXT, else :func:`dynamic_core`."""
    (context_core if _i(p, "CONTEXT") else dynamic_core)(c, p, mems, out_w)


@module("dybnn_hyper_context")
def _hyper_context(c: Cost, p: Mapping, mems: Mapping) -> None:
    """``dybnn_hyper_context`` (``dybnn_dynamic_core`` with CONTEXT_OUT): the frame buffer (a ring of BUFFERS
    frames, its read data straight into the output register), the channel sums and statistics
    (:func:`channel_statistics`), the context out process instead of a hyper function, and the two output
    registers (the frame, the context vector)."""
    pe, cf, pixels, xb = _i(p, "PE", 1), _i(p, "CF", 1), _i(p, "PIXELS", 1), _i(p, "X_BITS", 1)
    nb, sum_b, stat_b = _i(p, "BUFFERS", 1), _i(p, "SUM_BITS", 1), _i(p, "STAT_BITS", 1)
    words = pixels * cf
    ring = nb * words
    # frame in (wcf, wpx, wb, wp, occ, nst), context out (cact, ccf, cb), frame out (oact, ri, ocf, rb, rp, ndl)
    bits = [
        aw(cf),
        aw(pixels),
        1,
        aw(ring),
        aw(ring) + 1,
        2,
        1,
        aw(cf),
        1,
        1,
        aw(words),
        aw(cf),
        1,
        aw(ring),
        2,
    ]
    for b in bits:
        counter(c, "control", b)
    packed_ram(
        c, "frame_buffer", ring, pe * xb, _i(p, "FRAME_PACK", 1), str(p.get("FRAME_STYLE", "distributed"))
    )
    ram(c, "sums", cf, pe * sum_b, str(p.get("STAT_STYLE", "distributed")), absorbed=True)
    ram(c, "statistics", nb * cf, pe * stat_b, str(p.get("STAT_STYLE", "distributed")))
    channel_statistics(c, p, pe)
    c.add("output", ff=pe * xb + pe * stat_b + 2, lut=6)


def shifted_sum(
    a_bits: int, a_signed: bool, a_zero: bool, d_bits: int, shift: int, width: int
) -> tuple[int, int, int]:
    """``a + (d << shift)`` kept to ``width`` bits (a parameter from a table plus a delta, on a common grid, both
    signed after extension): ``(adder LUTs, lowest bit that can be nonzero, significant bits)``. The ``shift`` low
    bits of the shifted delta are zero: the sum's low bits are ``a``'s, no adder; above them the adder's result is
    ``max(a, d + shift) + 1`` bits (Yosys narrows a sum of sign-extended operands to one bit over the wider). No
    adder where ``a`` is zero (``a_zero``: every word of its table) or unsigned below the delta (``a_bits <=
    shift``: the sum is the two side by side)."""
    a_w = a_bits + (0 if a_signed else 1)  # as a signed value
    d_w = d_bits + shift
    if a_zero:
        return 0, shift, min(width, d_w)
    if not a_signed and a_bits <= shift:
        return 0, 0, min(width, d_w)
    top = min(width, max(a_w, d_w) + 1)
    return max(0, top - shift), 0, top


def _table_zero(mems: Mapping, name: str, depth: int) -> bool:
    """Every word of the constant table ``name`` is zero (Yosys removes it and what it feeds)."""
    return name in mems and not any(int(w) for w in mems[name][:depth])


@module("dybnn_dynamic_sign")
def _dynamic_sign(c: Cost, p: Mapping, mems: Mapping) -> None:
    """DynamicSign: the unit's core and per lane ``(x << SHIFT_X) >= tau[c] + (delta << SHIFT_DELTA)``: the
    threshold's adder (:func:`shifted_sum`) and the comparison, a LUT per bit over the wider operand's significant
    bits (ABC keeps the bits below the threshold's lowest nonzero one: carry chain and LUTs, about one LUT per
    bit in the netlist)."""
    pe, cf, xb = _i(p, "PE", 1), _i(p, "CF", 1), _i(p, "X_BITS", 1)
    unit_core(c, p, mems, pe)
    tb, cmp_b, d_b = _i(p, "TAU_BITS", 1), _i(p, "CMP_BITS", 1), _i(p, "DELTA_BITS", 1)
    rom(c, "lanes", cf, pe * tb, str(p.get("TAU_STYLE", "distributed")), _contents(mems, "TAU", cf, pe * tb))
    add, _, t_w = shifted_sum(tb, bool(_i(p, "TAU_SIGNED")), _table_zero(mems, "TAU", cf), d_b,
                               _i(p, "SHIFT_DELTA"), cmp_b)  # fmt: skip
    x_w = min(cmp_b, xb + _i(p, "SHIFT_X") + (0 if _i(p, "X_SIGNED") else 1))
    c.add("lanes", lut=pe * (add_luts(add) + cmp_luts(max(x_w, t_w))))


@module("dybnn_dynamic_prelu")
def _dynamic_prelu(c: Cost, p: Mapping, mems: Mapping) -> None:
    pe, cf = _i(p, "PE", 1), _i(p, "CF", 1)
    unit_core(c, p, mems, pe * _i(p, "OUT_BITS", 1))
    for name in ("GAMMA", "ZETA", "BETA"):
        w = pe * _i(p, f"{name}_BITS", 1)
        rom(c, "lanes", cf, w, str(p.get(f"{name}_STYLE", "distributed")), _contents(mems, name, cf, w))
    # g = gamma + (dg << G_DELTA_SHIFT) on the subtraction's grid, z = zeta + (dz << Z_DELTA_SHIFT) on the sum's
    d_b = _i(p, "DELTA_BITS", 1)
    for name, shift, width in (("GAMMA", "G_DELTA_SHIFT", "D_BITS"), ("ZETA", "Z_DELTA_SHIFT", "R_BITS")):
        add = shifted_sum(_i(p, f"{name}_BITS", 1), bool(_i(p, f"{name}_SIGNED")), _table_zero(mems, name, cf),
                          d_b, _i(p, shift), _i(p, width, 1))[0]  # fmt: skip
        c.add("lanes", lut=pe * add_luts(add))
    prelu_lane(c, "lanes", p, _i(p, "BETA_BITS", 1) + 1, pe)
    # the sign select v = d >= 0 ? d << SHIFT_POS : d * beta does not fold into the + z adder here: z comes through
    # the delta memory's bypass multiplexer, and the chain takes the select as its own LUT per bit (the LUT2 /
    # LUT3 reading the DSP48's P output in the netlist, one per bit of P_BITS)
    c.add("lanes", lut=pe * _i(p, "P_BITS", 1))


# ------------------------------------------------------------------------------------------------ entry points


def read_mem_images(prj: str | Path, params: Mapping) -> dict[str, list[int]]:
    """The ``$readmemh`` images an instance's ``<NAME>_INIT_FILE`` parameters name, relative to ``prj``."""
    out = {}
    for k, v in params.items():
        if k.endswith("_INIT_FILE") and isinstance(v, str) and v:
            text = (Path(prj) / v).read_text().split()
            out[k[: -len("_INIT_FILE")]] = [int(x, 16) for x in text if not x.startswith("//")]
    return out


@dataclass
class UnitEstimate:
    """The estimate of one instance: totals (rounded) and the components."""

    module: str
    lut: int
    ff: int
    bram18: int
    uram: int
    dsp: int
    parts: dict[str, Resources]

    @property
    def resources(self) -> Resources:
        return Resources(self.lut, self.ff, self.bram18, self.uram, self.dsp)


def estimate_unit(
    module_name: str,
    params: Mapping,
    part: str,
    prj: str | Path | None = None,
    mems: Mapping[str, Sequence[int]] | None = None,
) -> UnitEstimate:
    """The estimate of one library module instance with SV parameters ``params`` for ``part`` (its Yosys
    family); the ROM contents from ``mems`` (name -> words) or from the images under ``prj``.

    Raises:
        ValueError: no cost model for ``module_name``.
    """
    fn = MODULES.get(module_name)
    if fn is None:
        raise ValueError(f"module {module_name!r}: no RTL cost model (known: {', '.join(sorted(MODULES))})")
    if mems is None:
        mems = read_mem_images(prj, params) if prj is not None else {}
    c = Cost(yosys_family(part))
    fn(c, params, mems)
    t = c.total()
    return UnitEstimate(module_name, round(t.lut), round(t.ff), math.ceil(t.bram18), math.ceil(t.uram),
                        round(t.dsp), dict(c.parts))  # fmt: skip


def instance_estimate(inst, part: str) -> UnitEstimate:
    """The estimate of an :class:`rtl.modules.Instance` (its ROM contents from its memories)."""
    mems = {m.name: list(m.words) for m in inst.mems if m.kind == "rom"}
    return estimate_unit(inst.module, inst.params, part, mems=mems)


def estimate_rtl(g, folding=None, clock_ns: float = 10.0, device=None, cfg=None):
    """The RTL design of ``g`` at ``folding`` (the plan ``dybnn rtl`` writes for ``device``'s part), estimated
    per instance: one :class:`hls.estimate.records.NodeEstimate` per node (the Duplicate forks included) with
    the RTL resources and the timing model's cycles, one :class:`FifoEstimate` per stream FIFO (its RTL style and
    depth) and per width converter (``dwc:<stream>``, depth 0). ``system_totals`` add the device's platform
    shell as the HLS backend does.

    Raises:
        rtl.modules.RtlError: a node the RTL library cannot generate.
    """
    from dataclasses import replace

    from hls.devices import resolve_part
    from hls.estimate.pipeline import GraphModel, config_for
    from hls.estimate.records import FifoEstimate
    from hwsim.partition import accelerator_part
    from rtl.project import _dwc_params, make_rtl_plan

    if device is None:
        device = resolve_part("pynq-z1")
    hls_est = GraphModel(g, config_for(device, cfg)).estimate(folding, clock_ns, device)
    rp = make_rtl_plan(accelerator_part(g), folding, device.part)
    by_name = {n.name: n for n in hls_est.nodes}
    nodes = []
    for n in rp.graph.nodes:
        e = instance_estimate(rp.instances[n.name], device.part)
        h = by_name.get(n.name)
        if h is None:
            raise ValueError(f"node {n.name!r}: in the RTL plan but not in the timing model's stream graph")
        nodes.append(replace(h, resources=e.resources, parts=e.parts))
    fifos = []
    for f in rp.fifos:
        c = Cost(yosys_family(device.part))
        fifo(c, "fifo", f.width, f.depth, f.style)
        fifos.append(FifoEstimate(f"fifo:{f.producer}->{f.consumer}", f.producer, f.consumer or "output", f.depth,
                                  f.width, c.total()))  # fmt: skip
    for call in rp.hls.calls:
        if call["kind"] != "dwc":
            continue
        params = _dwc_params(call)
        e = estimate_unit("dybnn_width_convert", params, device.part)
        fifos.append(FifoEstimate(f"dwc:{call['label']}", call["args"][0], call["args"][1], 0,
                                  params["OUT_E"] * params["BITS"], e.resources))  # fmt: skip
    totals = Resources.total([n.resources for n in nodes] + [f.resources for f in fifos])
    shell = Resources.total([hls_est.system_totals]) + hls_est.totals * -1
    return replace(hls_est, nodes=nodes, fifos=fifos, totals=totals, system_totals=totals + shell)
