"""``dybnn hls``: write the HLS C++ project of a model and (with ``--csim``) C-simulate it bit-exactly with g++."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import click

from dybnn.commands.common import filled_note, graph_provenance, load_folding
from dybnn.commands.common import load_graph as _load_graph
from dybnn.errors import UserError
from dybnn.progress import cli_progress, progress_kwargs


def _folding(g, spec: str, part: str, clock_ns: float, levels: bool = True):
    from hls.folding import Fold

    if spec != "auto":
        folding, filled = load_folding(g, spec)
        return folding, f"folding from {spec}" + (f"\n{filled_note(filled)}" if filled else "")
    from hls.estimate import folding_search

    try:
        return folding_search(
            g, clock_ns, fit=part, levels=levels
        ), f"folding: the fastest that fits {part} (folding search)"
    except ValueError as e:  # FitError: not even PE = SIMD = 1 fits; generate it anyway
        return {n.name: Fold() for n in g.nodes}, f"folding: PE = SIMD = 1 everywhere ({e})"


def design_inputs(
    model: Path, part: str, clock_ns: float, folding_opt: str, samples: int, *, levels: bool = True
):
    """The checked arguments a design backend (``dybnn hls``, ``dybnn rtl``) starts from: the hardware graph, the
    device and the folding (printed how it was chosen). ``levels=False``: the folding search keeps every frame
    buffer at values (``dybnn rtl`` has no level storage)."""
    from hls.devices import resolve_part

    if not (math.isfinite(clock_ns) and clock_ns > 0):
        raise UserError(f"--clock-ns must be a positive number of ns, got {clock_ns}")
    if samples < 1:
        raise UserError(f"--samples must be at least 1, got {samples}")
    try:
        device = resolve_part(part)
    except ValueError as e:  # UnknownPartError lists the known parts and aliases
        raise UserError(str(e)) from None
    g = _load_graph(model)
    folding, how = _folding(g, folding_opt, part, clock_ns, levels)
    click.echo(how)
    return g, device, folding


def _inputs(g, samples: int, dataset: str | None, seed: int):
    import numpy as np

    shape = g.spec(g.inputs[0]).shape
    if dataset is None:
        return np.random.default_rng(seed).standard_normal((samples, *shape)).astype(
            np.float32
        ), "synthetic N(0, 1)"
    from training.data import get_dataset

    h, w = (shape[0], shape[1]) if len(shape) == 3 else (None, None)
    try:
        ds = get_dataset(dataset, input_size=(h, w) if h else None, max_test_samples=samples)
    except (ValueError, RuntimeError, OSError) as e:  # unknown or unavailable dataset
        raise UserError(f"--dataset {dataset}: {e}") from None
    x = ds.test.tensors[0][:samples].numpy().astype(np.float32)
    return x, f"{dataset} test images"


@click.command("hls", help="Generate an HLS C++ project (and C-simulate it with g++).")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--part", required=True, help="FPGA part, family or board alias (pynq-z1, ultra96, zcu104, ...)."
)
@click.option("--clock-ns", type=float, required=True, help="Target clock period in ns.")
@click.option("--folding", "folding_opt", default="auto", show_default=True,
              help="'auto' (folding search for the part) or a folding JSON file (hls/folding.py format).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Project directory to write.")
@click.option(
    "--csim", is_flag=True, help="Build the C simulation with g++ and compare it with hwsim exactly."
)
@click.option("--samples", type=int, default=8, show_default=True, help="Input frames for --csim.")
@click.option(
    "--dataset", default=None, help="Use this dataset's test images for --csim instead of N(0, 1) inputs."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the synthetic inputs.")
@click.option(
    "--timeout", type=float, default=1800, show_default=True, help="Seconds allowed for build + run."
)
def command(
    model: Path,
    part: str,
    clock_ns: float,
    folding_opt: str,
    out: Path,
    csim: bool,
    samples: int,
    dataset: str | None,
    seed: int,
    timeout: float,
) -> None:
    from hls.emit import EmitError
    from hls.folding import FoldingError
    from hls.project import ProjectError, write_project

    g, device, folding = design_inputs(model, part, clock_ns, folding_opt, samples)
    device_part = device.part
    try:
        prj = write_project(g, out, device_part, clock_ns, folding, made_from=graph_provenance(model))
    except (FoldingError, ProjectError, EmitError) as e:
        raise UserError(str(e)) from None
    click.echo(f"wrote {prj} ({len(g.nodes)} nodes, part {device_part}, {clock_ns:g} ns)")
    if not csim:
        return
    from hls.csim import CsimError, run_csim

    x, what = _inputs(g, samples, dataset, seed)
    click.echo(f"C simulation with g++ on {len(x)} {what} frame(s) ...")
    with cli_progress() as progress:
        try:
            res = run_csim(prj, g, x, timeout=timeout, **progress_kwargs(run_csim, progress))
        except CsimError as e:
            raise UserError(str(e)) from None
    click.echo(res.summary())
    if not res.ok:
        sys.exit(1)
