"""Running ``dybnn`` in process the way the console script does, for the CLI tests of every package."""

from __future__ import annotations

import sys

import pytest


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str
) -> tuple[int, str, str]:
    """Run ``dybnn ARGS`` through :func:`dybnn.cli.main`; returns (exit status, stdout, stderr)."""
    from dybnn.cli import main

    monkeypatch.setattr(sys, "argv", ["dybnn", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err
