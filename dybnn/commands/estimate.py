"""``dybnn estimate``: LUT/FF/BRAM/URAM/DSP and cycles per layer, totals, fit on a part; picks the folding."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import click

from dybnn.commands.common import filled_note, graph_provenance, load_folding, load_graph
from dybnn.errors import UserError
from dybnn.progress import cli_progress
from runfiles.outputs import atomic_write_json, atomic_write_text


@click.command("estimate", help="Estimate LUT/FF/BRAM/URAM/DSP and cycles per layer; pick the folding.")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--part", default="pynq-z1", show_default=True, help="FPGA part, family or board alias.")
@click.option("--clock-ns", type=float, default=10.0, show_default=True, help="Clock period in ns.")
@click.option(
    "--folding",
    "folding_opt",
    default="auto",
    show_default=True,
    help="'auto' (folding search) or a folding JSON file (hls/folding.py format); nodes the file does not name "
    "get the smallest folding that keeps up with the named ones (listed on stderr).",
)
@click.option(
    "--target-fps",
    type=float,
    default=None,
    help="Folding search: reach this frame rate; if no folding does, the fastest is shown and the exit status "
    "is 1.",
)
@click.option(
    "--fit",
    "fit_part",
    default=None,
    help="Folding search: the fastest folding whose system estimate fits this part (default with --folding "
    "auto and no --target-fps: --part).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the JSON document instead of the table.")
@click.option("--csv", "as_csv", is_flag=True, help="Print per-layer CSV rows instead of the table.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Write the output to this file.")
@click.option(
    "--write-folding", type=click.Path(path_type=Path), default=None, help="Write the folding JSON here."
)
@click.option(
    "--finn/--no-finn", default=True, show_default=True, help="Show FINN's analytical estimate beside ours."
)
@click.option(
    "--backend",
    type=click.Choice(["hls", "rtl"]),
    default="hls",
    show_default=True,
    help="What to estimate: the HLS design (dybnn hls) or the RTL design (dybnn rtl, the rtl/lib modules as "
    "Yosys maps them; docs/estimation.md). The folding search uses the HLS model either way.",
)
@click.option(
    "--params",
    type=click.Choice(["rom", "ram"]),
    default="rom",
    show_default=True,
    help="Weights compiled in (rom) or loaded at run time (ram, BNN-PYNQ style).",
)
def command(
    model: Path,
    part: str,
    clock_ns: float,
    folding_opt: str,
    target_fps: float | None,
    fit_part: str | None,
    as_json: bool,
    as_csv: bool,
    out: Path | None,
    write_folding: Path | None,
    finn: bool,
    params: str,
    backend: str,
) -> None:
    from hls.devices import UnknownPartError, resolve_part
    from hls.estimate import EstimateConfig, FitError, GraphModel, finn_reference_estimate, folding_search
    from hls.estimate.pipeline import config_for
    from hls.estimate.report import format_table, static_vs_dynamic, to_csv, to_document
    from hls.estimate.static import has_dynamic
    from hls.folding import FoldingError, to_json

    if as_json and as_csv:
        raise UserError("choose one of --json and --csv")
    if not (math.isfinite(clock_ns) and clock_ns > 0):
        raise UserError(f"--clock-ns must be a positive number of ns, got {clock_ns}")
    if target_fps is not None and not (math.isfinite(target_fps) and target_fps > 0):
        raise UserError(f"--target-fps must be a positive number, got {target_fps}")
    for opt, path in (("--out", out), ("--write-folding", write_folding)):
        if path is not None and path.is_dir():
            raise UserError(f"{opt} {path}: is a directory, expected a file name")
    try:
        device = resolve_part(part)
        fit_dev = resolve_part(fit_part) if fit_part else None
    except UnknownPartError as e:
        raise UserError(str(e)) from None
    g = load_graph(model)
    progress = cli_progress()
    t0 = time.perf_counter()
    cfg = config_for(device, EstimateConfig(params=params))
    m = GraphModel(g, cfg)
    try:
        if folding_opt == "auto":
            if target_fps is None and fit_dev is None:
                fit_dev = device
            folding = folding_search(
                g,
                clock_ns,
                target_fps=target_fps,
                fit=fit_dev,
                cfg=cfg,
                model=m if fit_dev in (None, device) else None,
                progress=progress,
                levels=backend != "rtl",  # the RTL has no level storage (buffer_storage: levels)
            )
        else:
            if target_fps is not None or fit_part:
                raise UserError(
                    "--target-fps/--fit pick the folding; they cannot be combined with a folding file"
                )
            folding, filled = load_folding(g, folding_opt, cfg)
            if filled:
                click.echo(filled_note(filled), err=True)
    except (FoldingError, FitError) as e:
        raise UserError(str(e)) from None
    progress.close()
    if backend == "rtl":
        from rtl.estimate import estimate_rtl
        from rtl.modules import RtlError

        if params != "rom":
            raise UserError("--backend rtl: the RTL design compiles its parameters in (--params rom only)")
        try:
            est = estimate_rtl(g, folding, clock_ns, device, cfg)
        except RtlError as e:
            raise UserError(f"--backend rtl: {e}") from None
    else:
        est = m.estimate(folding, clock_ns, device)
    fin = finn_reference_estimate(g, folding) if finn else None
    elapsed = time.perf_counter() - t0
    missed = target_fps is not None and est.fps < target_fps
    if write_folding is not None:
        atomic_write_json(write_folding, to_json(folding))
    if as_json:
        rec = dataclasses.replace(
            to_document(est, folding, g, fin, cfg),
            estimate_seconds=elapsed,
            made_from=graph_provenance(model),
            target_fps=target_fps,
            target_met=None if target_fps is None else not missed,
            backend=backend,
        )
        text = json.dumps(rec.to_json(), indent=1)
    elif as_csv:
        text = to_csv(est)
    else:
        comp = None
        if has_dynamic(g):
            static_est = None
            if backend == "rtl":
                from dataclasses import replace as _replace

                from hls.estimate import static_equivalent
                from rtl.estimate import estimate_rtl

                sg = static_equivalent(g)
                keep = {n.name for n in sg.nodes}  # hyper_context: stem: the HyperContext node goes
                static_fold = {
                    k: _replace(f, buffers=1, storage="values") for k, f in folding.items() if k in keep
                }
                static_est = estimate_rtl(sg, static_fold, clock_ns, device, cfg)
            comp = static_vs_dynamic(
                g, folding, clock_ns, device, cfg, dynamic_est=est, static_est=static_est
            )
        text = format_table(est, fin, comp)
        if backend == "rtl":
            text += (
                "\nbackend rtl: the RTL modules (rtl/lib) as Yosys synth_xilinx maps them (dybnn synth checks "
                "it); FINN's column is its HLS formula"
            )
    if out is not None:
        atomic_write_text(out, text + ("\n" if not text.endswith("\n") else ""))
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text)
    if missed:
        click.echo(
            f"target not reached: {target_fps:g} frames/s asked, the fastest folding gives {est.fps:,.1f} "
            f"frames/s (bottleneck {est.bottleneck})",
            err=True,
        )
        sys.exit(1)
