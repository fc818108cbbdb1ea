"""``dybnn verify``: bit-exact comparison of PyTorch, QONNX, the numpy reference and the Numba simulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from dybnn.commands.common import graph_for_onnx
from dybnn.errors import UserError
from dybnn.progress import cli_progress, progress_kwargs
from runfiles import layout as L


@click.command(
    "verify",
    help="Check that PyTorch, QONNX, hwsim ref and numba agree exactly (exit 1 if not). Every level named in "
    "--levels must run (a missing or unreadable checkpoint for torch is an error, exit 2); with "
    "the default levels, torch is skipped only when there is no checkpoint.pt. "
    "The hardware graph is hw/ only when it was lowered from this model.onnx (recorded hash), else a fresh "
    "lowering.",
)
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--samples", "-n", type=click.IntRange(min=1), default=100, show_default=True,
              help="Number of synthetic standard-normal inputs.")  # fmt: skip
@click.option("--levels", default=None,
              help="Comma-separated subset of torch,qonnx,ref,numba, at least two (default: all that can run).")  # fmt: skip
@click.option("--qonnx-samples", type=click.IntRange(min=1), default=20, show_default=True,
              help="QONNX (slow) runs on the first N inputs only.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
def command(
    path: Path, samples: int, levels: str | None, qonnx_samples: int, seed: int, as_json: bool
) -> None:
    from hwsim.graph import GraphError
    from hwsim.lower import LoweringError
    from verify.levels import LEVELS, VerifyError, verify

    explicit = levels is not None
    lv = tuple(s.strip() for s in (levels or ",".join(LEVELS)).split(",") if s.strip())
    bad = [v for v in lv if v not in LEVELS]
    if bad:
        raise UserError(
            f"--levels: unknown level(s) {', '.join(bad)}; expected a subset of {', '.join(LEVELS)}"
        )
    if len(set(lv)) < 2:
        raise UserError(
            f"--levels {levels}: verification compares levels with each other; name at least two of "
            f"{', '.join(LEVELS)}"
        )
    if path.is_dir():
        onnx_path = path / L.MODEL_ONNX
        ckpt = path / L.CHECKPOINT
    else:
        onnx_path, ckpt = path, None
    if not onnx_path.is_file():
        raise UserError(f"{onnx_path}: no such ONNX file (write it with `dybnn export`)")
    g, source = graph_for_onnx(onnx_path)
    with cli_progress() as progress:
        try:
            report = verify(path, samples=samples, levels=lv, qonnx_samples=qonnx_samples, seed=seed, graph=g,
                            **progress_kwargs(verify, progress))  # fmt: skip
        except (VerifyError, LoweringError, GraphError) as e:
            raise UserError(str(e)) from None
    report.notes.insert(0, f"hardware graph: {source}")
    ran = set(report.samples)
    for level in lv:
        if level in ran:
            continue
        note = next(
            (n for n in report.notes if n.startswith(f"{level} level skipped")), f"{level} did not run"
        )
        must = explicit or (level == "torch" and ckpt is not None and ckpt.exists())
        if must:
            raise UserError(f"the {level} level cannot run: {note.split(': ', 1)[-1]}")
    if len(ran) < 2:
        raise UserError(f"only {', '.join(sorted(ran)) or 'no level'} could run; nothing was compared")
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=1))
    else:
        click.echo(report.table())
    if not report.ok:
        sys.exit(1)
