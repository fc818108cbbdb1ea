"""``dybnn report DIR [--out OUT]``."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from dybnn.cli import COMMANDS, cli


def test_registered() -> None:
    assert COMMANDS["report"][0] == "report"


def test_report_command(run_dir: Path, tmp_path: Path, fast_png: None) -> None:
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["report", str(run_dir), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert (out / "report.html").is_file() and (out / "summary.md").is_file()
    assert "estimate" in r.output and "wrote" in r.output
    r = CliRunner().invoke(cli, ["report", str(run_dir)])
    assert r.exit_code == 0 and (run_dir / "report.html").is_file()


def test_report_command_bad_dir(tmp_path: Path) -> None:
    from dybnn.errors import UserError

    r = CliRunner().invoke(cli, ["report", str(tmp_path / "nope")])
    assert isinstance(r.exception, UserError) and "not a directory" in str(r.exception)
