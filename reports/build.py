"""Assemble ``report.html`` and ``summary.md`` from what a run directory holds."""

from __future__ import annotations

import os
from pathlib import Path

from reports.render import render_html, render_markdown
from reports.run import load_run
from reports.sections import Report, build_sections
from runfiles.outputs import atomic_write_text

HTML_NAME = "report.html"
SUMMARY_NAME = "summary.md"


def summarize(run_dir: str | os.PathLike) -> Report:
    """The report of ``run_dir`` as sections (no figure is drawn)."""
    return build_sections(load_run(run_dir))


def build_report(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None) -> Path:
    """Write ``report.html`` (self-contained) and ``summary.md`` for ``run_dir`` into ``out_dir`` (default
    ``run_dir``); returns the path of ``report.html``.

    Every file of the run directory is optional: a missing step's section names the command that produces it.

    Raises:
        NotADirectoryError: ``run_dir`` is not a directory.
    """
    return write_report(summarize(run_dir), out_dir if out_dir is not None else run_dir)


def write_report(report: Report, out_dir: str | os.PathLike) -> Path:
    """Render ``report`` (drawing its figures) and write ``summary.md`` and ``report.html`` into ``out_dir``;
    returns the path of ``report.html``."""
    out = Path(out_dir)
    md = render_markdown(report)
    page = render_html(report)
    atomic_write_text(out / SUMMARY_NAME, md)
    html_path = out / HTML_NAME
    atomic_write_text(html_path, page)
    return html_path
