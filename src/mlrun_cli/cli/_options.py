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
