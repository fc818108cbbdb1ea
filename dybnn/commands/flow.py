"""``dybnn flow``: every step from training to the report, each skipped when its outputs are up to date."""

from __future__ import annotations

from pathlib import Path

import click

from runfiles import layout as L


@click.command(
    "flow",
    help="Run train -> export -> lower -> verify -> estimate (automatic folding) -> HLS project + C-simulation "
    "-> report in DIR. A step is skipped when its outputs are the ones it recorded and its inputs and settings "
    "have not changed since (content hashes, not mtimes); an interrupted training is resumed. Without --config, "
    "an existing DIR/flow.json is reused, else the defaults: dybnn-tiny on mnist5k for xc7z020clg400-1 at "
    "100 MHz. The whole configuration is checked before the first step.",
)
@click.option(
    "--config", "config", type=click.Path(path_type=Path), default=None, help="flow.yaml (see docs/flow.md)."
)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Run directory.")
@click.option("--only", default=None, help="Comma-separated steps to run (others are left as they are).")
@click.option("--force", is_flag=True, help="Run the steps even when their outputs are up to date.")
def command(config: Path | None, out: Path, only: str | None, force: bool) -> None:
    from dybnn.errors import UserError
    from dybnn.flow import Flow, load_flow_config, summary_table
    from dybnn.progress import cli_progress

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    stored = out / L.FLOW_JSON
    if config is None and stored.is_file():
        config = stored
        click.echo(f"using the configuration of the run: {stored}")
    cfg = load_flow_config(config)
    progress = cli_progress()
    flow = Flow(cfg, out, echo=click.echo, progress=progress)
    names = [s.name for s in flow.steps()]
    steps = [s.strip() for s in only.split(",") if s.strip()] if only else None
    if steps:
        bad = [s for s in steps if s not in names]
        if bad:
            raise UserError(f"--only: unknown step(s) {', '.join(bad)}; steps: {', '.join(names)}")
    try:
        rows = flow.run(steps, force=force)
    finally:
        progress.close()
    click.echo("")
    click.echo(summary_table(rows))
    click.echo(f"\nreport: {flow.report.resolve()}")
