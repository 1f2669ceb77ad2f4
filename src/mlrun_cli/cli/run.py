"""``mlrun run``: run a project entry point and record it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli import _complete
from mlrun_cli.cli._options import TrackingUri
from mlrun_cli.cli._output import (
    CliReporter,
    State,
    format_number,
    handle_errors,
    info,
    info_status,
    print_json,
)


@handle_errors
def run_command(
    uri: Annotated[
        str,
        typer.Argument(
            metavar="URI",
            help="Project: a folder, file:// or git URL (https, ssh, git@host:repo), "
            "with an optional #sub/dir.",
            show_default=False,
        ),
    ],
    entry_point: Annotated[
        str,
        typer.Option(
            "--entry-point",
            "-e",
            metavar="NAME",
            help="Entry point to run.",
            autocompletion=_complete.entry_points,
        ),
    ] = "main",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-P",
            metavar="NAME=VALUE",
            help="A parameter (repeatable).",
            show_default=False,
        ),
    ] = None,
    experiment_name: Annotated[
        str | None,
        typer.Option(
            "--experiment-name",
            metavar="NAME",
            help="Experiment (created if missing).",
            autocompletion=_complete.experiment_names,
            show_default=False,
        ),
    ] = None,
    experiment_id: Annotated[
        str | None,
        typer.Option("--experiment-id", metavar="ID", help="Experiment id.", show_default=False),
    ] = None,
    run_name: Annotated[
        str | None,
        typer.Option(
            "--run-name", metavar="NAME", help="Run name (default: generated).", show_default=False
        ),
    ] = None,
    env_manager: Annotated[
        str,
        typer.Option(
            "--env-manager",
            metavar="[uv|virtualenv|local]",
            autocompletion=_complete.choices("uv", "virtualenv", "local"),
            help="Environment: uv (isolated, cached), virtualenv (isolated, virtualenv + pip) "
            "or local (the Python running mlrun, no isolation).",
        ),
    ] = "uv",
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            "-b",
            metavar="[local|ray|slurm]",
            help="Where to run: local, a Ray cluster or a Slurm cluster (MLflow's flag).",
        ),
    ] = "local",
    backend_config: Annotated[
        str | None,
        typer.Option(
            "--backend-config",
            metavar="FILE",
            help="Backend settings, JSON or YAML (address, partition, cpus, ...).",
            show_default=False,
        ),
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="With --backend ray|slurm: submit and return."),
    ] = False,
    run_id: Annotated[
        str | None, typer.Option("--run-id", hidden=True, help="Set by a backend's submitter.")
    ] = None,
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", hidden=True, help="KEY=VALUE, set by a backend's submitter."),
    ] = None,
    version: Annotated[
        str | None,
        typer.Option(
            "--version",
            "-v",
            metavar="REV",
            help="Git branch, tag or (abbreviated) commit.",
            show_default=False,
        ),
    ] = None,
    dirty: Annotated[
        str,
        typer.Option(
            "--dirty",
            metavar="[snapshot|refuse|allow]",
            autocompletion=_complete.choices("snapshot", "refuse", "allow"),
            help="Uncommitted changes: snapshot (record a patch), refuse, "
            "or allow (record only a flag).",
        ),
    ] = "snapshot",
    offline: Annotated[
        bool, typer.Option("--offline", help="Use the cached git mirror as it is; no fetch.")
    ] = False,
    data_version: Annotated[
        str | None,
        typer.Option(
            "--data-version",
            metavar="REV",
            help="Take the DVC data pins from this git revision.",
            show_default=False,
        ),
    ] = None,
    allow_dirty_data: Annotated[
        bool,
        typer.Option(
            "--allow-dirty-data",
            help="Run even if DVC-tracked data differs from its "
            "pins (the actual hashes are recorded).",
        ),
    ] = False,
    reuse: Annotated[
        bool,
        typer.Option(
            "--reuse",
            help="If a FINISHED run with the same fingerprint exists in the "
            "experiment, show it and run nothing.",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Refuse parameters the entry point does not declare, and conda.yaml packages "
            "mlrun cannot install with pip.",
        ),
    ] = False,
    python_downloads: Annotated[
        bool,
        typer.Option(
            "--python-downloads",
            help="If no Python on this machine fits the spec, let uv download one "
            "(default: found, never downloaded).",
        ),
    ] = False,
    json_output: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the run as JSON on stdout (the entry point's stdout goes to stderr).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the run id.")] = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Run a project entry point in its environment and record everything as a run."""
    from mlrun_cli.execution.runner import RunRequest, execute_run

    State.quiet = quiet or State.quiet
    request = RunRequest(
        uri=uri,
        entry_point=entry_point,
        params=tuple(param or ()),
        experiment_name=experiment_name,
        experiment_id=experiment_id,
        run_name=run_name,
        env_manager=env_manager,
        tracking_uri=tracking_uri,
        strict=strict,
        version=version,
        dirty=dirty,
        offline=offline,
        data_version=data_version,
        allow_dirty_data=allow_dirty_data,
        reuse=reuse,
        python_downloads=python_downloads,
        stdout_to_stderr=json_output or quiet,
        cwd=Path.cwd(),
        run_id=_check_run_id(run_id),
        tags=tuple(_tag(item) for item in tag or ()),
    )
    if no_wait and backend == "local":
        from mlrun_cli.errors import UsageError

        raise UsageError(
            "--no-wait: only with --backend ray or slurm (a local run is this process)"
        )
    if backend != "local" or backend_config is not None:
        from mlrun_cli.cli.remote import run_on_backend

        run_on_backend(request, backend, backend_config, no_wait, json_output, quiet)
    result = execute_run(request, CliReporter())
    run = result.run
    from mlrun_cli.cli.summary import append_summary

    append_summary(run, "mlrun run" + (" (reused)" if result.reused else ""))
    if result.reused:
        info(f"reusing run {run.run_id} ({run.name}): same fingerprint {run.fingerprint}")
    if json_output:
        print_json({**run.to_json(), "reused": result.reused})
    elif quiet:
        typer.echo(run.run_id)
    else:
        seconds = ((run.end_time or run.start_time) - run.start_time) / 1000
        reason = f" ({run.status_reason})" if run.status_reason else ""
        info_status(f"run {run.run_id} ", run.status, f"{reason} in {seconds:.1f}s")
        if run.metrics:
            info(metrics_line(run))
        info(recorded_line(tracking_uri, run.run_id))
    raise typer.Exit(result.exit_code)


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


def recorded_line(tracking_uri: str | None, run_id: str) -> str:
    """Where the run went and what to type next: ``recorded in ./mlruns (sqlite) · mlrun runs
    show 0666ebd1``."""
    from mlrun_cli.tracking.store import resolve_location

    location = resolve_location(tracking_uri)
    # The next command must find the same store: name it unless it is the default.
    where = "" if location.source == "default" else f" --tracking-uri {location.shown_uri}"
    return f"recorded in {store_place(location)} · mlrun runs show {run_id[:8]}{where}"


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


RUN = CommandInfo(
    "run",
    callback=run_command,
    epilog="""\b
Examples:
  mlrun run example_project -P alpha=0.5 --experiment-name wine
  mlrun run https://github.com/org/repo.git#models -v v1.2 -e train
  mlrun run . --env-manager local --reuse --json""",
)
