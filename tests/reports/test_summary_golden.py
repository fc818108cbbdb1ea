"""Snapshot of ``summary.md`` for a fixed synthetic run directory. ``UPDATE_GOLDEN=1`` rewrites the golden file."""

from __future__ import annotations

import os
from pathlib import Path

from reports.render import render_markdown
from reports.run import load_run
from reports.sections import build_sections
from tests.reports import synthetic as S

GOLDEN = Path(__file__).parent / "golden"


def _summary(d: Path) -> str:
    # the run directory's path appears in the text (commands for missing steps); the snapshot says DIR
    return render_markdown(build_sections(load_run(d))).replace(str(d), "DIR")


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; review, then UPDATE_GOLDEN=1"


def test_summary_snapshot(tmp_path: Path) -> None:
    _check("summary.md", _summary(S.write_run(tmp_path / "run")))


def test_summary_snapshot_partial_run(tmp_path: Path) -> None:
    """Training and export only: every later step names its command."""
    d = S.write_run(tmp_path / "run", skip=("lower", "verify", "estimate", "hls", "thresholds", "study"))
    _check("summary_partial.md", _summary(d))
