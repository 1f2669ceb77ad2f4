"""``mlrun``: the top-level typer app and the console-script entry point."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Annotated

import typer

from mlrun_cli import __version__
from mlrun_cli.cli import env, experiments, runs
from mlrun_cli.cli._output import State
from mlrun_cli.cli.reproduce import reproduce_command
from mlrun_cli.cli.run import run_command

app = typer.Typer(
    name="mlrun",
    help="Reproducible ML project runner: MLflow Projects, locked environments, pinned data, "
    "and a searchable run store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help imports markdown and pygments (~130 ms per call).
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command("run", no_args_is_help=True)(run_command)
app.command("reproduce", no_args_is_help=True)(reproduce_command)
app.add_typer(experiments.app, name="experiments")
app.add_typer(runs.app, name="runs")
app.add_typer(env.app, name="env")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlrun {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")
    ] = False,
    _version_flag: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    State.debug = debug


def _refuse_undecodable_argv() -> None:
    """mlrun records text: an argument that is not valid UTF-8 (Python hands its bytes over as
    lone surrogates) is refused here, once for every flag, before anything runs."""
    for index, arg in enumerate(sys.argv[1:], 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(arg)
            sys.stderr.write(
                f"error: argument {index} ({shown!r}) is not valid UTF-8; mlrun records "
                "text only: rename the file or pass the value as UTF-8\n"
            )
            raise SystemExit(2) from None


def main() -> None:
    """Console-script entry point."""
    try:
        _refuse_undecodable_argv()
        app(prog_name="mlrun")
    finally:
        _settle_streams()


def _settle_streams() -> None:
    """Flush now; if the reader went away (`| head`), drop the rest instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
