"""``dybnn rtl``: write the SystemVerilog design of a model and (with ``--sim``) simulate it with Verilator,
exactly against hwsim, with cycles per frame, latency and FIFO occupancy beside the timing model. The timed run's
measurements are written to ``PRJ/rtl_sim.json`` and, when MODEL is a run directory, to ``RUN_DIR/rtl_sim.json``
(``runfiles.records.RtlSimRecord``), which the run report shows."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dybnn.commands.common import graph_provenance
from dybnn.commands.hls import _inputs, design_inputs
from dybnn.errors import UserError


@click.command("rtl", help="Generate the RTL (SystemVerilog) design (and simulate it with Verilator).")
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--part", required=True, help="FPGA part, family or board alias (pynq-z1, ultra96, zcu104, ...)."
)
@click.option("--clock-ns", type=float, required=True, help="Target clock period in ns.")
@click.option("--folding", "folding_opt", default="auto", show_default=True,
              help="'auto' (folding search for the part) or a folding JSON file (hls/folding.py format).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Project directory to write.")
@click.option("--sim", is_flag=True, help="Build the Verilator model and compare it with hwsim exactly; write the "
              "measurements to PRJ/rtl_sim.json (and RUN_DIR/rtl_sim.json when MODEL is a run directory).")  # fmt: skip
@click.option("--samples", type=int, default=4, show_default=True, help="Input frames for --sim.")
@click.option(
    "--dataset", default=None, help="Use this dataset's test images for --sim instead of N(0, 1) inputs."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the inputs and of the gaps.")
@click.option(
    "--stress/--no-stress",
    default=True,
    show_default=True,
    help="With --sim, also run with random input gaps and output back-pressure (exact, no deadlock).",
)
@click.option(
    "--timeout", type=float, default=1800, show_default=True, help="Seconds allowed for build + run."
)
def command(
    model: Path,
    part: str,
    clock_ns: float,
    folding_opt: str,
    out: Path,
    sim: bool,
    samples: int,
    dataset: str | None,
    seed: int,
    stress: bool,
    timeout: float,
) -> None:
    from hls.emit import EmitError
    from hls.folding import FoldingError
    from rtl.modules import RtlError
    from rtl.project import write_rtl_project
    from runfiles.outputs import OutputError

    g, device, folding = design_inputs(model, part, clock_ns, folding_opt, samples, levels=False)
    try:
        prj = write_rtl_project(g, out, device.part, clock_ns, folding, made_from=graph_provenance(model))
    except (FoldingError, EmitError, RtlError, OutputError) as e:
        raise UserError(str(e)) from None
    click.echo(f"wrote {prj} ({len(g.nodes)} nodes, part {device.part}, {clock_ns:g} ns)")
    if not sim:
        return
    from hls.estimate import estimate
    from hwsim.partition import accelerator_part
    from rtl.sim import SimError, run_sim

    x, what = _inputs(g, samples, dataset, seed)
    click.echo(f"Verilator simulation of {len(x)} {what} frame(s) ...")
    try:
        res = run_sim(prj, g, x, timeout=timeout)
        stressed = (
            run_sim(prj, g, x, gaps=0.3, backpressure=0.3, seed=seed, timeout=timeout, build_s=0.0)
            if stress
            else None
        )
    except SimError as e:
        raise UserError(str(e)) from None
    est = estimate(accelerator_part(g), folding, clock_ns, device)
    click.echo(res.summary())
    click.echo(f"estimator: latency {est.latency_cycles} cycles, {est.max_cycles} cycles per frame")
    if stressed is not None:
        click.echo(stressed.summary().splitlines()[0] + " (random gaps and back-pressure)")
    from runfiles.layout import RTL_SIM_JSON
    from runfiles.outputs import atomic_write_json

    rec = res.record(g.name, device.part, clock_ns, None if stressed is None else stressed.ok,
                     graph_provenance(model))  # fmt: skip
    dests = [prj / RTL_SIM_JSON] + ([model / RTL_SIM_JSON] if model.is_dir() else [])
    for d in dests:  # the project's, and the run directory's (the run report shows it)
        atomic_write_json(d, rec.to_json())
    click.echo(f"wrote {', '.join(str(d) for d in dests)}")
    if not res.ok or (stressed is not None and not stressed.ok):
        sys.exit(1)
