from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports import synthetic


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A complete synthetic run directory named ``run``."""
    return synthetic.write_run(tmp_path / "run")


@pytest.fixture
def fast_png(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the PNG encoding of figures (they are still drawn) where a test looks only at the text."""
    import reports.render

    monkeypatch.setattr(reports.render, "figure_png", lambda fig, dpi=0: b"\x89PNG\r\n\x1a\n")
