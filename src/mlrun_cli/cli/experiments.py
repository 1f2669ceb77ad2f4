"""``mlrun experiments ...``: create, search, get, rename, delete, restore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._output import format_time, handle_errors, print_json
from mlrun_cli.cli.run import TrackingUri

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Experiment
    from mlrun_cli.tracking.store import TrackingStore

app = typer.Typer(help="Create, search and manage experiments.", no_args_is_help=True)

IdOption = Annotated[str | None, typer.Option("--experiment-id", "-x", help="Experiment id.")]
NameOption = Annotated[str | None, typer.Option("--experiment-name", "-n", help="Experiment name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def _store(tracking_uri: str | None, *, create: bool = False) -> TrackingStore:
    """The store, with orphaned runs reaped. Only commands that record create it."""
    from mlrun_cli._system import hostname
    from mlrun_cli.tracking.ingest import reap_orphans
    from mlrun_cli.tracking.store import open_store

    store = open_store(tracking_uri, create=create)
    reap_orphans(store, hostname())
    return store


def _show(experiment: Experiment, json_output: bool, message: str) -> None:
    if json_output:
        print_json(experiment.to_json())
    else:
        typer.echo(message)


@app.command("create")
@handle_errors
def create(
    experiment_name: Annotated[str, typer.Option("--experiment-name", "-n", help="Name.")],
    tag: Annotated[
        list[str] | None,
        typer.Option("--tag", "-t", help="KEY=VALUE (repeatable).", show_default=False),
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
    tags: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
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
    typer.echo(f"Tagged experiment {experiment.name!r}: " + ", ".join(f"{k}={v}" for k, v in pairs))


@app.command("search")
@handle_errors
def search(
    view: Annotated[
        str, typer.Option("--view", "-v", help="Which experiments: active, deleted or all.")
    ] = "active",
    filter_text: Annotated[
        str, typer.Option("--filter", help="Filter, e.g. \"name LIKE 'wine%'\".")
    ] = "",
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """List experiments."""
    from mlrun_cli.tracking.queries import search_experiments

    found = search_experiments(_store(tracking_uri), view, filter_text)
    if json_output:
        print_json({"experiments": [e.to_json() for e in found]})
        return
    from mlrun_cli.cli._table import Table, print_table

    table = Table(["ID", "Name", "Stage", "Created"], right={0})
    for experiment in found:
        table.add_row(
            experiment.experiment_id,
            experiment.name,
            experiment.lifecycle_stage,
            format_time(experiment.creation_time),
        )
    print_table(table)


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
    new_name: Annotated[str, typer.Option("--new-name", help="The new name.")],
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
