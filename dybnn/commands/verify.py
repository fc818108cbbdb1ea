"""``dybnn verify``: bit-exact comparison of PyTorch, QONNX, the numpy reference and the Numba simulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dybnn.errors import UserError


@click.command("verify", help="Check that PyTorch, QONNX, hwsim ref and numba agree exactly (exit 1 if not).")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--samples", "-n", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of synthetic standard-normal inputs.")  # fmt: skip
@click.option("--levels", default="torch,qonnx,ref,numba", show_default=True,
              help="Comma-separated subset of torch,qonnx,ref,numba.")  # fmt: skip
@click.option("--qonnx-samples", type=click.IntRange(min=1), default=20, show_default=True,
              help="QONNX (slow) runs on the first N inputs only.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
def command(path: Path, samples: int, levels: str, qonnx_samples: int, seed: int, as_json: bool) -> None:
    from hwsim.graph import GraphError
    from hwsim.lower import LoweringError
    from hwsim.verify import VerifyError, verify

    lv = tuple(s.strip() for s in levels.split(",") if s.strip())
    try:
        report = verify(path, samples=samples, levels=lv, qonnx_samples=qonnx_samples, seed=seed)
    except (VerifyError, LoweringError, GraphError) as e:
        raise UserError(str(e)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        click.echo(report.table())
    if not report.ok:
        sys.exit(1)
