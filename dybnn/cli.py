"""The ``dybnn`` command: one verb per pipeline step, each in ``dybnn/commands/<verb>.py``.

Verbs are imported lazily so that ``dybnn --help`` and light verbs do not import torch.
"""

from __future__ import annotations

import importlib
import sys

import click

#: verb -> (module under dybnn.commands, one-line help). Each module defines a click command named ``command``.
COMMANDS: dict[str, tuple[str, str]] = {
    "models": ("models", "List the registered models with parameters, BOPs, FLOPs and OPs."),
    "train": ("train", "Train a model (two-step ReActNet recipe + integer fine-tune) and write checkpoints."),
    "export": ("export", "Export a checkpoint (or a random-init model) to QONNX."),
    "lower": ("lower", "Lower a QONNX model to the hardware graph (graph.json + params.npz)."),
    "verify": ("verify", "Check that PyTorch, QONNX, hwsim ref and numba agree exactly (exit 1 if not)."),
    "sim": ("sim", "Simulate the hardware graph on a dataset's test split: accuracy and images/s."),
    "estimate": ("estimate", "Estimate LUT/FF/BRAM/URAM/DSP and cycles per layer; pick the folding."),
    "hls": ("hls", "Generate an HLS C++ project (and C-simulate it with g++)."),
    "rtl": ("rtl", "Generate the RTL (SystemVerilog) design (and simulate it with Verilator)."),
    "synth": ("synth", "Synthesize the RTL design with Yosys per instance; resources beside the estimate."),
    "flow": ("flow", "Run every step, train to report, skipping the ones that are up to date."),
    "study": ("study", "Static vs dynamic thresholds: accuracy over seeds and hardware cost."),
    "report": ("report", "Rebuild report.html and summary.md from what a run directory holds."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        mod = importlib.import_module(f"dybnn.commands.{COMMANDS[name][0]}")
        return mod.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dybnn")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (bars or periodic lines).")
@click.option("--debug", is_flag=True, help="Show the traceback of an error instead of one line.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, debug: bool) -> None:
    """dybnn: train Dynamic Binary Neural Networks, prove the hardware model bit-exact, generate HLS, estimate.

    Typical flow: train -> export -> lower -> verify -> estimate -> hls -> report, or all at once with `flow`.
    Bad input (a missing or unwritable file, an unknown name, an invalid value) prints one line naming the file,
    node or field and exits with status 2; --debug shows the traceback.
    """
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    ctx.obj["debug"] = debug


def _sigterm(signum: int, frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so that temporary files are removed and completed outputs stay complete
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors print one line and exit 2; bugs keep their traceback."""
    import signal
    import warnings

    # Brevitas warns on import that an optional package (fast_hadamard_transform) is missing; dybnn never uses
    # what it accelerates, so the warning only says something wrong to a user.
    warnings.filterwarnings(
        "ignore", message=r"fast_hadamard_transform package not found", category=UserWarning
    )
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args[: args.index("--") if "--" in args else len(args)]
    try:
        previous, installed = signal.signal(signal.SIGTERM, _sigterm), True
    except ValueError:  # not the main thread
        previous, installed = None, False
    try:
        _run(args, debug)
    finally:
        if installed:  # leave the process as it was (main() also runs inside tests)
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def _run(args: list[str], debug: bool) -> None:
    from dybnn.errors import is_user_error, one_line

    try:
        cli.main(args=args, prog_name="dybnn", standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted (completed outputs are kept; rerun to continue)", err=True)
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        # one line, as for every other bad input (the usage is one `--help` away)
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        click.echo(f"error: {' '.join(e.format_message().split())}{hint}", err=True)
        sys.exit(e.exit_code)
    except Exception as e:  # noqa: BLE001 - sorted into bad input (one line) and bugs (traceback)
        if debug or not is_user_error(e):
            raise
        click.echo(f"error: {one_line(e)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
