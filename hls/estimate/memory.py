"""Memory mapping: how many LUTs, RAMB18 or URAM a ``depth x width`` memory or FIFO takes.

Primitives (Xilinx 7-series / UltraScale+):

* RAMB18 in simple dual-port mode: 16384x1, 8192x2, 4096x4, 2048x9, 1024x18, 512x36 (UG473 Table 1-? / UG573
  Table 1-10 "RAMB18E* SDP"); a RAMB36 is two RAMB18 (512x72 = two 512x36 side by side).
* URAM288: 4096x72 (UG573, UltraScale+ only).
* LUT as memory: a LUT6 is a 64x1 ROM (ROM64X1); writable simple-dual-port LUTRAM is RAM32M (32 deep x 6 bits
  in 4 LUTs) or RAM64M (64 deep x 3 bits in 4 LUTs) (UG474 "Distributed RAM" / "Read-only memory").
* SRLC32E: a 32-deep shift register per LUT (UG474), used by shallow FIFOs.

Two BRAM models are kept side by side: FINN's width/depth "ladder" (``finn_bram18_ladder``, used by
``finn_reference_estimate``) and the cheapest-aspect-ratio mapping (``bram18_tiles``) that Vivado's RAM
inference reaches for a single memory. The difference matters for binary weights: FINN sizes one memory
``PE*SIMD`` bits wide, while finn-hlslib/BNN-PYNQ partition the weight array per PE (``ARRAY_PARTITION ...
dim=1``), so each PE has its own ``WMEM x SIMD`` memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: RAMB18 SDP aspect ratios (depth, width), UG473 (7-series) / UG573 (UltraScale) RAMB18 SDP configurations
RAMB18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
#: URAM288 (UG573): 4096 x 72
URAM_DEPTH, URAM_WIDTH = 4096, 72
#: FINN maps weight memories with WMEM <= 128 to LUTs ("internal_embedded and WMEM <= 128" in
#: matrixvectoractivation.py bram_estimation / hls lut_estimation); we use the same depth limit for "auto"
LUTRAM_MAX_DEPTH = 128
#: "auto" memories that would fill at least half a URAM288 go to URAM on parts that have it, if URAM wastes no
#: more capacity than RAMB18 would (one URAM288 holds as many bits as 16 RAMB18) [design choice]
URAM_MIN_BITS = 4096 * 72 // 2
URAM_PER_BRAM18 = 16


def clog2(n: int) -> int:
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


def finn_bram18_ladder(depth: int, width: int) -> int:
    """FINN's RAMB18 count for a ``depth x width`` memory (finn matrixvectoractivation.py bram_estimation)."""
    if depth <= 0 or width <= 0:
        return 0
    if width == 1:
        return math.ceil(depth / 16384)
    if width == 2:
        return math.ceil(depth / 8192)
    if width <= 4:
        return math.ceil(depth / 4096) * math.ceil(width / 4)
    if width <= 9:
        return math.ceil(depth / 2048) * math.ceil(width / 9)
    if width <= 18 or depth > 512:
        return math.ceil(depth / 1024) * math.ceil(width / 18)
    return math.ceil(depth / 512) * math.ceil(width / 36)


def bram18_tiles(depth: int, width: int) -> int:
    """RAMB18 count of the cheapest single aspect ratio for a ``depth x width`` memory (UG473 SDP shapes)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(depth / d) * math.ceil(width / w) for d, w in RAMB18_SHAPES)


def uram_blocks(depth: int, width: int) -> int:
    """URAM288 count (4096x72, UG573); FINN uses the same ``ceil(w/72)*ceil(d/4096)``."""
    if depth <= 0 or width <= 0:
        return 0
    return math.ceil(depth / URAM_DEPTH) * math.ceil(width / URAM_WIDTH)


def lutram_luts(depth: int, width: int, writable: bool = False) -> float:
    """LUTs of a distributed memory.

    ROM (constants): ``width * ceil(depth/64)`` LUT6 (ROM64X1; FINN's ``c2 = P*Q*W*ceil(WMEM/64)`` term) plus
    a LUT 4:1 mux level per bit for every 4 LUT6 beyond the first (MUXF7/F8 cover 256 deep, UG474). Writable
    (runtime-loaded parameters, BNN-PYNQ style): RAM32M (32x6 in 4 LUTs) or RAM64M (64x3 in 4 LUTs).
    """
    if depth <= 0 or width <= 0:
        return 0.0
    if writable:
        if depth <= 32:
            return 4.0 * math.ceil(width / 6)
        rows = math.ceil(depth / 64)
        return 4.0 * math.ceil(width / 3) * rows + width * max(0, math.ceil(rows / 4) - 1)
    rows = math.ceil(depth / 64)
    return float(width * rows + width * max(0, math.ceil(rows / 4) - 1))


@dataclass(frozen=True)
class MemCost:
    style: str  # "lutram" | "bram" | "uram" | "none"
    lut: float = 0.0
    bram18: float = 0.0
    uram: float = 0.0


def map_memory(
    depth: int, width: int, style: str = "auto", *, has_uram: bool = False, writable: bool = False
) -> MemCost:
    """Cost of one ``depth x width`` memory in ``style`` ("auto", "lutram", "bram", "uram").

    auto: LUTs when ``depth <= 128`` (FINN's rule); URAM when the part has URAM, the memory would fill half a
    URAM or more and the URAM mapping wastes no more capacity than the RAMB18 one; RAMB18 otherwise.
    """
    if depth <= 0 or width <= 0:
        return MemCost("none")
    bits = depth * width
    if style == "auto":
        if depth <= LUTRAM_MAX_DEPTH:
            style = "lutram"
        elif (
            has_uram
            and bits >= URAM_MIN_BITS
            and uram_blocks(depth, width) * URAM_PER_BRAM18 <= bram18_tiles(depth, width)
        ):
            style = "uram"
        else:
            style = "bram"
    return _styled(style, depth, width, writable, bram18_tiles(depth, width), uram_blocks(depth, width))


def _styled(style: str, depth: int, width: int, writable: bool, bram18: float, uram: float) -> MemCost:
    """The cost of a resolved ``style``: LUTRAM for ``depth x width``, or the given RAMB18 / URAM counts."""
    if style == "lutram":
        return MemCost("lutram", lut=lutram_luts(depth, width, writable))
    if style == "uram":
        return MemCost("uram", uram=uram)
    if style == "bram":
        return MemCost("bram", bram18=bram18)
    raise ValueError(f"unknown memory style {style!r}; expected auto, lutram, bram or uram")


def map_sequential_buffer(
    depth: int, width: int, style: str = "auto", *, has_uram: bool = False, writable: bool = True
) -> MemCost:
    """A buffer written and read in order (a frame buffer): ``k`` consecutive words may share one memory word
    (HLS ``ARRAY_RESHAPE``), so the mapping takes the best packing factor ``k`` up to the primitive's width
    (72 bits) for each style. auto: LUTs when shallow; on parts with URAM, URAM for buffers of at least half a
    URAM (large deep buffers are what URAM is for, UG573; with packing it wastes no more than RAMB18); else
    RAMB18."""
    if depth <= 0 or width <= 0:
        return MemCost("none")
    ks = range(1, max(1, URAM_WIDTH // width) + 1)
    shapes = [(math.ceil(depth / k), width * k) for k in ks]
    bram = min(bram18_tiles(d, w) for d, w in shapes)
    uram = min(uram_blocks(d, w) for d, w in shapes)
    if style == "auto":
        if depth <= LUTRAM_MAX_DEPTH:
            style = "lutram"
        elif has_uram and depth * width >= URAM_MIN_BITS:
            style = "uram"
        else:
            style = "bram"
    return _styled(style, depth, width, writable, bram, uram)


# ------------------------------------------------------------------------------------------------ FIFOs


@dataclass(frozen=True)
class FifoCost:
    style: str
    lut: float
    ff: float
    bram18: float = 0.0
    uram: float = 0.0


def fifo_cost(depth: int, width: int, *, has_uram: bool = False) -> FifoCost:
    """Resources of a stream FIFO, after finn-plus ``finn/util/resource_models.py`` (coefficients fitted by
    FINN on Vivado out-of-context runs on xczu7ev/xcvc1902; docs/estimation.md):

    style: depth <= 33 -> SRL; depth <= 64 and width < 12 -> SRL; depth <= 257 or width < 5 -> LUTRAM; depth
    <= 2028 -> BRAM; else URAM (BRAM on parts without URAM), words packed to the primitive width. ``cw =
    clog2(depth+1) + 1`` (address/count width). FFs: read/write pointers and the output register: ``2*cw +
    width`` [engineering estimate; FINN has no FF model].
    """
    depth = max(1, int(depth))
    cw = clog2(depth + 1) + 1
    ff = 2 * cw + width
    if depth <= 33 or (depth <= 64 and width < 12):
        d = max(4, depth - 1)
        return FifoCost("srl", math.ceil(d / 32) * width + 5 * cw - 7, ff)
    if depth <= 257 or width < 5:
        rows = 2 ** clog2(depth - 1)
        lut = math.ceil(rows / 32) * math.ceil(width / 2) * 5 / 4 + (rows // 128) * (width // 2) + 8 * cw - 15
        return FifoCost("lutram", lut, ff)
    if depth <= 2028:
        tiles = bram18_tiles(depth, width)
        groups = min(math.ceil(width / w) for d, w in RAMB18_SHAPES if d >= depth)
        return FifoCost("bram", 54 + 3 * groups + 2 * tiles / 5, ff, bram18=tiles)
    # deeper than FINN's BRAM range (frame-deep shortcut FIFOs): words pack into the primitive width like a
    # sequential buffer (a FIFO is written and read in order) [our change: FINN's model does not pack]
    mem = map_sequential_buffer(depth, width, "uram" if has_uram else "bram")
    groups = math.ceil(width / URAM_WIDTH)
    if has_uram:
        return FifoCost("uram", 6 * cw + max(1, groups / 4 - 2) * width, ff, uram=mem.uram)
    return FifoCost("bram", 54 + 3 * math.ceil(width / 36) + 2 * mem.bram18 / 5, ff, bram18=mem.bram18)
