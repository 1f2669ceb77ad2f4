"""``mlrun runs ...``: list and inspect recorded runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._output import (
    STATUS_STYLES,
    format_number,
    format_time,
    handle_errors,
    print_json,
)
from mlrun_cli.cli.experiments import JsonOption, _store
from mlrun_cli.cli.run import TrackingUri

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

app = typer.Typer(help="Search and inspect runs.", no_args_is_help=True)


@app.command("search")
@handle_errors
def search(
    experiment_name: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment-name", "-n", help="Experiment name (repeatable).", show_default=False
        ),
    ] = None,
    experiment_id: Annotated[
        list[str] | None,
        typer.Option(
            "--experiment-id", "-x", help="Experiment id (repeatable).", show_default=False
        ),
    ] = None,
    max_results: Annotated[
        int, typer.Option("--max-results", min=1, help="At most this many runs.")
    ] = 1000,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """List runs, newest first (every active experiment unless one is named)."""
    from mlrun_cli.tracking.queries import experiment_ids_for

    store = _store(tracking_uri)
    ids = experiment_ids_for(store, experiment_name or [], experiment_id or [])
    found = store.list_runs(ids, max_results) if ids else []
    if json_output:
        print_json({"runs": [run.to_json() for run in found]})
        return
    _print_table(found)


def _varying(values: list[dict[str, str]]) -> list[str]:
    """Keys whose values differ across the rows (all keys when there is a single row)."""
    keys = sorted({key for row in values for key in row})
    if len(values) < 2:
        return keys
    return [key for key in keys if len({row.get(key) for row in values}) > 1]


def _print_table(found: list[Run]) -> None:
    from mlrun_cli.cli._table import Table, print_table

    params = [{p.key: p.value for p in run.params} for run in found]
    metrics = [{k: format_number(m.value) for k, m in run.metrics.items()} for run in found]
    param_keys, metric_keys = _varying(params), _varying(metrics)
    headers = ["Run ID", "Name", "Status", "Started"]
    headers += [f"params.{key}" for key in param_keys]
    headers += [f"metrics.{key}" for key in metric_keys]
    first_metric = 4 + len(param_keys)
    table = Table(headers, right=set(range(first_metric, len(headers))))
    for run, run_params, run_metrics in zip(found, params, metrics, strict=True):
        table.add_row(
            run.run_id[:8],
            run.name,
            (run.status, STATUS_STYLES.get(run.status, "33")),
            format_time(run.start_time),
            *(run_params.get(key, "") for key in param_keys),
            *(run_metrics.get(key, "") for key in metric_keys),
        )
    print_table(table)


def _environment_line(run: Run) -> str:
    env = run.to_json()["environment"]
    text = f"{env['manager'] or '?'}, Python {env['python'] or '?'}"
    if env["lock_sha256"]:
        text += f", {len(env['packages'])} packages (lock sha256 {env['lock_sha256'][:12]})"
    return text


@app.command("show")
@handle_errors
def show(
    run_id: Annotated[str, typer.Argument(help="The run id (or a unique prefix of it).")],
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Show everything recorded about one run."""
    store = _store(tracking_uri)
    run = store.get_run(store.resolve_run_id(run_id))
    if json_output:
        print_json(run.to_json())
        return
    experiment = store.get_experiment(run.experiment_id)
    code = run.code
    if code.commit:
        version = f"{code.commit}{' (dirty)' if code.dirty else ''}"
    else:
        version = f"content sha256 {code.content_hash}"
    duration = f"{(run.end_time - run.start_time) / 1000:.1f}s" if run.end_time else "-"
    lines = [
        ("run id", run.run_id),
        ("name", run.name),
        ("experiment", f"{experiment.name} (id {experiment.experiment_id})"),
        ("status", run.status + (f" ({run.status_reason})" if run.status_reason else "")),
        ("exit code", "-" if run.exit_code is None else str(run.exit_code)),
        ("started", format_time(run.start_time)),
        ("duration", duration),
        ("user@host", f"{run.user}@{run.host}"),
        (
            "source",
            f"{code.uri} [{code.kind}]" + (f" #{code.subdirectory}" if code.subdirectory else ""),
        ),
        ("code", version),
        ("environment", _environment_line(run)),
        ("entry point", run.entry_point),
        ("command", run.command),
        ("artifacts", run.artifact_uri),
    ]
    out = [f"{label + ':':<12} {value}" for label, value in lines]
    for title, items in (
        ("params", [(p.key, p.value) for p in run.params]),
        ("metrics", [(k, format_number(m.value)) for k, m in sorted(run.metrics.items())]),
        ("tags", sorted(run.tags.items())),
        ("files", [(a.path, f"{a.size} bytes  sha256:{a.sha256[:12]}") for a in run.artifacts]),
    ):
        if items:
            out.append(f"{title}:")
            out.extend(f"  {key} = {value}" for key, value in items)
    typer.echo("\n".join(out))
