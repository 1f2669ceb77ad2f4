"""What ``mlrun run`` does once its arguments are read, without typer: the typer command and the
fast path (``_fast.py``) both call :func:`run_and_report`."""

from __future__ import annotations

from pathlib import Path

from mlrun_cli.cli._output import (
    CliReporter,
    State,
    echo,
    format_number,
    info,
    info_status,
    print_json,
)
from mlrun_cli.tracking.record import Record


class RunArgs(Record):
    """``mlrun run``'s arguments, as typed (the defaults are the command's). A record (a
    frozen dataclass made by hand, tracking/record.py): one dataclass less to create."""

    uri: str
    entry_point: str = "main"
    param: list[str] | None = None
    experiment_name: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    env_manager: str = "uv"
    backend: str = "local"
    backend_config: str | None = None
    no_wait: bool = False
    run_id: str | None = None
    tag: list[str] | None = None
    version: str | None = None
    dirty: str = "snapshot"
    offline: bool = False
    data_version: str | None = None
    allow_dirty_data: bool = False
    reuse: bool = False
    strict: bool = False
    python_downloads: bool = False
    json_output: bool = False
    quiet: bool = False
    tracking_uri: str | None = None


def run_and_report(args: RunArgs) -> int:
    """Run, print the outcome; the exit code (the entry point's, or mlrun's)."""
    from mlrun_cli.execution.runner import RunRequest, execute_run

    State.quiet = args.quiet or State.quiet
    request = RunRequest(
        uri=args.uri,
        entry_point=args.entry_point,
        params=tuple(args.param or ()),
        experiment_name=args.experiment_name,
        experiment_id=args.experiment_id,
        run_name=args.run_name,
        env_manager=args.env_manager,
        tracking_uri=args.tracking_uri,
        strict=args.strict,
        version=args.version,
        dirty=args.dirty,
        offline=args.offline,
        data_version=args.data_version,
        allow_dirty_data=args.allow_dirty_data,
        reuse=args.reuse,
        python_downloads=args.python_downloads,
        stdout_to_stderr=args.json_output or args.quiet,
        cwd=Path.cwd(),
        run_id=_check_run_id(args.run_id),
        tags=tuple(_tag(item) for item in args.tag or ()),
    )
    if args.no_wait and args.backend == "local":
        from mlrun_cli.errors import UsageError

        raise UsageError(
            "--no-wait: only with --backend ray or slurm (a local run is this process)"
        )
    if args.backend != "local" or args.backend_config is not None:
        from mlrun_cli.cli.remote import run_on_backend

        return run_on_backend(
            request, args.backend, args.backend_config, args.no_wait, args.json_output, args.quiet
        )
    new_store = _sqlite_store_missing(args.tracking_uri)
    result = execute_run(request, CliReporter())
    run = result.run
    from mlrun_cli.cli.summary import append_summary

    append_summary(run, "mlrun run" + (" (reused)" if result.reused else ""))
    if result.reused:
        info(f"reusing run {run.run_id} ({run.name}): same fingerprint {run.fingerprint}")
    if args.json_output:
        print_json({**run.to_json(), "reused": result.reused})
    elif args.quiet:
        echo(run.run_id)
    else:
        seconds = ((run.end_time or run.start_time) - run.start_time) / 1000
        reason = f" ({run.status_reason})" if run.status_reason else ""
        info_status(f"run {run.run_id} ", run.status, f"{reason} in {seconds:.1f}s")
        if run.metrics:
            info(metrics_line(run))
        info(recorded_line(args.tracking_uri, run.run_id, new=new_store))
    return result.exit_code


def _sqlite_store_missing(tracking_uri: str | None) -> bool:
    """Whether the run's SQLite store does not exist yet (the run creates it): worth a word,
    a run started from a subfolder starts a store of its own there."""
    from mlrun_cli.tracking.store import resolve_location

    location = resolve_location(tracking_uri)
    return location.remote is None and location.database is None and not location.db_path.exists()


def metrics_line(run: object) -> str:
    """``metrics: mae=0.417 rmse=0.557 ...``, cut to a terminal's width (logs keep it whole)."""
    import os
    import sys

    from mlrun_cli.tracking.models import Run

    assert isinstance(run, Run)  # noqa: S101 - typed loosely for lazy imports
    pairs = [f"{key}={format_number(m.value)}" for key, m in sorted(run.metrics.items())]
    text = "metrics: " + " ".join(pairs)
    if not sys.stderr.isatty():
        return text
    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns - len("mlrun: ")
    except OSError:
        return text
    shown = "metrics:"
    for index, pair in enumerate(pairs):
        more = f" … (+{len(pairs) - index} more)"
        rest = 0 if index == len(pairs) - 1 else len(more)
        if len(shown) + 1 + len(pair) + rest > width:
            return shown + more
        shown += " " + pair
    return shown


def _check_run_id(run_id: str | None) -> str | None:
    from mlrun_cli.errors import UsageError

    if run_id is not None and not (
        len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id)
    ):
        raise UsageError(f"--run-id {run_id!r}: expected 32 lowercase hex digits")
    return run_id


def _tag(item: str) -> tuple[str, str]:
    from mlrun_cli.errors import UsageError

    key, sep, value = item.partition("=")
    if not sep or not key:
        raise UsageError(f"--tag {item!r}: expected KEY=VALUE")
    return key, value


def recorded_line(tracking_uri: str | None, run_id: str, *, new: bool = False) -> str:
    """Where the run went and what to type next: ``recorded in ./mlruns (sqlite) · mlrun runs
    show 0666ebd1``; ``(sqlite, new)`` when this run created the store."""
    import shlex

    from mlrun_cli.tracking.store import resolve_location

    location = resolve_location(tracking_uri)
    # The next command must find the same store: name it when --tracking-uri chose it (one
    # from MLRUN_TRACKING_URI is still set in the user's shell, as is the default).
    # As typed (not the rewritten URI), quoted for the shell.
    import re

    # As typed, but never a password (postgresql://user:secret@host/db -> user:***@).
    shown = re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", tracking_uri or location.shown_uri)
    typed = shlex.quote(shown)
    where = f" --tracking-uri {typed}" if location.source == "--tracking-uri" else ""
    place = store_place(location)
    if new:
        place = place[:-1] + ", new)"
    return f"recorded in {place} · mlrun runs show {run_id[:8]}{where}"


def store_place(location: object) -> str:
    """A store location as people type it: ``./mlruns (sqlite)``, ``~/stores/x (sqlite)``."""
    from mlrun_cli.tracking.store import StoreLocation

    assert isinstance(location, StoreLocation)  # noqa: S101 - typed loosely for lazy imports
    if location.remote is not None:
        return f"{location.remote} (server)"
    if location.database is not None:
        return f"{location.shown_uri} (postgresql)"
    root = location.db_path.parent if location.db_path.name == "mlrun.db" else location.db_path
    cwd, home = Path.cwd(), Path.home()
    if root.is_relative_to(cwd):
        shown = "./" + str(root.relative_to(cwd)) if root != cwd else "."
    elif root.is_relative_to(home):
        shown = "~/" + str(root.relative_to(home))
    else:
        shown = str(root)
    return f"{shown} (sqlite)"
