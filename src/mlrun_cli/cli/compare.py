"""``mlrun runs compare``: what differs between runs, field by field and package by package.

Metrics show their change against the first run (``+0.012 -3.1%``) as ``dvc metrics diff``
does. On a terminal only the rows that differ are shown (``--all`` shows every row).
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._columns import cell, display, short_hash
from mlrun_cli.cli._options import (
    JsonOption,
    RunIdOption,
    TrackingUri,
    WideOption,
    distinct_run_ids,
    open_cli_store,
    run_ids_from,
)
from mlrun_cli.cli._output import handle_errors, info, print_json

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

Row = tuple[str, list[str], bool]  # field, one value per run, whether they differ


def compare_rows(runs: list[Run]) -> list[Row]:
    """Every compared field with its values; packages only where the env locks differ."""
    fields = ["status", "entry_point", "commit", "dirty"]
    fields += sorted({f"params.{p.key}" for run in runs for p in run.params})
    fields += sorted({f"metrics.{k}" for run in runs for k in run.metrics})
    rows: list[Row] = []
    for field in fields:
        values = [cell(run, field) for run in runs]
        rows.append((field, values, len(set(values)) > 1))
    extra: list[tuple[str, list[str]]] = [
        ("code hash", [r.code.content_hash or "" for r in runs]),
        ("data fingerprint", [r.data.fingerprint if r.data else "" for r in runs]),
        ("python", [str(r.environment["python"] or "") for r in runs]),
        ("env lock", [r.env_lock_hash or "" for r in runs]),
    ]
    rows += [(name, values, len(set(values)) > 1) for name, values in extra]
    locks = [dict(run.environment["packages"]) for run in runs]
    for name in sorted({name for lock in locks for name in lock}):
        versions = [lock.get(name, "-") for lock in locks]
        if len(set(versions)) > 1:
            rows.append((f"package {name}", versions, True))
    return rows


def metric_delta(base: float, value: float) -> tuple[float, float | None] | None:
    """(change, percent change) of ``value`` against ``base``; None when either is not finite."""
    if not (math.isfinite(base) and math.isfinite(value)):
        return None
    change = value - base
    return change, (change / abs(base) * 100 if base else None)


def delta_text(base: float, value: float) -> str:
    """``+0.012 +1.7%`` (the percent is left out against 0)."""
    delta = metric_delta(base, value)
    if delta is None or delta[0] == 0:
        return ""
    change, percent = delta
    text = f"{change:+.4g}"
    return text + (f" {percent:+.1f}%" if percent is not None else "")


def _json_deltas(runs: list[Run], key: str) -> list[dict[str, float | None] | None]:
    base = runs[0].metrics.get(key)
    out: list[dict[str, float | None] | None] = []
    for run in runs:
        metric = run.metrics.get(key)
        delta = None if base is None or metric is None else metric_delta(base.value, metric.value)
        out.append(None if delta is None else {"change": delta[0], "percent": delta[1]})
    return out


def json_values(runs: list[Run], field: str, values: list[str]) -> list[object]:
    """A row's values for ``--json``: the stored float of a metric, the whole text of anything
    else, None where a run has no such value."""
    if field.startswith("metrics."):
        metrics = [run.metrics.get(field[8:]) for run in runs]
        return [None if metric is None else metric.value for metric in metrics]
    if field.startswith("params."):
        present = [{p.key for p in run.params} for run in runs]
        return [v if field[7:] in keys else None for v, keys in zip(values, present, strict=True)]
    if field.startswith("package "):
        name = field[8:]
        return [dict(run.environment["packages"]).get(name) for run in runs]
    return [value or None for value in values]


FIELD_FLOOR = 20  # the field column is cut (in its middle) to this before runs are dropped


def print_comparison(runs: list[Run], rows: list[Row], *, only_diff: bool, wide: bool) -> None:
    """A table with one column per run; differing rows are marked ``*`` (and coloured)."""
    from mlrun_cli.cli._table import GAP, Table, elide_middle, print_table, terminal_width, width_of

    # Field names are cut in the middle (metrics.train_loss / metrics.train_rmse stay apart),
    # to FIELD_FLOOR, before run columns are dropped; the first run's column always stays.
    table = Table(["", "field", *(display(run, "run_id") for run in runs)], keep={1, 2},
                  middle={1}, floor={1: FIELD_FLOOR})  # fmt: skip
    width = terminal_width(wide)
    kept = [row for row in rows if not (only_diff and not row[2])]
    field_width = min(max((width_of(f) for f, _, _ in kept), default=5), FIELD_FLOOR)
    budget = None if width is None else (width - 1 - field_width - GAP * (len(runs) + 1))
    room = None if budget is None else max(budget // len(runs), 8)
    hidden = 0
    for field, values, differs in rows:
        if only_diff and not differs:
            hidden += 1
            continue
        style = "33" if differs else ""
        texts = [_shown(field, value) for value in values]
        if field.startswith("metrics.") and differs:
            texts = [
                texts[0],
                *(_with_delta(runs, field, i, t, room) for i, t in enumerate(texts[1:], 1)),
            ]
        table.add_row("*" if differs else "", field, *((text or "-", style) for text in texts))
    if width is not None and table.rows:
        # The field column takes what the runs' values leave (not less than FIELD_FLOOR):
        # values are shown whole where they fit, field names are cut in their middle.
        used = sum(
            max(8, *(width_of(row[i][0]) for row in table.rows)) for i in range(2, len(runs) + 2)
        )
        room_for_field = max(FIELD_FLOOR, width - 1 - GAP * (len(runs) + 1) - used)
        for row in table.rows:
            row[1] = (elide_middle(row[1][0], room_for_field), row[1][1])
    print_table(table, wide=wide)
    if hidden:
        info(f"{hidden} identical row(s) hidden (--all shows them)")


def _shown(field: str, value: str) -> str:
    hashes = ("commit", "code hash", "data fingerprint", "env lock")
    return short_hash(value) if field in hashes else value


def _with_delta(runs: list[Run], field: str, index: int, text: str, room: int | None) -> str:
    """The value with its change against the first run, in ``room`` columns: the change and
    percent, else the percent alone (several runs), else the change alone, else the value alone
    (a number is never cut mid-way)."""
    key = field.removeprefix("metrics.")
    base, metric = runs[0].metrics.get(key), runs[index].metrics.get(key)
    if base is None or metric is None:
        return text
    delta = delta_text(base.value, metric.value)
    if not delta:
        return text
    change, _, percent = delta.partition(" ")
    forms = [delta] if len(runs) <= 2 or not percent else []
    forms += [form for form in (percent, change) if form]
    for form in forms:
        shown = f"{text} ({form})"
        if room is None or len(shown) <= room:
            return shown
    return text


@handle_errors
def compare_command(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN_ID...",
            help="Two or more run ids (or unique prefixes); the first is the baseline.",
            autocompletion=_complete.run_ids,
            show_default=False,
        ),
    ] = None,
    run_id: RunIdOption = None,
    show_all: Annotated[
        bool, typer.Option("--all", help="Show identical rows too (the default when piped).")
    ] = False,
    only_diff: Annotated[
        bool,
        typer.Option("--only-diff", help="Show only rows that differ (the default on a terminal)."),
    ] = False,
    plot: Annotated[
        list[str] | None,
        typer.Option(
            "--plot",
            metavar="KEY",
            help="Also draw this metric's curves for the runs (repeatable).",
            show_default=False,
        ),
    ] = None,
    wide: WideOption = False,
    json_output: JsonOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """Runs side by side: params, metric deltas, code, data, packages."""
    from mlrun_cli.errors import UsageError

    ids = run_ids_from(run_ids, run_id)
    if len(ids) < 2:
        raise UsageError("runs compare: give at least two run ids")
    if show_all and only_diff:
        raise UsageError("give --all or --only-diff, not both")
    store = open_cli_store(tracking_uri)
    distinct = distinct_run_ids(store, ids)
    if len(distinct) < 2:
        raise UsageError(f"runs compare: {', '.join(ids)} name one run; give at least two runs")
    runs = store.get_runs(distinct)
    rows = compare_rows(runs)
    if json_output:
        table = [
            {"field": f, "values": json_values(runs, f, v), "differs": d}
            | ({"deltas": _json_deltas(runs, f[8:])} if f.startswith("metrics.") else {})
            for f, v, d in rows
        ]
        print_json({"run_ids": [r.run_id for r in runs], "rows": table})
        return
    charts = None
    if plot:  # an unknown metric fails before the table is printed
        from mlrun_cli.cli.metrics import charts_for

        charts = charts_for(store, runs, plot, "step")
    diff = only_diff or (not show_all and sys.stdout.isatty())
    print_comparison(runs, rows, only_diff=diff, wide=wide)
    if charts:
        from mlrun_cli.cli.metrics import draw_charts

        draw_charts(charts, None)
