"""``mlrun run``: run a project entry point and record it."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli._options import (
    BackendConfigOption,
    BackendOption,
    DirtyOption,
    EntryPointOption,
    EnvManagerOption,
    GitVersionOption,
    RunExperimentIdOption,
    RunExperimentNameOption,
    RunNameOption,
    TrackingUri,
)
from mlrun_cli.cli._output import handle_errors
from mlrun_cli.cli.running import RunArgs, run_and_report


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
    entry_point: EntryPointOption = "main",
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
    experiment_name: RunExperimentNameOption = None,
    experiment_id: RunExperimentIdOption = None,
    run_name: RunNameOption = None,
    env_manager: EnvManagerOption = "uv",
    backend: BackendOption = "local",
    backend_config: BackendConfigOption = None,
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
    version: GitVersionOption = None,
    dirty: DirtyOption = "snapshot",
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
    raise typer.Exit(
        run_and_report(
            RunArgs(
                uri=uri,
                entry_point=entry_point,
                param=param,
                experiment_name=experiment_name,
                experiment_id=experiment_id,
                run_name=run_name,
                env_manager=env_manager,
                backend=backend,
                backend_config=backend_config,
                no_wait=no_wait,
                run_id=run_id,
                tag=tag,
                version=version,
                dirty=dirty,
                offline=offline,
                data_version=data_version,
                allow_dirty_data=allow_dirty_data,
                reuse=reuse,
                strict=strict,
                python_downloads=python_downloads,
                json_output=json_output,
                quiet=quiet,
                tracking_uri=tracking_uri,
            )
        )
    )


RUN = CommandInfo(
    "run",
    callback=run_command,
    epilog="""\b
Examples:
  mlrun run example_project -P alpha=0.5 --experiment-name wine
  mlrun run https://github.com/org/repo.git#models -v v1.2 -e train
  mlrun run . --env-manager local --reuse --json""",
)
