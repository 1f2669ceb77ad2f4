"""Comparing 2 to hundreds of runs: differences, curves, parallel coordinates, env and data."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, Response

from mlrun_cli.errors import UsageError
from mlrun_cli.ui.compare import compare_rows, data_diff, env_diff, plot_table

if TYPE_CHECKING:
    from starlette.requests import Request

    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore
    from mlrun_cli.ui.app import Ui

MAX_RUNS = 1000
TRANSPOSE_AT = 12  # up to this many runs: one column per run; more: one row per run


def requested_ids(request: Request) -> list[str]:
    """Run ids from ``?run=A&run=B`` and/or ``?runs=A,B``, in order, without repeats."""
    ids = list(request.query_params.getlist("run"))
    for text in request.query_params.getlist("runs"):
        ids += [part for part in text.split(",") if part.strip()]
    ids = list(dict.fromkeys(i.strip() for i in ids))
    if len(ids) > MAX_RUNS:
        raise UsageError(f"compare: at most {MAX_RUNS} runs at once; got {len(ids)}")
    return ids


def _runs(store: TrackingStore, ids: list[str]) -> list[Run]:
    resolved = list(dict.fromkeys(store.resolve_run_id(i) for i in ids))
    return store.get_runs(resolved)


def compare_page(ui: Ui, request: Request) -> Response:
    """Differences only (by default), curves, parallel coordinates, scatter, env and data."""
    ids = requested_ids(request)
    if len(ids) < 2:
        raise UsageError(f"compare: select at least 2 runs (got {len(ids)})")
    with ui.store() as store:
        runs = _runs(store, ids)
        names = {e.experiment_id: e.name for e in store.search_experiments("all")}
    rows = compare_rows(runs)
    env = env_diff(runs)
    data = data_diff(runs)
    metric_keys = sorted({k for r in runs for k in r.metrics})
    return ui.render(
        request,
        "compare.html",
        title=f"Compare {len(runs)} runs",
        runs=runs,
        rows=rows,
        env=env,
        data=data,
        differing=sum(row.differs for row in rows),
        env_differing=sum(row.differs for row in env),
        data_differing=sum(row.differs for row in data),
        transpose=len(runs) <= TRANSPOSE_AT,
        metric_keys=metric_keys,
        plot=plot_table(runs),
        experiment_names=names,
    )


def curves_json(ui: Ui, request: Request) -> Response:
    """One metric of many runs, downsampled per pixel bucket: ``{x: [...], series: [...]}``."""
    from mlrun_cli.tracking.histories import downsampled_histories

    ids = requested_ids(request)
    key = request.query_params.get("key", "")
    try:
        width = int(request.query_params.get("width", "") or 1000)
    except ValueError:
        width = 1000
    buckets = max(10, min(width, 4000)) // 2
    with ui.store() as store:
        runs = _runs(store, ids)
        histories = downsampled_histories(store, [r.run_id for r in runs], key, buckets)
    names = {r.run_id: r.name or r.run_id[:8] for r in runs}
    # One shared x axis (uPlot's aligned data): the union of every series' bucket positions.
    xs = sorted({x for s in histories.series for x in s.steps})
    where = {x: i for i, x in enumerate(xs)}
    series = []
    for s in histories.series:
        ys: list[float | None] = [None] * len(xs)
        for x, y in zip(s.steps, s.values, strict=True):
            ys[where[x]] = None if y is None else float(f"{y:.6g}")
        series.append({"id": s.run_id, "name": names[s.run_id], "values": ys})
    return JSONResponse(
        {"key": key, "bucket_width": histories.bucket_width, "x": xs, "series": series}
    )
