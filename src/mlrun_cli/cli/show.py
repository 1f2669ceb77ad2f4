"""``mlrun runs show`` (and MLflow's name for it, ``runs describe``): everything about one run."""

from __future__ import annotations

from typing import Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._options import JsonOption, RunIdOption, TrackingUri
from mlrun_cli.cli._output import handle_errors
from mlrun_cli.cli.describe import show_run

RunIdArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="RUN_ID",
        help="The run id (or a unique prefix of it).",
        autocompletion=_complete.run_ids,
        show_default=False,
    ),
]


@handle_errors
def show_command(
    run_id: RunIdArgument = None,
    run_id_option: RunIdOption = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Show everything recorded about one run."""
    show_run(run_id, run_id_option, json_output=json_output, tracking_uri=tracking_uri)
