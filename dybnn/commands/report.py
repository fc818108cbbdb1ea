"""``dybnn report``: rebuild ``report.html`` and ``summary.md`` from what a run directory holds."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("report", help="Rebuild report.html and summary.md from what a run directory holds.")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory for report.html and summary.md (default: RUN_DIR).",
)
def command(run_dir: Path, out: Path | None) -> None:
    from dybnn.errors import UserError
    from reports.build import SUMMARY_NAME, summarize, write_report

    if not run_dir.is_dir():
        raise UserError(
            f"{run_dir}: not a directory (expected a run directory written by `dybnn train` or `dybnn flow`)"
        )
    if out is not None and out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    report = summarize(run_dir)
    html = write_report(report, out if out is not None else run_dir)
    for section in report.sections:
        click.echo(f"{section.step:11s} {section.status:10s} {section.key_numbers}".rstrip())
    click.echo(f"wrote {html} and {html.parent / SUMMARY_NAME}")
