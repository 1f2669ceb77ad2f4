"""``mlrun experiments ...``: create, search, get, rename, delete, restore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._options import (
    VIEW_HELP,
    VIEW_METAVAR,
    JsonOption,
    TrackingUri,
    WideOption,
)
from mlrun_cli.cli._options import ExperimentIdOption as IdOption
from mlrun_cli.cli._options import ExperimentNameOption as NameOption
from mlrun_cli.cli._options import open_cli_store as _store
from mlrun_cli.cli._output import format_time, handle_errors, print_json
from mlrun_cli.cli.searching import search_experiments_command

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Experiment

app = typer.Typer(help="Create, search and manage experiments.", no_args_is_help=True)


def _show(experiment: Experiment, json_output: bool, message: str) -> None:
    if json_output:
        print_json(experiment.to_json())
    else:
        from mlrun_cli.cli._output import clean

        typer.echo(clean(message))


@app.command("create")
@handle_errors
def create(
    experiment_name: Annotated[
        str, typer.Option("--experiment-name", "-n", metavar="NAME", help="Name.")
    ],
    tag: Annotated[
        list[str] | None,
        typer.Option(
            "--tag", "-t", metavar="KEY=VALUE", help="A tag (repeatable).", show_default=False
        ),
    ] = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Create an experiment."""
    pairs = parse_tag_pairs(tag or [])
    store = _store(tracking_uri, create=True)
    experiment = store.create_experiment(experiment_name)
    if pairs:
        store.set_experiment_tags(experiment.experiment_id, pairs)
        experiment = store.get_experiment(experiment.experiment_id)
    _show(
        experiment,
        json_output,
        f"Created experiment {experiment.name!r} with id {experiment.experiment_id}",
    )


def parse_tag_pairs(items: list[str]) -> list[tuple[str, str]]:
    from mlrun_cli.errors import UsageError
    from mlrun_cli.tracking.client import validate_key

    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"tag {item!r}: expected KEY=VALUE")
        try:
            validate_key("tag", key)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        pairs.append((key, value))
    return pairs


@app.command("tag")
@handle_errors
def tag_command(
    tags: Annotated[list[str], typer.Argument(metavar="KEY=VALUE...", help="Tags to set.")],
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Set tags on an experiment (searchable: --filter "tags.team = 'x'")."""
    from mlrun_cli.tracking.queries import find_experiment

    pairs = parse_tag_pairs(tags)
    store = _store(tracking_uri)
    experiment = find_experiment(store, experiment_id, experiment_name)
    store.set_experiment_tags(experiment.experiment_id, pairs)
    from mlrun_cli.cli._table import printable

    tagged = ", ".join(f"{k}={v}" for k, v in pairs)
    typer.echo(printable(f"Tagged experiment {experiment.name!r}: {tagged}"))


ViewOption = Annotated[str, typer.Option("--view", "-v", metavar=VIEW_METAVAR, help=VIEW_HELP)]
FilterOption = Annotated[
    str,
    typer.Option("--filter", metavar="FILTER", help="Filter, e.g. \"name LIKE 'wine%'\"."),
]
MaxResults = Annotated[
    int | None,
    typer.Option(
        "--max-results", metavar="N", min=1, help="At most this many.", show_default=False
    ),
]


@app.command("search")
@handle_errors
def search(
    view: ViewOption = "active",
    filter_text: FilterOption = "",
    max_results: MaxResults = None,
    page_token: Annotated[
        str | None,
        typer.Option(
            "--page-token",
            metavar="TOKEN",
            help="Continue after a previous page.",
            show_default=False,
        ),
    ] = None,
    wide: WideOption = False,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """List experiments, with a filter over their names and tags."""
    search_experiments_command(view, filter_text, max_results, wide=wide, json_output=json_output,
                               tracking_uri=tracking_uri, page_token=page_token)  # fmt: skip


@app.command("csv")
@handle_errors
def csv_command(
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    filename: Annotated[
        str | None,
        typer.Option("--filename", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """An experiment's runs as CSV: every param, metric and tag."""
    import contextlib
    import csv
    import sys
    from pathlib import Path

    from mlrun_cli.cli._columns import all_columns, cell
    from mlrun_cli.tracking.queries import find_experiment, search_runs

    store = _store(tracking_uri)
    experiment = find_experiment(store, experiment_id, experiment_name)
    runs, token = [], None
    while True:
        page = search_runs(store, [experiment.experiment_id], "", None, 1000, token)
        runs += page.runs
        token = page.next_page_token
        if token is None:
            break
    columns = all_columns(runs)
    if filename and not Path(filename).parent.is_dir():
        from mlrun_cli.errors import UsageError

        raise UsageError(f"--filename {filename}: no such folder {Path(filename).parent}")
    with contextlib.ExitStack() as stack:
        handle = (
            stack.enter_context(Path(filename).open("w", newline="", encoding="utf-8"))
            if filename
            else sys.stdout
        )
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for run in runs:
            writer.writerow([cell(run, column, exact=True) for column in columns])


@app.command("get")
@handle_errors
def get(
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Show one experiment."""
    from mlrun_cli.tracking.queries import find_experiment

    experiment = find_experiment(_store(tracking_uri), experiment_id, experiment_name)
    _show(
        experiment,
        json_output,
        f"id: {experiment.experiment_id}\nname: {experiment.name}\n"
        f"lifecycle_stage: {experiment.lifecycle_stage}\n"
        f"created: {format_time(experiment.creation_time)}",
    )


@app.command("rename")
@handle_errors
def rename(
    new_name: Annotated[str, typer.Option("--new-name", metavar="NAME", help="The new name.")],
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Rename an experiment."""
    from mlrun_cli.tracking.queries import find_experiment

    store = _store(tracking_uri)
    experiment = find_experiment(store, experiment_id, experiment_name)
    renamed = store.rename_experiment(experiment.experiment_id, new_name)
    _show(renamed, json_output, f"Renamed experiment {experiment.name!r} to {renamed.name!r}")


def _set_stage(
    stage: str, experiment_id: str | None, experiment_name: str | None,
    json_output: bool, tracking_uri: str | None,
) -> None:  # fmt: skip
    from mlrun_cli.tracking.queries import find_experiment

    store = _store(tracking_uri)
    experiment = find_experiment(store, experiment_id, experiment_name)
    if experiment.lifecycle_stage == stage:
        _show(experiment, json_output, f"Experiment {experiment.name!r} is already {stage}")
        return
    changed = store.set_experiment_stage(experiment.experiment_id, stage)
    verb = "Deleted" if stage == "deleted" else "Restored"
    _show(changed, json_output, f"{verb} experiment {changed.name!r} (id {changed.experiment_id})")


@app.command("delete")
@handle_errors
def delete(
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Soft-delete an experiment (restore brings it back)."""
    _set_stage("deleted", experiment_id, experiment_name, json_output, tracking_uri)


@app.command("restore")
@handle_errors
def restore(
    experiment_id: IdOption = None,
    experiment_name: NameOption = None,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Restore a deleted experiment."""
    _set_stage("active", experiment_id, experiment_name, json_output, tracking_uri)
