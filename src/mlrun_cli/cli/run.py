"""``mlrun run``: run a project entry point and record it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mlrun_cli.cli._output import (
    CliReporter,
    State,
    format_number,
    handle_errors,
    info,
    print_json,
    status_text,
)

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="Store: a directory, file:///dir or sqlite:///file.db "
        "(default: $MLRUN_TRACKING_URI, else ./mlruns).",
        show_default=False,
    ),
]


@handle_errors
def run_command(
    uri: Annotated[
        str,
        typer.Argument(
            help="Project: a folder, file:// or git URL (https, ssh, git@host:repo), "
            "with an optional #sub/dir."
        ),
    ],
    entry_point: Annotated[
        str, typer.Option("--entry-point", "-e", help="Entry point to run.")
    ] = "main",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-P", help="A parameter, NAME=VALUE (repeatable).", show_default=False
        ),
    ] = None,
    experiment_name: Annotated[
        str | None, typer.Option("--experiment-name", help="Experiment (created if missing).")
    ] = None,
    experiment_id: Annotated[
        str | None, typer.Option("--experiment-id", help="Experiment id.")
    ] = None,
    run_name: Annotated[
        str | None, typer.Option("--run-name", help="Run name (default: generated).")
    ] = None,
    env_manager: Annotated[
        str,
        typer.Option(
            "--env-manager",
            help="Environment: uv (isolated, cached), virtualenv (isolated, virtualenv + pip) "
            "or local (the Python running mlrun, no isolation).",
        ),
    ] = "uv",
    version: Annotated[
        str | None,
        typer.Option(
            "--version", "-v", help="Git branch, tag or (abbreviated) commit.", show_default=False
        ),
    ] = None,
    dirty: Annotated[
        str,
        typer.Option(
            "--dirty",
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
    )
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
        metrics = " ".join(
            f"{key}={format_number(metric.value)}" for key, metric in sorted(run.metrics.items())
        )
        reason = f" ({run.status_reason})" if run.status_reason else ""
        info(
            f"run {run.run_id} {status_text(run.status)}{reason} in {seconds:.1f}s"
            + (f"  {metrics}" if metrics else "")
        )
    raise typer.Exit(result.exit_code)
