"""``dybnn models``: the model registry with parameters, BOPs, FLOPs and OPs."""

from __future__ import annotations

import json

import click


@click.command(
    "models", help="List the registered models with parameters, BOPs, FLOPs and OPs (BOPs/64 + FLOPs)."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def command(as_json: bool) -> None:
    from dybnn.progress import cli_progress
    from training.ops import models_table

    with cli_progress() as progress:
        rows = models_table(progress=progress)
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    head = f"{'model':22s} {'family':9s} {'input':>12s} {'params':>10s} {'BOPs':>10s} {'FLOPs':>10s} {'hyper FLOPs':>12s} {'OPs':>10s}"
    click.echo(head)
    click.echo("-" * len(head))
    for r in rows:
        shape = "x".join(str(v) for v in r["input_shape"])
        click.echo(
            f"{r['name']:22s} {r['family']:9s} {shape:>12s} {r['params']:>10.3g} {r['bops']:>10.3g} "
            f"{r['flops']:>10.3g} {r['hyper_flops']:>12.3g} {r['ops']:>10.3g}"
        )
