"""Console output shared by the commands: messages on stderr, data (tables, JSON) on stdout.

rich is imported on first use only, so commands that print nothing fancy stay fast.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from mlrun_cli.errors import MlrunError

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console
    from rich.table import Table

P = ParamSpec("P")
R = TypeVar("R")


class State:
    """Process-wide flags set by the top-level callback."""

    debug = False
    quiet = False


@functools.cache
def err_console() -> Console:
    """The rich console for messages (stderr)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


@functools.cache
def out_console() -> Console:
    """The rich console for data (stdout)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def info(message: str) -> None:
    """A progress message on stderr (hidden by --quiet)."""
    if not State.quiet:
        err_console().print(f"[dim]mlrun:[/dim] {_escape(message)}")


def warn(message: str) -> None:
    """A warning on stderr."""
    err_console().print(f"[yellow]warning:[/yellow] {_escape(message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


class CliReporter:
    """The core's Reporter protocol, on the terminal."""

    def info(self, message: str) -> None:
        """Progress."""
        info(message)

    def warn(self, message: str) -> None:
        """A warning."""
        warn(message)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn MlrunError into one ``error:`` line and its exit code (a traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MlrunError as exc:
            if State.debug:
                raise
            lines = str(exc).splitlines() or [type(exc).__name__]
            err_console().print(f"[bold red]error:[/bold red] {_escape(lines[0])}")
            for line in lines[1:]:
                err_console().print(_escape(line))
            if exc.hint:
                err_console().print(f"[dim]hint:[/dim] {_escape(exc.hint)}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err_console().print("[bold red]interrupted[/bold red]")
            raise typer.Exit(130) from None

    return wrapper


def print_table(table: Table) -> None:
    """Print a table on stdout; when piped, wide enough that no cell wraps."""
    console = out_console()
    if not console.is_terminal:
        width = console.measure(table).maximum
        console.width = max(console.width, width)
    console.print(table)


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as local ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return "-"
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")


def format_number(value: float) -> str:
    """A metric value, compact."""
    return f"{value:.6g}"
