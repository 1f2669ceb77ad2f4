"""The typer app behind ``mlrun``: its root group (commands from ``app.COMMANDS``, built on
use) and the top-level options. Imported only when the fast path (``_fast.py``) cannot serve."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mlrun_cli import __version__
from mlrun_cli.cli._lazy import LazyCommands, LazyGroup, load
from mlrun_cli.cli._output import State
from mlrun_cli.cli.app import COMMANDS


class RootGroup(LazyGroup):
    """The ``mlrun`` group: its commands come from :data:`COMMANDS`, loaded on use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(
            {name: _loader(name, module, attr) for name, (module, attr, _) in COMMANDS.items()}
        )
        self.summaries = {name: text for name, (_, _, text) in COMMANDS.items()}


def _loader(name: str, module: str, attribute: str) -> Any:
    return lambda: load(module, attribute, name)


app = typer.Typer(
    name="mlrun",
    cls=RootGroup,
    help="Reproducible ML project runner: MLflow Projects, locked environments, pinned data, "
    "and a searchable run store.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: typer's rich help imports markdown and pygments (~130 ms per call).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
