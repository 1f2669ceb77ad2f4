"""``mlrun runs metric`` (histories, one run or several side by side) and ``mlrun runs plot``
(their curves, in the terminal or to a file)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli import _complete
from mlrun_cli.cli._options import (
    FormatOption,
    RunIdOption,
    TrackingUri,
    WideOption,
    distinct_run_ids,
    open_cli_store,
    run_ids_from,
)
from mlrun_cli.cli._output import format_number, format_time, handle_errors, print_json
from mlrun_cli.cli.searching import check_format
from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mlrun_cli.cli.plot import Chart
    from mlrun_cli.tracking.models import Metric, Run
    from mlrun_cli.tracking.store import TrackingStore


def histories(store: TrackingStore, runs: list[Run], key: str) -> list[tuple[Run, list[Metric]]]:
    """The runs that logged ``key``, each with its history; the others are named on stderr
    (an error, naming what they have, only when none logged it)."""
    from mlrun_cli.cli._output import note

    found, missing = [], []
    for run in runs:
        history = store.metric_history(run.run_id, key)
        if history:
            found.append((run, history))
        else:
            missing.append(run)
    if not found:
        known = ", ".join(sorted({k for run in runs for k in run.metrics})) or "none"
        if len(runs) == 1:
            raise NotFoundError(f"run {runs[0].run_id} has no metric {key!r}; it has: {known}")
        raise NotFoundError(
            f"none of the {len(runs)} runs has a metric {key!r}; they have: {known}"
        )
    if missing:
        ids = ", ".join(run.run_id[:8] for run in missing)
        note(f"no metric {key!r} in run(s) {ids}: left out")
    return found


@handle_errors
def metric_command(
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="RUN_ID... KEY",
            help="One or more run ids (or prefixes), then the metric's name.",
            autocompletion=_complete.run_ids,
        ),
    ],
    run_id: RunIdOption = None,
    output: FormatOption = "table",
    wide: WideOption = False,
    tracking_uri: TrackingUri = None,
) -> None:
    """A metric's history (step, value, time); several runs side by side."""
    *positional, key = args
    ids = run_ids_from(positional, run_id)
    if not ids:
        raise UsageError("runs metric: give a run id and a metric name (RUN_ID... KEY)")
    output = check_format(output)
    store = open_cli_store(tracking_uri)
    runs = store.get_runs(distinct_run_ids(store, ids))
    pairs = histories(store, runs, key)
    if len(runs) == 1:
        _print_one(runs[0].run_id, key, pairs[0][1], output, wide)
    else:
        _print_many([run for run, _ in pairs], key, [h for _, h in pairs], output, wide)


def _print_one(run_id: str, key: str, history: list[Metric], output: str, wide: bool) -> None:
    from mlrun_cli.cli._table import Table, print_table

    if output == "json":
        print_json({"run_id": run_id, "key": key, "history": [m.to_json() for m in history]})
    elif output == "csv":
        typer.echo("step,value,timestamp")
        for point in history:
            typer.echo(f"{point.step},{point.value!r},{point.timestamp}")
    else:
        table = Table(["step", "value", "time"], right={0, 1})
        for point in history:
            table.add_row(str(point.step), format_number(point.value), format_time(point.timestamp))
        print_table(table, wide=wide)


def _print_many(
    runs: list[Run], key: str, found: list[list[Metric]], output: str, wide: bool
) -> None:
    """One row per step, one column per run (the last value logged at that step)."""
    from mlrun_cli.cli._table import Table, print_table

    by_step = [{point.step: point.value for point in history} for history in found]
    steps = sorted({step for values in by_step for step in values})
    if output == "json":
        print_json({"key": key, "runs": [
            {"run_id": run.run_id, "history": [m.to_json() for m in history]}
            for run, history in zip(runs, found, strict=True)
        ]})  # fmt: skip
    elif output == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["step", *(run.run_id for run in runs)])
        for step in steps:
            writer.writerow([step, *(repr(v[step]) if step in v else "" for v in by_step)])
    else:
        headers = ["step", *(run.run_id[:8] for run in runs)]
        table = Table(headers, right=set(range(len(headers))))
        for step in steps:
            table.add_row(
                str(step), *(format_number(v[step]) if step in v else "-" for v in by_step)
            )
        print_table(table, wide=wide)


def charts_for(store: TrackingStore, runs: list[Run], keys: list[str], x_axis: str) -> list[Chart]:
    """One chart per metric key, one series per run; x is the step or seconds since the
    run's first point."""
    from mlrun_cli.cli.plot import Chart, Series

    if x_axis not in ("step", "time"):
        raise UsageError(f"--x: expected step or time; got {x_axis!r}")
    charts = []
    for key in dict.fromkeys(keys):  # --metric loss --metric loss: one chart
        series = []
        for run, history in histories(store, runs, key):
            ordered = sorted(history, key=lambda m: (m.step, m.timestamp))
            if x_axis == "time":
                ordered = sorted(history, key=lambda m: m.timestamp)
                first = ordered[0].timestamp
                xs = tuple((m.timestamp - first) / 1000 for m in ordered)
            else:
                xs = tuple(float(m.step) for m in ordered)
            series.append(
                Series(f"{run.run_id[:8]} {run.name}", xs, tuple(m.value for m in ordered))
            )
        label = "step" if x_axis == "step" else "seconds since the run's first point"
        charts.append(Chart(key, label, tuple(series)))
    return charts


def draw_curves(
    store: TrackingStore, runs: list[Run], keys: list[str], x_axis: str, target: Path | None
) -> None:
    """The charts on stdout (fitted to the terminal) or written to ``target``."""
    draw_charts(charts_for(store, runs, keys, x_axis), target)


def draw_charts(charts: list[Chart], target: Path | None) -> None:
    """Charts made by ``charts_for`` on stdout (fitted to the terminal) or in ``target``."""
    import os

    from mlrun_cli.cli._output import info
    from mlrun_cli.cli._table import terminal_width
    from mlrun_cli.cli.plot import terminal_chart, write_chart_file

    if target is not None:
        write_chart_file(charts, target)
        info(f"wrote {target}")
        return
    width = terminal_width() or 80
    height = max(12, min(24, width // 4))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    for chart in charts:
        sys.stdout.write(terminal_chart(chart, width, height, colour) + "\n")
    sys.stdout.flush()


def _default_metric(store: TrackingStore, runs: list[Run]) -> list[str]:
    """The metric with the longest history (a curve, not a final value), named on stderr."""
    from mlrun_cli.cli._output import note

    keys = sorted({key for run in runs for key in run.metrics})
    if not keys:
        return []
    points = {
        key: sum(len(store.metric_history(run.run_id, key)) for run in runs if key in run.metrics)
        for key in keys
    }
    chosen = max(keys, key=lambda key: (points[key], -keys.index(key)))
    others = [key for key in keys if key != chosen]
    if others:
        note(f"plotting {chosen} (--metric picks another: {', '.join(others)})")
    return [chosen]


@handle_errors
def plot_command(
    run_ids: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="RUN_ID...",
            help="Runs whose curves to draw (ids or unique prefixes).",
            autocompletion=_complete.run_ids,
            show_default=False,
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", "-m", metavar="KEY", help="Metric to draw (repeatable).", show_default=False
        ),
    ] = None,
    x_axis: Annotated[
        str, typer.Option("--x", metavar="[step|time]", help="The x axis: step or time.")
    ] = "step",
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write a .svg or .html file (or .png with the plot extra) instead.",
            show_default=False,
        ),
    ] = None,
    run_id: RunIdOption = None,
    tracking_uri: TrackingUri = None,
) -> None:
    """Draw the metric curves of runs, in the terminal or to a file."""
    ids = run_ids_from(run_ids, run_id)
    if not ids:
        raise UsageError("runs plot: give one or more run ids")
    # The options are checked first: an error is the only line printed.
    if x_axis not in ("step", "time"):
        raise UsageError(f"--x: expected step or time; got {x_axis!r}")
    if output is not None and output.suffix.lower() not in (".png", ".svg", ".html", ".htm"):
        raise UsageError(f"--output {output}: expected a .png, .svg or .html file")
    if output is not None and not output.parent.is_dir():
        raise UsageError(f"--output {output}: no such folder {output.parent}")
    store = open_cli_store(tracking_uri)
    runs = store.get_runs(distinct_run_ids(store, ids))
    keys = metric or _default_metric(store, runs)
    if not keys:
        raise UsageError("runs plot: the runs logged no metrics")
    draw_curves(store, runs, keys, x_axis, output)
