"""``mlrun runs ...``: search, inspect, compare, plot and curate recorded runs."""

from __future__ import annotations

from typing import Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._options import (
    VIEW_HELP,
    VIEW_METAVAR,
    FormatOption,
    JsonOption,
    RunIdOption,
    TrackingUri,
    WideOption,
    one_run_id,
    open_cli_store,
)
from mlrun_cli.cli._output import handle_errors
from mlrun_cli.cli.compare import compare_command
from mlrun_cli.cli.metrics import metric_command, plot_command
from mlrun_cli.cli.remote import cancel_command, logs_command
from mlrun_cli.cli.searching import Query, print_runs, search_runs_command
from mlrun_cli.cli.show import RunIdArgument, show_command

app = typer.Typer(help="Search, compare, plot and inspect recorded runs.", no_args_is_help=True)

SEARCH_EXAMPLES = """\b
Examples:
  mlrun runs search --experiment-name wine --order-by "metrics.rmse ASC"
  mlrun runs search --filter "params.alpha = '0.5' and metrics.rmse < 0.8"
  mlrun runs search --columns run_id,params.alpha,metrics.rmse -f csv"""


@app.command("search", epilog=SEARCH_EXAMPLES)
@handle_errors
def search(
    experiment_name: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment-name",
            "-n",
            metavar="NAME",
            help="Experiment name (repeatable).",
            autocompletion=_complete.experiment_names,
            show_default=False,
        ),
    ] = None,
    experiment_id: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment-id",
            "-x",
            metavar="ID",
            help="Experiment id (repeatable).",
            show_default=False,
        ),
    ] = None,
    filter_text: Annotated[
        str,
        typer.Option(
            "--filter",
            metavar="FILTER",
            help="e.g. \"params.alpha = '0.5' and metrics.rmse < 0.8\"",
        ),
    ] = "",
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            metavar='"KEY [ASC|DESC]"',
            help="Sort key, repeatable (default: start_time DESC; missing values last).",
            show_default=False,
        ),
    ] = None,
    max_results: Annotated[
        int,
        typer.Option("--max-results", metavar="N", min=1, help="At most this many runs (a page)."),
    ] = 1000,
    page_token: Annotated[
        str | None,
        typer.Option(
            "--page-token",
            metavar="TOKEN",
            help="Continue after a previous page.",
            show_default=False,
        ),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            metavar="COL,COL,...",
            help="Columns, e.g. run_id,params.alpha,metrics.rmse.",
            show_default=False,
        ),
    ] = None,
    view: Annotated[str, typer.Option("--view", metavar=VIEW_METAVAR, help=VIEW_HELP)] = "active",
    output: FormatOption = "table",
    wide: WideOption = False,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Search runs: MLflow's filter syntax, plus OR, NOT and parentheses."""
    query = Query(experiment_name or [], experiment_id or [], filter_text, order_by or [],
                  max_results, page_token, view)  # fmt: skip
    output = "json" if json_output else output
    search_runs_command(query, columns, output, wide=wide, tracking_uri=tracking_uri)


@app.command("list", hidden=True)
@handle_errors
def list_command(
    experiment_id: Annotated[
        list[str] | None,
        typer.Option("--experiment-id", "-x", metavar="ID", help="Experiment id (repeatable)."),
    ] = None,
    view: Annotated[str, typer.Option("--view", "-v", metavar=VIEW_METAVAR, help=VIEW_HELP)] = (
        "active"
    ),
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """MLflow's name: the runs of an experiment (the same as `runs search --experiment-id`)."""
    query = Query([], experiment_id or [], "", [], 1000, None, view)
    print_runs(query, None, "json" if json_output else "table", wide=False,
               tracking_uri=tracking_uri)  # fmt: skip


app.command("show")(show_command)
app.command("describe", hidden=True, help="MLflow's name for `runs show`.")(show_command)
app.command("compare")(compare_command)
app.command("logs")(logs_command)
app.command("cancel")(cancel_command)
app.command("metric")(metric_command)
app.command(
    "plot",
    epilog="""\b
Examples:
  mlrun runs plot 0666ebd1 3f2a9c1b --metric rmse
  mlrun runs plot 0666ebd1 --metric loss --x time --output loss.svg""",
)(plot_command)


def _set_stage(run_id: str, stage: str, tracking_uri: str | None) -> None:
    store = open_cli_store(tracking_uri)
    full = store.resolve_run_id(run_id)
    store.set_run_stage(full, stage)
    typer.echo(f"{'Deleted' if stage == 'deleted' else 'Restored'} run {full}")


@app.command("delete")
@handle_errors
def delete(
    run_id: RunIdArgument = None, run_id_option: RunIdOption = None,
    tracking_uri: TrackingUri = None,
) -> None:  # fmt: skip
    """Soft-delete a run (hidden from searches until `runs restore`)."""
    _set_stage(one_run_id(run_id, run_id_option), "deleted", tracking_uri)


@app.command("restore")
@handle_errors
def restore(
    run_id: RunIdArgument = None, run_id_option: RunIdOption = None,
    tracking_uri: TrackingUri = None,
) -> None:  # fmt: skip
    """Restore a deleted run."""
    _set_stage(one_run_id(run_id, run_id_option), "active", tracking_uri)


@app.command("tag")
@handle_errors
def tag(
    args: Annotated[
        list[str], typer.Argument(metavar="RUN_ID KEY=VALUE...", help="The run, then tags.")
    ],
    run_id_option: RunIdOption = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Set tags on a run (existing keys are overwritten)."""
    from mlrun_cli.cli.experiments import parse_tag_pairs
    from mlrun_cli.tracking.models import EventBatch

    run_id, tags = (None, args) if run_id_option else (args[0], args[1:])
    pairs = parse_tag_pairs(tags)
    store = open_cli_store(tracking_uri)
    full = store.resolve_run_id(one_run_id(run_id, run_id_option))
    store.log_batch(full, EventBatch(tags=tuple(pairs)))
    from mlrun_cli.cli._table import printable

    # Escaped: a value holding a newline or ESC is shown as \n, \x1b (stored as given).
    typer.echo(f"Tagged run {full}: " + ", ".join(printable(f"{k}={v}") for k, v in pairs))
