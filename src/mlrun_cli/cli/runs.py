"""``mlrun runs ...``: search, inspect, compare, plot and curate recorded runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._columns import all_columns, cell, display, varying_columns
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
    view_name,
)
from mlrun_cli.cli._output import STATUS_STYLES, handle_errors, info, print_json
from mlrun_cli.cli.compare import compare_command
from mlrun_cli.cli.metrics import check_format, metric_command, plot_command
from mlrun_cli.cli.remote import cancel_command, logs_command
from mlrun_cli.cli.show import RunIdArgument, show_command

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

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
    output = check_format("json" if json_output else output)
    query = Query(experiment_name or [], experiment_id or [], filter_text, order_by or [],
                  max_results, page_token, view_name(view))  # fmt: skip
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    _search(query, chosen, output, wide=wide, tracking_uri=tracking_uri)


@dataclass(frozen=True)
class Query:
    """What ``runs search`` / ``runs list`` asked for."""

    names: list[str]
    ids: list[str]
    filter_text: str
    order_by: list[str]
    max_results: int
    page_token: str | None
    view: str


def _search(
    query: Query, chosen: list[str] | None, output: str, *, wide: bool, tracking_uri: str | None
) -> None:
    from mlrun_cli.tracking.queries import experiment_ids_for, search_runs

    store = open_cli_store(tracking_uri)
    ids = experiment_ids_for(store, query.names, query.ids)
    page = search_runs(store, ids, query.filter_text, query.order_by or None,
                       query.max_results, query.page_token, query.view)  # fmt: skip
    if output == "json":
        print_json({"runs": [run.to_json() for run in page.runs],
                    "next_page_token": page.next_page_token})  # fmt: skip
    elif output == "csv":
        _print_csv(page.runs, chosen or all_columns(page.runs))
    else:
        named = named_columns(query.filter_text, query.order_by)
        _print_table(page.runs, chosen, named, wide)
        if page.next_page_token:
            info(f"more runs: --page-token {page.next_page_token}")


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
    query = Query([], experiment_id or [], "", [], 1000, None, view_name(view))
    _search(query, None, "json" if json_output else "table", wide=False, tracking_uri=tracking_uri)


def named_columns(filter_text: str, order_by: list[str]) -> list[str]:
    """The columns a filter and the order keys name (always shown in the table)."""
    from mlrun_cli.cli._columns import ATTRIBUTES
    from mlrun_cli.tracking.run_search import parse_order_by
    from mlrun_cli.tracking.search import And, Comparison, Not, Or, parse_filter

    prefixes = {"metric": "metrics.", "param": "params.", "tag": "tags."}
    keys = [(k.entity, k.key) for k in map(parse_order_by, order_by)]
    stack = [parse_filter(filter_text)] if filter_text.strip() else []
    while stack:
        node = stack.pop()
        if isinstance(node, Comparison):
            keys.append((node.entity, node.key))
        elif isinstance(node, (And, Or)):
            stack += [node.right, node.left]
        elif isinstance(node, Not):
            stack.append(node.operand)
    names = []
    for entity, key in keys:
        name = prefixes[entity] + key if entity in prefixes else key
        if (entity in prefixes or name in ATTRIBUTES) and name not in names:
            names.append(name)
    return names


def _print_csv(runs: list[Run], columns: list[str]) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for run in runs:
        writer.writerow([cell(run, column, exact=True) for column in columns])


FIXED = ("run_id", "status", "start_time", "end_time", "exit_code", "dirty", "experiment_id")


def _print_table(found: list[Run], columns: list[str] | None, named: list[str], wide: bool) -> None:
    from mlrun_cli.cli._table import Table, print_table

    if columns is None:
        columns = ["run_id", "run_name", "status", "start_time", *varying_columns(found)]
        columns += [name for name in named if name not in columns]
    for column in columns:
        if found:
            cell(found[0], column)  # unknown names fail here, before printing anything
    keep = {i for i, c in enumerate(columns) if c in named}
    right = {i for i, c in enumerate(columns) if c.startswith("metrics.")}
    fixed = right | {i for i, c in enumerate(columns) if c in FIXED}
    table = Table(list(columns), right=right, keep=keep, fixed=fixed)
    for run in found:
        table.add_row(*(_styled_cell(run, column) for column in columns))
    print_table(table, wide=wide)


def _styled_cell(run: Run, column: str) -> str | tuple[str, str]:
    if column == "status":
        return (run.status, STATUS_STYLES.get(run.status, "33"))
    return display(run, column)


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
    from mlrun_cli.cli._output import clean

    typer.echo(clean(f"Tagged run {full}: " + ", ".join(f"{k}={v}" for k, v in pairs)))
