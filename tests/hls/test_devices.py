"""Device table: every part, alias and full part name resolves; unknown names list what is known."""

from __future__ import annotations

import pytest

from hls.devices import DEVICES, SHELLS, UnknownPartError, known_names, resolve_part, shell_overhead

FULL_PARTS = {
    "xc7z020clg400-1": "xc7z020",
    "xczu3eg-sbva484-1-e": "xczu3eg",
    "xczu7ev-ffvc1156-2-e": "xczu7ev",
    "xck26-sfvc784-2LV-c": "xck26",
    "xczu9eg-ffvb1156-2-e": "xczu9eg",
    "xcu50-fsvh2104-2-e": "xcu50",
    "xcu250-figd2104-2L-e": "xcu250",
    "xcu280-fsvh2892-2L-e": "xcu280",
}
ALIASES = {
    "pynq-z1": "xc7z020",
    "pynq-z2": "xc7z020",
    "ultra96": "xczu3eg",
    "zcu104": "xczu7ev",
    "kv260": "xck26",
    "zcu102": "xczu9eg",
    "u50": "xcu50",
    "u250": "xcu250",
    "u280": "xcu280",
}


@pytest.mark.parametrize("name,family", [*FULL_PARTS.items(), *ALIASES.items(), *((f, f) for f in DEVICES)])
def test_resolves(name: str, family: str) -> None:
    assert resolve_part(name).family == family
    assert resolve_part(name.upper()).family == family


def test_other_package_of_known_family_keeps_the_given_part() -> None:
    d = resolve_part("xczu3eg-sfvc784-2-e")
    assert d.family == "xczu3eg" and d.part == "xczu3eg-sfvc784-2-e"


def test_unknown_part_lists_parts_and_aliases() -> None:
    with pytest.raises(UnknownPartError) as e:
        resolve_part("zcu999")
    assert isinstance(e.value, ValueError)
    msg = str(e.value)
    for name in [*ALIASES, *FULL_PARTS]:
        assert name in msg
    assert set(ALIASES) <= set(known_names())


@pytest.mark.parametrize("family", list(DEVICES))
def test_resources_are_sane(family: str) -> None:
    d = DEVICES[family]
    assert d.lut > 0 and d.ff == 2 * d.lut  # every CLB slice pairs 2 FFs per LUT (UG474/UG574)
    assert d.bram18 > 0 and d.bram18 % 2 == 0  # RAMB36 = 2 x RAMB18
    assert d.dsp > 0 and d.uram >= 0
    assert d.platform in SHELLS
    assert d.source
    # only the Pynq part is confirmed by reports in this project; the others say they are unverified
    assert d.verified == (family == "xc7z020")


def test_pynq_z1_matches_bnn_pynq_reports() -> None:
    d = resolve_part("pynq-z1")
    assert (d.lut, d.ff, d.bram18, d.uram, d.dsp) == (53_200, 106_400, 280, 0, 220)


@pytest.mark.parametrize("kind", ["zynq", "alveo"])
def test_shell_overhead(kind: str) -> None:
    s = shell_overhead(kind)
    assert s.lut > 0 and s.ff > 0 and s.source
    assert shell_overhead(next(d for d in DEVICES.values() if d.platform == kind)) == s
    with pytest.raises(ValueError):
        shell_overhead("versal")
