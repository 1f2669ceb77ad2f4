"""``mlrun runs ...``: list and inspect recorded runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._columns import all_columns, cell, varying_columns
from mlrun_cli.cli._output import (
    STATUS_STYLES,
    format_number,
    format_time,
    handle_errors,
    info,
    print_json,
)
from mlrun_cli.cli.experiments import JsonOption, _store
from mlrun_cli.cli.run import TrackingUri
from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

app = typer.Typer(help="Search and inspect runs.", no_args_is_help=True)


FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="Output: table (people), json or csv (machines).")
]


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
    filter_text: Annotated[
        str,
        typer.Option("--filter", help="e.g. \"params.alpha = '0.5' and metrics.rmse < 0.8\""),
    ] = "",
    order_by: Annotated[
        list[str] | None,
        typer.Option(
            "--order-by",
            help="KEY [ASC|DESC], repeatable (default: start_time DESC; NULLs last).",
            show_default=False,
        ),
    ] = None,
    max_results: Annotated[
        int, typer.Option("--max-results", min=1, help="At most this many runs (a page).")
    ] = 1000,
    page_token: Annotated[
        str | None,
        typer.Option("--page-token", help="Continue after a previous page.", show_default=False),
    ] = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns",
            help="Comma-separated, e.g. run_id,params.alpha,metrics.rmse.",
            show_default=False,
        ),
    ] = None,
    view: Annotated[str, typer.Option("--view", help="active, deleted or all runs.")] = "active",
    output: FormatOption = "table",
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Search runs with MLflow's filter syntax (plus OR, NOT and parentheses)."""
    from mlrun_cli.tracking.queries import experiment_ids_for, search_runs

    output = _check_format("json" if json_output else output)
    store = _store(tracking_uri)
    ids = experiment_ids_for(store, experiment_name or [], experiment_id or [])
    page = search_runs(store, ids, filter_text, order_by, max_results, page_token, view)
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    if output == "json":
        print_json({"runs": [run.to_json() for run in page.runs],
                    "next_page_token": page.next_page_token})  # fmt: skip
    elif output == "csv":
        _print_csv(page.runs, chosen or all_columns(page.runs))
    else:
        _print_table(page.runs, chosen)
        if page.next_page_token:
            info(f"more runs: --page-token {page.next_page_token}")


def _check_format(output: str) -> str:
    if output not in ("table", "json", "csv"):
        raise UsageError(f"--format: expected one of table, json, csv; got {output!r}")
    return output


def _print_csv(runs: list[Run], columns: list[str]) -> None:
    import csv
    import sys

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    for run in runs:
        writer.writerow([cell(run, column, exact=True) for column in columns])


def _print_table(found: list[Run], columns: list[str] | None) -> None:
    from mlrun_cli.cli._table import Table, print_table

    if columns is None:
        columns = ["run_id", "run_name", "status", "start_time", *varying_columns(found)]
    for column in columns:
        if found:
            cell(found[0], column)  # unknown names fail here, before printing anything
    headers = list(columns)
    right = {i for i, c in enumerate(columns) if c.startswith("metrics.")}
    table = Table(headers, right=right)
    for run in found:
        table.add_row(*(_styled_cell(run, column) for column in columns))
    print_table(table)


def _styled_cell(run: Run, column: str) -> str | tuple[str, str]:
    if column == "run_id":
        return run.run_id[:8]
    if column == "status":
        return (run.status, STATUS_STYLES.get(run.status, "33"))
    return cell(run, column)


def _environment_line(run: Run) -> str:
    env = run.environment
    text = f"{env['manager'] or '?'}, Python {env['python'] or '?'}"
    if env["lock_sha256"]:
        text += f", {len(env['packages'])} packages (lock sha256 {env['lock_sha256'][:12]})"
    return text


def _data_line(run: Run) -> str:
    data = run.data
    if data is None:
        return "-"
    text = f"fingerprint {data.fingerprint[:12]}, {len(data.pins)} pinned path(s)"
    if data.revision:
        text += f", pins from {data.revision}"
    if data.dirty:
        text += ", DIRTY (actual hashes recorded)"
    if data.remote:
        text += f", remote {data.remote}"
    if data.pulled:
        text += f", fetched {len(data.pulled)} object(s)"
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
        version = code.commit + (f" ({code.version})" if code.version else "")
        if code.dirty:
            version += (
                f" + dirty snapshot sha256 {code.snapshot_sha256[:12]} (_mlrun/dirty.patch)"
                if code.snapshot_sha256
                else " (dirty, not recorded)"
            )
    else:
        version = f"content sha256 {code.content_hash}"
    duration = f"{(run.end_time - run.start_time) / 1000:.1f}s" if run.end_time else "-"
    lines = [
        ("run id", run.run_id),
        ("name", run.name),
        ("experiment", f"{experiment.name} (id {experiment.experiment_id})"),
        *((("parent run", run.parent_run_id),) if run.parent_run_id else ()),
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
        ("data", _data_line(run)),
        ("entry point", run.entry_point),
        ("fingerprint", run.fingerprint or "-"),
        ("command", run.command),
        ("artifacts", run.artifact_uri),
    ]
    out = [f"{label + ':':<12} {value}" for label, value in lines]
    for title, items in (
        ("params", [(p.key, p.value) for p in run.params]),
        ("metrics", [(k, format_number(m.value)) for k, m in sorted(run.metrics.items())]),
        ("tags", sorted(run.tags.items())),
        (
            "data pins",
            [
                (p.path, p.md5 + ("" if p.is_output else "  (dependency)"))
                for p in (run.data.pins if run.data else ())
            ],
        ),
        ("files", [(a.path, f"{a.size} bytes  sha256:{a.sha256[:12]}") for a in run.artifacts]),
    ):
        if items:
            out.append(f"{title}:")
            out.extend(f"  {key} = {value}" for key, value in items)
    typer.echo("\n".join(out))


RunIdArgument = Annotated[str, typer.Argument(help="A run id (or a unique prefix, 4+ chars).")]


def _set_stage(run_id: str, stage: str, tracking_uri: str | None) -> None:
    store = _store(tracking_uri)
    full = store.resolve_run_id(run_id)
    store.set_run_stage(full, stage)
    typer.echo(f"{'Deleted' if stage == 'deleted' else 'Restored'} run {full}")


@app.command("delete")
@handle_errors
def delete(run_id: RunIdArgument, tracking_uri: TrackingUri = None) -> None:
    """Soft-delete a run (hidden from searches; `runs restore` brings it back)."""
    _set_stage(run_id, "deleted", tracking_uri)


@app.command("restore")
@handle_errors
def restore(run_id: RunIdArgument, tracking_uri: TrackingUri = None) -> None:
    """Restore a deleted run."""
    _set_stage(run_id, "active", tracking_uri)


@app.command("tag")
@handle_errors
def tag(
    run_id: RunIdArgument,
    tags: Annotated[list[str], typer.Argument(help="KEY=VALUE pairs.")],
    tracking_uri: TrackingUri = None,
) -> None:
    """Set tags on a run (existing keys are overwritten)."""
    from mlrun_cli.cli.experiments import parse_tag_pairs
    from mlrun_cli.tracking.models import EventBatch

    pairs = parse_tag_pairs(tags)
    store = _store(tracking_uri)
    full = store.resolve_run_id(run_id)
    store.log_batch(full, EventBatch(tags=tuple(pairs)))
    typer.echo(f"Tagged run {full}: " + ", ".join(f"{k}={v}" for k, v in pairs))


@app.command("metric")
@handle_errors
def metric(
    run_id: RunIdArgument,
    key: Annotated[str, typer.Argument(help="The metric's name.")],
    output: FormatOption = "table",
    tracking_uri: TrackingUri = None,
) -> None:
    """A metric's whole history: step, value, time."""
    from mlrun_cli.cli._table import Table, print_table
    from mlrun_cli.errors import NotFoundError

    store = _store(tracking_uri)
    full = store.resolve_run_id(run_id)
    history = store.metric_history(full, key)
    if not history:
        known = ", ".join(sorted(store.get_run(full).metrics)) or "none"
        raise NotFoundError(f"run {full} has no metric {key!r}; it has: {known}")
    output = _check_format(output)
    if output == "json":
        print_json({"run_id": full, "key": key, "history": [m.to_json() for m in history]})
    elif output == "csv":
        typer.echo("step,value,timestamp")
        for point in history:
            typer.echo(f"{point.step},{point.value!r},{point.timestamp}")
    else:
        table = Table(["step", "value", "time"], right={0, 1})
        for point in history:
            when = format_time(point.timestamp)
            table.add_row(str(point.step), format_number(point.value), when)
        print_table(table)


@app.command("compare")
@handle_errors
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes).")],
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Runs side by side: params, metrics, code, data and the environment, package by package."""
    from mlrun_cli.cli.compare import compare_rows, print_comparison

    if len(run_ids) < 2:
        raise UsageError("runs compare: give at least two run ids")
    store = _store(tracking_uri)
    runs = store.get_runs([store.resolve_run_id(run_id) for run_id in run_ids])
    rows = compare_rows(runs)
    if json_output:
        table = [{"field": f, "values": v, "differs": d} for f, v, d in rows]
        print_json({"run_ids": [r.run_id for r in runs], "rows": table})
        return
    print_comparison(runs, rows)
