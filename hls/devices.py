"""FPGA parts the estimator can target: full-chip resources, board aliases and platform shell overheads.

Resources are datasheet full-chip numbers (LUT, FF, RAMB18 = 2 x RAMB36, URAM288, DSP slices). Each row's
``source`` says where the numbers come from; rows recalled from a datasheet but not checked against the PDF or
a Vivado report in this project carry ``[UNVERIFIED recall]``. FINN's own per-SLR budgets
(``finn/util/platforms.py``) are smaller than these for Alveo cards because they subtract the shell; we keep
the full chip here and model the shell separately (:func:`shell_overhead`).

``resolve_part`` accepts a full part name (``xczu3eg-sbva484-1-e``; any package/speed suffix of a known family
is accepted), a family prefix (``xczu3eg``) or a board alias (``ultra96``), case-insensitively.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

PlatformKind = Literal["zynq", "alveo"]

_REF = "(docs/sources.md, device tables)"


@dataclass(frozen=True)
class Device:
    """One FPGA part: full-chip resources and what kind of platform (shell) it is used in."""

    #: family name, the key of the table (``xc7z020``)
    family: str
    #: full part name as Vivado spells it (the board's part, or the one the user gave)
    part: str
    lut: int
    ff: int
    #: RAMB18 primitives (2 per RAMB36)
    bram18: int
    #: URAM288 blocks
    uram: int
    dsp: int
    platform: PlatformKind
    #: board names that resolve to this part
    aliases: tuple[str, ...]
    #: where the resource numbers come from
    source: str

    @property
    def verified(self) -> bool:
        return "UNVERIFIED" not in self.source

    def capacity(self) -> dict[str, int]:
        return {"lut": self.lut, "ff": self.ff, "bram18": self.bram18, "uram": self.uram, "dsp": self.dsp}


DEVICES: dict[str, Device] = {
    d.family: d
    for d in (
        Device(
            "xc7z020",
            "xc7z020clg400-1",
            53_200,
            106_400,
            280,
            0,
            220,
            "zynq",
            ("pynq-z1", "pynq-z2"),
            "Xilinx DS190 Zynq-7000 overview: 53,200 LUT, 106,400 FF, 140 RAMB36, 220 DSP48E1; confirmed by "
            "the Vivado utilization reports of BNN-PYNQ builds and FINN platforms.py Zynq7020 budget " + _REF,
        ),
        Device(
            "xczu3eg",
            "xczu3eg-sbva484-1-e",
            70_560,
            141_120,
            432,
            0,
            360,
            "zynq",
            ("ultra96", "ultra96-v2"),
            "Xilinx DS891 Zynq UltraScale+ overview, ZU3EG: 70,560 LUT, 141,120 FF, 216 RAMB36, 360 DSP48E2 "
            "[UNVERIFIED recall]; FINN platforms.py budget [71000, 142000, 412, 0, 360] " + _REF,
        ),
        Device(
            "xczu7ev",
            "xczu7ev-ffvc1156-2-e",
            230_400,
            460_800,
            624,
            96,
            1_728,
            "zynq",
            ("zcu104",),
            "Xilinx DS891, ZU7EV: 230,400 LUT, 460,800 FF, 312 RAMB36, 96 URAM, 1,728 DSP [UNVERIFIED "
            "recall]; FINN platforms.py budget [230000, 460000, 610, 92, 1728] " + _REF,
        ),
        Device(
            "xck26",
            "xck26-sfvc784-2LV-c",
            117_120,
            234_240,
            288,
            64,
            1_248,
            "zynq",
            ("kv260", "k26"),
            "Xilinx DS987 Kria K26 SOM: 117,120 LUT, 234,240 FF, 144 RAMB36, 64 URAM, 1,248 DSP "
            "[UNVERIFIED recall] " + _REF,
        ),
        Device(
            "xczu9eg",
            "xczu9eg-ffvb1156-2-e",
            274_080,
            548_160,
            1_824,
            0,
            2_520,
            "zynq",
            ("zcu102",),
            "Xilinx DS891, ZU9EG: 274,080 LUT, 548,160 FF, 912 RAMB36, 2,520 DSP [UNVERIFIED recall]; "
            "FINN platforms.py budget [274000, 548000, 1824, 0, 2520] " + _REF,
        ),
        Device(
            "xcu50",
            "xcu50-fsvh2104-2-e",
            872_160,
            1_744_320,
            2_688,
            640,
            5_952,
            "alveo",
            ("u50",),
            "Xilinx DS965 Alveo U50: 872K LUT, 1,743K registers, 1,344 RAMB36, 640 URAM, 5,952 DSP "
            "[UNVERIFIED recall]; FINN platforms.py per-SLR budgets sum to 742,560 LUT after the shell "
            + _REF,
        ),
        Device(
            "xcu250",
            "xcu250-figd2104-2L-e",
            1_728_000,
            3_456_000,
            5_376,
            1_280,
            12_288,
            "alveo",
            ("u250",),
            "Xilinx DS962 Alveo U200/U250: 1,728K LUT, 3,456K registers, 2,688 RAMB36, 1,280 URAM, "
            "12,288 DSP [UNVERIFIED recall]; FINN platforms.py 4 SLRs x [375000, 750000, 1152, 320, 2880] "
            + _REF,
        ),
        Device(
            "xcu280",
            "xcu280-fsvh2892-2L-e",
            1_303_680,
            2_607_360,
            4_032,
            960,
            9_024,
            "alveo",
            ("u280",),
            "Xilinx DS963 Alveo U280: 1,304K LUT, 2,607K registers, 2,016 RAMB36, 960 URAM, 9,024 DSP "
            "[UNVERIFIED recall] " + _REF,
        ),
    )
}


class UnknownPartError(ValueError):
    """The part name is neither a known full part, a family prefix nor a board alias."""


def known_names() -> list[str]:
    """Every name :func:`resolve_part` accepts as-is: families, default full parts and aliases."""
    out: list[str] = []
    for d in DEVICES.values():
        out += [d.family, d.part, *d.aliases]
    return out


def resolve_part(name_or_alias: str) -> Device:
    """The :class:`Device` for a full part name, a family prefix or a board alias (case-insensitive).

    A full part of a known family with another package or speed grade (``xczu3eg-sfvc784-2-e``) resolves to
    that family with ``part`` set to the given name.

    Raises:
        UnknownPartError: listing the known families, parts and aliases.
    """
    key = str(name_or_alias).strip().lower()
    for d in DEVICES.values():
        if key in (d.family, d.part.lower()) or key in d.aliases:
            return d
    for d in DEVICES.values():
        # full part of a known family: family followed by a package/speed suffix
        if key.startswith(d.family) and key[len(d.family) :][:1] in ("-", "c", "f", "s"):
            return dataclasses.replace(d, part=str(name_or_alias).strip())
    rows = "; ".join(f"{d.family} ({d.part}; aliases {', '.join(d.aliases)})" for d in DEVICES.values())
    raise UnknownPartError(f"unknown FPGA part {name_or_alias!r}; known parts: {rows}")


# ------------------------------------------------------------------------------------------- platform shells


@dataclass(frozen=True)
class ShellOverhead:
    """Resources that the platform around the accelerator takes (DMA, interconnect, control), with sources."""

    lut: int
    ff: int
    bram18: int
    uram: int
    dsp: int
    source: str


#: Zynq: the accelerator is an HLS IP with an AXI-lite control port and an ``m_axi`` master that reads and
#: writes DDR through a PS high-performance port (BNN-PYNQ ``BlackBoxJam``: ``Mem2Stream_Batch`` /
#: ``Stream2Mem_Batch``; FINN's Zynq shell uses HLS IODMAs the same way). Components [UNVERIFIED recall of
#: Xilinx PG059 AXI Interconnect / Vivado HLS interface resource figures, engineering estimates -- not fitted
#: to any validation design]:
ZYNQ_SHELL_PARTS: dict[str, tuple[int, int, int, int, int]] = {
    # name: (LUT, FF, BRAM18, URAM, DSP)
    "GP0 AXI interconnect + AXI3->AXI-lite protocol converter": (400, 600, 0, 0, 0),
    "HLS AXI-lite slave (control registers)": (250, 350, 0, 0, 0),
    # read and write burst buffers: one RAMB36 each (HLS m_axi defaults: 16 outstanding x 16-beat bursts)
    "HLS m_axi 64-bit master adapter (read + write)": (1_400, 2_000, 4, 0, 0),
    "HP0 AXI interconnect (AXI4 -> AXI3, 64-bit)": (700, 1_000, 0, 0, 0),
    # burst address/length arithmetic: a 32x32-bit product (frames x words) is 4 DSP48E1 in HLS
    "Mem2Stream / Stream2Mem address and length logic": (300, 500, 0, 0, 4),
    "proc_sys_reset": (20, 40, 0, 0, 0),
}
ZYNQ_SHELL = ShellOverhead(
    *(sum(v[i] for v in ZYNQ_SHELL_PARTS.values()) for i in range(5)),
    source="component estimate of an HLS m_axi + AXI-lite Zynq shell (PS interconnects, m_axi adapter, "
    "control slave, address logic; hls/devices.py ZYNQ_SHELL_PARTS, UNVERIFIED recall, not fitted)",
)

#: Alveo: FINN platforms.py reserves a DDR shell of 33,256 LUT / 44,889 FF / 199 BRAM18 / 3 DSP (the XRT
#: static + dynamic region for one DDR bank); see docs/sources.md.
ALVEO_SHELL = ShellOverhead(
    lut=33_256,
    ff=44_889,
    bram18=199,
    uram=0,
    dsp=3,
    source="FINN finn/util/platforms.py DDR shell budget (docs/sources.md)",
)

SHELLS: dict[str, ShellOverhead] = {"zynq": ZYNQ_SHELL, "alveo": ALVEO_SHELL}


def shell_overhead(device: Device | str) -> ShellOverhead:
    """The platform shell/DMA overhead for a device (or a platform kind ``"zynq"``/``"alveo"``)."""
    kind = device if isinstance(device, str) else device.platform
    if kind not in SHELLS:
        raise ValueError(f"unknown platform kind {kind!r}; known: {', '.join(SHELLS)}")
    return SHELLS[kind]
