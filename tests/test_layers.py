"""The packages import only the layers below them (docs/architecture.md): every import, lazy ones included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("runfiles", "training", "hwsim", "verify", "hls", "rtl", "reports", "dybnn")
#: package -> the project packages it may import (``dybnn``, the CLI, may import everything)
ALLOWED = {
    "runfiles": set(),
    "training": {"runfiles"},
    "hwsim": {"runfiles"},
    "verify": {"runfiles", "training", "hwsim"},
    "hls": {"runfiles", "hwsim"},
    "rtl": {"runfiles", "hwsim", "hls"},
    "reports": {"runfiles", "training"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & set(PROJECT)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    bad = {
        f"{p.relative_to(ROOT)} imports {', '.join(sorted(wrong))}"
        for p in (ROOT / package).rglob("*.py")
        if (wrong := _imports(p) - ALLOWED[package] - {package})
    }
    assert not bad, sorted(bad)
