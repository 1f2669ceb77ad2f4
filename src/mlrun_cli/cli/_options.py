"""Options shared by several commands (typer's ``Annotated`` aliases). What they feed, without
typer (views, the store, run ids), is in ``_args.py`` and re-exported here."""

from __future__ import annotations

from typing import Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._args import (
    VIEW_HELP,
    VIEW_METAVAR,
    VIEWS,
    distinct_run_ids,
    one_run_id,
    open_cli_store,
    run_ids_from,
    view_name,
)

__all__ = [
    "VIEWS",
    "VIEW_HELP",
    "VIEW_METAVAR",
    "distinct_run_ids",
    "one_run_id",
    "open_cli_store",
    "run_ids_from",
    "view_name",
]

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        metavar="URI",
        help="Store: a directory, file:///dir, sqlite:///file.db or a server's http(s)://host:port "
        "(default: $MLRUN_TRACKING_URI, else ./mlruns).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
WideOption = Annotated[
    bool, typer.Option("--wide", help="Do not fit the table to the terminal width.")
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="[table|json|csv]",
        autocompletion=_complete.choices("table", "json", "csv"),
        help="Output: table (people), json or csv (machines).",
    ),
]
RunIdOption = Annotated[
    list[str] | None,
    typer.Option(
        "--run-id",
        "-r",
        metavar="RUN_ID",
        help="A run id, as MLflow's CLI takes it (the same as the positional RUN_ID).",
        autocompletion=_complete.run_ids,
        show_default=False,
    ),
]
ExperimentNameOption = Annotated[
    str | None,
    typer.Option(
        "--experiment-name",
        "-n",
        metavar="NAME",
        help="Experiment name.",
        autocompletion=_complete.experiment_names,
        show_default=False,
    ),
]
ExperimentIdOption = Annotated[
    str | None,
    typer.Option("--experiment-id", "-x", metavar="ID", help="Experiment id.", show_default=False),
]

# `mlrun run`'s options, shared with `mlrun sweep`: spelled as `run` spells them (without the
# -n/-x short flags of the store commands' ExperimentNameOption/ExperimentIdOption).
EntryPointOption = Annotated[
    str,
    typer.Option(
        "--entry-point",
        "-e",
        metavar="NAME",
        help="Entry point to run.",
        autocompletion=_complete.entry_points,
    ),
]
RunExperimentNameOption = Annotated[
    str | None,
    typer.Option(
        "--experiment-name",
        metavar="NAME",
        help="Experiment (created if missing).",
        autocompletion=_complete.experiment_names,
        show_default=False,
    ),
]
RunExperimentIdOption = Annotated[
    str | None,
    typer.Option("--experiment-id", metavar="ID", help="Experiment id.", show_default=False),
]
RunNameOption = Annotated[
    str | None,
    typer.Option(
        "--run-name", metavar="NAME", help="Run name (default: generated).", show_default=False
    ),
]
EnvManagerOption = Annotated[
    str,
    typer.Option(
        "--env-manager",
        metavar="[uv|virtualenv|local]",
        autocompletion=_complete.choices("uv", "virtualenv", "local"),
        help="Environment: uv (isolated, cached), virtualenv (isolated, virtualenv + pip) "
        "or local (the Python running mlrun, no isolation).",
    ),
]
BackendOption = Annotated[
    str,
    typer.Option(
        "--backend",
        "-b",
        metavar="[local|ray|slurm]",
        autocompletion=_complete.choices("local", "ray", "slurm"),
        help="Where to run: local, a Ray cluster or a Slurm cluster (MLflow's flag).",
    ),
]
BackendConfigOption = Annotated[
    str | None,
    typer.Option(
        "--backend-config",
        metavar="FILE",
        help="Backend settings, JSON or YAML (address, partition, cpus, ...).",
        show_default=False,
    ),
]
GitVersionOption = Annotated[
    str | None,
    typer.Option(
        "--version",
        "-v",
        metavar="REV",
        help="Git branch, tag or (abbreviated) commit.",
        show_default=False,
    ),
]
DirtyOption = Annotated[
    str,
    typer.Option(
        "--dirty",
        metavar="[snapshot|refuse|allow]",
        autocompletion=_complete.choices("snapshot", "refuse", "allow"),
        help="Uncommitted changes: snapshot (record a patch), refuse, "
        "or allow (record only a flag).",
    ),
]
