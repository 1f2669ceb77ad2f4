"""``mlrun``: the console-script entry point and the table of commands.

Command groups are listed here by name and summary and imported only when invoked (see
``_lazy.py``): ``mlrun --help`` builds no subcommand, ``mlrun runs search`` builds one. Before
any of that, ``_fast.py`` serves help it rendered before and the hot read commands without
importing typer at all; anything it does not recognise goes to the typer app (``_root.py``,
``app.app`` here).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typer import _click

# name -> (module, attribute, one-line summary): a typer app becomes a group, a CommandInfo
# a command.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("mlrun_cli.cli.run", "RUN", "Run a project entry point and record it as a run."),
    "sweep": (
        "mlrun_cli.cli.sweep",
        "SWEEP",
        "Run an entry point over a grid, random points or Optuna.",
    ),
    "reproduce": (
        "mlrun_cli.cli.reproduce",
        "REPRODUCE",
        "Rebuild a run from its record (code, env, data) and rerun it.",
    ),
    "experiments": ("mlrun_cli.cli.experiments", "app", "Create, search and manage experiments."),
    "runs": ("mlrun_cli.cli.runs", "app", "Search, compare, plot and inspect recorded runs."),
    "env": ("mlrun_cli.cli.env", "app", "Manage the cache of isolated Python environments."),
    "ui": ("mlrun_cli.cli.ui", "UI", "Serve the web UI to browse and compare runs (read-only)."),
    "sync": ("mlrun_cli.cli.sync", "SYNC", "Upload what this machine's runs left pending."),
    "server": ("mlrun_cli.cli.server", "COMMAND", "Run the team tracking server (extra [server])."),
}


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


def __getattr__(name: str) -> Any:
    """``app``: the typer app, built on first use (the fast path never builds it)."""
    if name == "app":
        from mlrun_cli.cli._root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point: the fast path if it can serve, else the typer app, whose
    usage errors print as mlrun's own (``error: ...``)."""
    try:
        _refuse_undecodable_argv()
        from mlrun_cli.cli._fast import serve

        fast = serve(sys.argv[1:], typer_main)
    finally:
        _settle_streams()
    sys.exit(fast)


def typer_main(args: list[str]) -> int:
    """The typer app on ``args``; its exit code."""
    from typer import _click
    from typer.exceptions import Abort
    from typer.main import get_command

    from mlrun_cli.cli._root import app

    code: Any = 0
    try:
        code = get_command(app).main(args=args, prog_name="mlrun", standalone_mode=False)
    except _click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        code = 0
    except _click.exceptions.UsageError as exc:
        code = _usage_error(exc, args)
    except _click.exceptions.ClickException as exc:
        from mlrun_cli.cli._output import error

        error(exc.format_message())
        code = exc.exit_code
    except Abort:
        from mlrun_cli.cli._output import error

        error("aborted")
        code = 1
    return code if isinstance(code, int) else 0


def _usage_error(exc: _click.exceptions.UsageError, args: list[str]) -> int:
    """``error: <what>``, the usage line and where to read more; exit code 2. An option missing
    its value also says what the value looks like (``-P NAME=VALUE``)."""
    from mlrun_cli.cli._output import error, hint, message

    error(exc.format_message())
    ctx = exc.ctx or _context_for(args)
    if ctx is not None:
        message(ctx.get_usage())
        option = getattr(exc, "option_name", None)
        shape = next((p.metavar for p in ctx.command.params if option in p.opts), None)
        if option and shape and "requires" in exc.format_message():
            hint(f"{option} {shape} (see {ctx.command_path} --help)")
        else:
            hint(f"{ctx.command_path} --help")
    return 2


def _context_for(args: list[str]) -> _click.Context | None:
    """The context of the (sub)command ``args`` name, for errors click raised without one."""
    from typer import _click
    from typer.main import get_command

    from mlrun_cli.cli._root import app

    command = get_command(app)
    ctx = _click.Context(command, info_name="mlrun")
    for word in args:
        commands = getattr(command, "commands", None)
        if word.startswith("-") and ctx.parent is None:
            continue  # mlrun's own options (--debug)
        if not isinstance(commands, Mapping) or word not in commands:
            break
        command = commands[word]
        ctx = _click.Context(command, info_name=word, parent=ctx)
    return ctx


def _settle_streams() -> None:
    """Flush now; if the reader went away (`| head`), drop the rest instead of crashing."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            with contextlib.suppress(OSError, ValueError):
                os.dup2(devnull, stream.fileno())
