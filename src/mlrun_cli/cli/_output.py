"""Console output shared by the commands: messages on stderr, data (tables, JSON) on stdout.

rich is imported on first use only, so commands that print nothing fancy stay fast; typer only
when a command wrapped by :func:`handle_errors` fails (the fast path of ``_fast.py`` runs
without typer).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from mlrun_cli.errors import ExitCode, MlrunError, Terminated

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

P = ParamSpec("P")
R = TypeVar("R")


class State:
    """Process-wide flags set by the top-level callback."""

    debug = False
    quiet = False


def _styled(text: str, code: str) -> str:
    """ANSI style for a terminal that wants colour (https://no-color.org), else plain."""
    stream = sys.stderr
    if os.environ.get("NO_COLOR") or not (hasattr(stream, "isatty") and stream.isatty()):
        return text
    return f"\033[{code}m{text}\033[0m"


def message(text: str) -> None:
    """One line on stderr. Plain writes: importing rich costs ~50 ms a command."""
    # A closed pipe (`mlrun ... 2>&1 | head`) must not turn a finished run into a crash.
    with contextlib.suppress(BrokenPipeError, ValueError):
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def clean(text: str) -> str:
    """``text`` with control characters other than newlines escaped: a run or experiment name
    holding ESC sequences must not drive the terminal."""
    if text.isprintable():
        return text
    from mlrun_cli.cli._table import printable

    return "\n".join(printable(line) for line in text.split("\n"))


def info(text: str) -> None:
    """A progress message on stderr (hidden by --quiet)."""
    if not State.quiet:
        message(f"{_styled('mlrun:', '2')} {clean(text)}")


def note(text: str) -> None:
    """An ``info`` line fitted to the terminal's width (cut in its middle): a remark about the
    output, such as which runs were left out, never wraps."""
    from mlrun_cli.cli._table import PIPED_WIDTH, elide_middle, printable, terminal_width

    info(elide_middle(printable(text), (terminal_width() or PIPED_WIDTH) - len("mlrun: ")))


def error(text: str) -> None:
    """An error line on stderr (the same look for click's usage errors and mlrun's own)."""
    message(f"{_styled('error:', '1;31')} {clean(text)}")


def hint(text: str) -> None:
    """A hint line on stderr, after an error."""
    message(f"{_styled('hint:', '2')} {clean(text)}")


def warn(text: str) -> None:
    """A warning on stderr."""
    message(f"{_styled('warning:', '33')} {clean(text)}")


STATUS_STYLES = {"FINISHED": "32", "FAILED": "31", "RUNNING": "36", "KILLED": "33"}


def status_text(status: str) -> str:
    """A run status, coloured for terminals."""
    return _styled(status, STATUS_STYLES.get(status, "33"))


def info_status(before: str, status: str, after: str) -> None:
    """A progress line with a coloured status in it (the other parts cleaned)."""
    if not State.quiet:
        message(f"{_styled('mlrun:', '2')} {clean(before)}{status_text(status)}{clean(after)}")


def print_json(data: Any) -> None:
    """Machine-readable output on stdout."""
    import json  # (only here: tables need no JSON encoder)

    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


class CliReporter:
    """The core's Reporter protocol, on the terminal."""

    @contextlib.contextmanager
    def progress(self, title: str) -> Iterator[Callable[[str], None]]:
        """A spinner with the step and elapsed time on a terminal; plain lines otherwise."""
        started = time.monotonic()
        if not sys.stderr.isatty() or os.environ.get("CI"):
            info(f"{title}: started")

            def plain(step: str) -> None:
                info(f"{title}: {step} ({time.monotonic() - started:.1f}s)")

            yield plain
            info(f"{title}: done in {time.monotonic() - started:.1f}s")
            return
        from rich.console import Console
        from rich.markup import escape
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            # Escaped: a project or package name like "[bold]" is text, not rich markup.
            task = bar.add_task(escape(clean(title)))
            yield lambda step: bar.update(task, description=escape(clean(f"{title}: {step}")))
        info(f"{title}: done in {time.monotonic() - started:.1f}s")

    def info(self, message: str) -> None:
        """Progress."""
        info(message)

    def warn(self, message: str) -> None:
        """A warning."""
        warn(message)


def report_error(exc: MlrunError) -> int:
    """The ``error:`` line (more lines, a hint) for ``exc``; its exit code."""
    lines = str(exc).splitlines() or [type(exc).__name__]
    error(lines[0])
    for line in lines[1:]:
        message(clean(line))
    if exc.hint:
        hint(exc.hint)
    return int(exc.exit_code)


def report_interrupt(exc: KeyboardInterrupt) -> int:
    """``interrupted``; the exit code of a Ctrl-C or of a termination signal."""
    message(_styled("interrupted", "1;31"))
    return int(ExitCode.TERMINATED if isinstance(exc, Terminated) else ExitCode.INTERRUPTED)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn MlrunError into one ``error:`` line and its exit code (a traceback with --debug)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MlrunError as exc:
            if State.debug:
                raise
            from typer import Exit

            raise Exit(report_error(exc)) from None
        except KeyboardInterrupt as exc:
            from typer import Exit

            raise Exit(report_interrupt(exc)) from None

    return wrapper


def echo(text: str) -> None:
    """A line of data on stdout (``typer.echo`` without importing typer)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as local ``YYYY-MM-DD HH:MM:SS``."""
    if ms is None:
        return "-"
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):
        # A store written by an older version (or by hand) may hold any int64.
        return f"{ms} ms"


def format_number(value: float) -> str:
    """A metric value, compact."""
    return f"{value:.6g}"
