"""The fast path: what ``mlrun`` can answer without importing typer (~60 ms, most of a call).

- ``mlrun --version``.
- **Help** (``mlrun [COMMAND [SUBCOMMAND]] --help``): the text typer rendered the first time,
  kept in ``~/.cache/mlrun/help/``, one file per command and help width. Its first line is
  the fingerprint it was rendered under (mlrun's version and folder, the mtimes of the CLI's
  modules and of typer's): a changed fingerprint renders it again, so an upgrade or an edit of
  a command never shows stale help.
- **Hot commands** (``run``, ``experiments search``, ``runs search``, ``runs show``): a small
  parser for exactly their options, then the same body the typer command calls
  (``running.py``, ``searching.py``, ``describe.py``), with the same error lines and exit codes.

Anything else, or anything the parser does not understand (an unknown or repeated option,
``--opt=`` on a flag, bundled short options, a value that looks like an option, a bad number,
``--debug``, shell completion), goes to typer unchanged, so click's own messages stay
click's. ``tests/cli/test_fast_path.py`` checks these tables against the typer commands.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlrun_cli.errors import MlrunError

Fallback = Callable[[list[str]], int]
FLAG, VALUE, MULTI, COUNT = "flag", "value", "multi", "count"  # COUNT: an int >= 1

REQUIRED: dict[tuple[str, ...], set[str]] = {("run",): {"uri"}}
# command path -> option spelling -> (parameter, kind); "" names the positional (at most one).
SPECS: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {
    ("experiments", "search"): {
        "--view": ("view", VALUE), "-v": ("view", VALUE), "--filter": ("filter_text", VALUE),
        "--max-results": ("max_results", COUNT), "--page-token": ("page_token", VALUE),
        "--wide": ("wide", FLAG), "--json": ("json_output", FLAG),
        "--tracking-uri": ("tracking_uri", VALUE),
    },
    ("runs", "search"): {
        "--experiment-name": ("experiment_name", MULTI), "-n": ("experiment_name", MULTI),
        "--experiment-id": ("experiment_id", MULTI), "-x": ("experiment_id", MULTI),
        "--filter": ("filter_text", VALUE), "--order-by": ("order_by", MULTI),
        "--max-results": ("max_results", COUNT), "--page-token": ("page_token", VALUE),
        "--columns": ("columns", VALUE), "--view": ("view", VALUE),
        "--format": ("output", VALUE), "-f": ("output", VALUE), "--wide": ("wide", FLAG),
        "--json": ("json_output", FLAG), "--tracking-uri": ("tracking_uri", VALUE),
    },
    ("run",): {
        "": ("uri", VALUE), "--entry-point": ("entry_point", VALUE),
        "-e": ("entry_point", VALUE), "--param": ("param", MULTI), "-P": ("param", MULTI),
        "--experiment-name": ("experiment_name", VALUE),
        "--experiment-id": ("experiment_id", VALUE), "--run-name": ("run_name", VALUE),
        "--env-manager": ("env_manager", VALUE), "--backend": ("backend", VALUE),
        "-b": ("backend", VALUE), "--backend-config": ("backend_config", VALUE),
        "--no-wait": ("no_wait", FLAG), "--run-id": ("run_id", VALUE), "--tag": ("tag", MULTI),
        "--version": ("version", VALUE), "-v": ("version", VALUE), "--dirty": ("dirty", VALUE),
        "--offline": ("offline", FLAG), "--data-version": ("data_version", VALUE),
        "--allow-dirty-data": ("allow_dirty_data", FLAG), "--reuse": ("reuse", FLAG),
        "--strict": ("strict", FLAG), "--python-downloads": ("python_downloads", FLAG),
        "--json": ("json_output", FLAG), "--quiet": ("quiet", FLAG), "-q": ("quiet", FLAG),
        "--tracking-uri": ("tracking_uri", VALUE),
    },
    ("runs", "show"): {
        "": ("run_id", VALUE), "--run-id": ("run_id_option", MULTI),
        "-r": ("run_id_option", MULTI), "--json": ("json_output", FLAG),
        "--tracking-uri": ("tracking_uri", VALUE),
    },
}  # fmt: skip


def serve(args: list[str], fallback: Fallback) -> int:
    """Answer ``args`` here if possible, else through ``fallback`` (the typer app)."""
    if any(name.startswith("_MLRUN_COMPLETE") for name in os.environ):
        return fallback(args)  # shell completion is click's
    if len(args) == 2 and args[0] in ("--show-completion", "--install-completion"):
        from mlrun_cli.cli._complete import completion_for

        return completion_for(args[0], args[1])
    if args == ["--version"]:
        from mlrun_cli import __version__

        sys.stdout.write(f"mlrun {__version__}\n")  # as the typer app's --version prints it
        return 0
    words = help_words(args)
    if words is not None:
        return cached_help(words, args, fallback)
    command = tuple(args[:1]) if tuple(args[:1]) in SPECS else tuple(args[:2])
    parsed = parse(args[len(command) :], SPECS[command]) if command in SPECS else None
    if parsed is None or not REQUIRED.get(command, set()) <= parsed.keys():
        return fallback(args)  # (a missing argument: click's error)
    return run_command(command, parsed)


# --- help ------------------------------------------------------------------------------------


def help_words(args: list[str]) -> list[str] | None:
    """The command words of a plain help request (``runs search --help``), else None."""
    from mlrun_cli.cli.app import COMMANDS

    if not args or args[-1] not in ("--help", "-h") or len(args) > 4:
        return None
    words = args[:-1]
    if words and words[0] not in COMMANDS:
        return None
    if not all(word.isascii() and word.replace("-", "").isalnum() for word in words):
        return None
    return words


def help_width() -> int:
    """The width click wraps help to: the terminal's (found as ``shutil.get_terminal_size``
    finds it), at most 80, less 2, at least 50 (``HelpFormatter``)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return max(min(columns or 80, 80) - 2, 50)


def fingerprint() -> str:
    """What the help text depends on: mlrun's version and location, the CLI's modules, typer."""
    from mlrun_cli import __version__

    here = Path(__file__).resolve().parent
    with os.scandir(here) as entries:
        stamps = [entry.stat().st_mtime_ns for entry in entries if entry.name.endswith(".py")]
    for folder in sys.path:
        typer_init = Path(folder or ".", "typer", "__init__.py")
        if typer_init.is_file():
            stamps.append(typer_init.stat().st_mtime_ns)
            break
    return f"mlrun {__version__} {here} {len(stamps)} {max(stamps)} {sum(stamps)}"


def cached_help(words: list[str], args: list[str], fallback: Fallback) -> int:
    """The help text from the cache if it was rendered under the same fingerprint; else
    rendered by typer (and kept when that succeeded)."""
    from mlrun_cli.paths import cache_dir

    try:
        stamp = fingerprint()
    except OSError:
        return fallback(args)
    name = "_".join(["mlrun", *words]) + f".{help_width()}.txt"
    path = cache_dir() / "help" / name
    try:
        first, _, text = path.read_text(encoding="utf-8").partition("\n")
    except (OSError, UnicodeDecodeError):
        first, text = "", ""
    if first == stamp and text:
        sys.stdout.write(text)
        return 0
    code, text = captured(fallback, args)
    if code == 0 and text.startswith("Usage: mlrun"):  # help it was, nothing else
        keep(path, f"{stamp}\n{text}")
    return code


def captured(fallback: Fallback, args: list[str]) -> tuple[int, str]:
    """``fallback(args)`` with its stdout recorded (and still printed)."""
    import io

    real, buffer = sys.stdout, io.StringIO()
    sys.stdout = buffer
    try:
        code = fallback(args)
    finally:
        sys.stdout = real
        real.write(buffer.getvalue())
    return code, buffer.getvalue()


def keep(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically; a cache that cannot be written is no error."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


# --- hot read commands -----------------------------------------------------------------------


def parse(args: list[str], spec: dict[str, tuple[str, str]]) -> dict[str, Any] | None:
    """``args`` as parameters, if every one is understood exactly; else None (typer decides)."""
    out: dict[str, Any] = {}
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        name, equals, attached = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        name = name if arg.startswith("-") else ""  # "": the positional
        if name not in spec:
            return None
        param, kind = spec[name]
        value: Any = True
        if kind != FLAG and not name:
            value = arg
        elif kind != FLAG and equals:
            value = attached
        elif kind != FLAG and index < len(args) and not args[index].startswith("-"):
            value, index = args[index], index + 1
        elif kind != FLAG or equals:
            return None  # a missing value (or one that looks like an option), --flag=x
        if not _take(out, param, kind, value):
            return None
    return out


def _take(out: dict[str, Any], param: str, kind: str, value: Any) -> bool:
    """Record one value; False where click's reading could differ (a repeat, a bad count)."""
    if kind == MULTI:
        out.setdefault(param, []).append(value)
        return True
    if param in out:
        return False
    if kind == COUNT:
        if not (value.isascii() and value.isdigit() and int(value) >= 1):
            return False
        value = int(value)
    out[param] = value
    return True


def run_command(command: tuple[str, ...], parsed: dict[str, Any]) -> int:
    """Run the body of ``command`` on ``parsed``: its exit code, errors shown as typer's are."""
    from mlrun_cli.cli._output import report_error, report_interrupt

    try:
        return BODIES[command](parsed) or 0
    except MlrunError as exc:
        return report_error(exc)
    except KeyboardInterrupt as exc:
        return report_interrupt(exc)
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `| head`: click exits 1 too
            return 1
        raise
    except Exception as exc:
        # A body that reached typer code (a backend run's helpers) may end with typer.Exit.
        exit_class = getattr(sys.modules.get("typer.exceptions"), "Exit", None)
        if exit_class is not None and isinstance(exc, exit_class):
            return int(exc.exit_code)
        raise


def _run(p: dict[str, Any]) -> int:
    from mlrun_cli.cli.running import RunArgs, run_and_report

    return run_and_report(RunArgs(**p))


def _experiments_search(p: dict[str, Any]) -> None:
    from mlrun_cli.cli.searching import search_experiments_command

    search_experiments_command(
        p.get("view", "active"), p.get("filter_text", ""), p.get("max_results"),
        wide=p.get("wide", False), json_output=p.get("json_output", False),
        tracking_uri=p.get("tracking_uri"), page_token=p.get("page_token"),
    )  # fmt: skip


def _runs_search(p: dict[str, Any]) -> None:
    from mlrun_cli.cli.searching import Query, search_runs_command

    query = Query(p.get("experiment_name", []), p.get("experiment_id", []),
                  p.get("filter_text", ""), p.get("order_by", []), p.get("max_results", 1000),
                  p.get("page_token"), p.get("view", "active"))  # fmt: skip
    output = "json" if p.get("json_output") else p.get("output", "table")
    search_runs_command(query, p.get("columns"), output, wide=p.get("wide", False),
                        tracking_uri=p.get("tracking_uri"))  # fmt: skip


def _runs_show(p: dict[str, Any]) -> None:
    from mlrun_cli.cli.describe import show_run

    show_run(p.get("run_id"), p.get("run_id_option"), json_output=p.get("json_output", False),
             tracking_uri=p.get("tracking_uri"))  # fmt: skip


BODIES: dict[tuple[str, ...], Callable[[dict[str, Any]], int | None]] = {
    ("run",): _run,
    ("experiments", "search"): _experiments_search,
    ("runs", "search"): _runs_search,
    ("runs", "show"): _runs_show,
}
