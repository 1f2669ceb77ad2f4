"""One run: its record, metric charts, code and dirty patch, environment, data, artifacts."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.responses import JSONResponse, Response, StreamingResponse

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.ui.artifacts import PREVIEW_BYTES, diff_lines, preview, read_text
from mlrun_cli.ui.columns import format_duration, format_number, format_time

if TYPE_CHECKING:
    from collections.abc import Iterator

    from starlette.requests import Request

    from mlrun_cli.artifacts.run import ArtifactInfo
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore
    from mlrun_cli.ui.app import Ui

DIRTY_PATCH = "_mlrun/dirty.patch"
OUTPUT_LOG = "_mlrun/output.log"
LOG_TAIL_BYTES = 64 * 1024
CHART_BUCKETS = 600
DOWNLOAD_CHUNK = 1 << 20


def _run(store: TrackingStore, request: Request) -> Run:
    run_id = store.resolve_run_id(request.path_params["run_id"])
    return store.get_run(run_id)


def _artifact_text(store: TrackingStore, run: Run, path: str, limit: int) -> str | None:
    try:
        data = store.artifacts(run.run_id).read_bytes(path, 0, limit + 1)
    except NotFoundError:
        return None
    read = read_text(data, limit)
    return None if read is None else read[0]


def _log_tail(store: TrackingStore, run: Run) -> tuple[str, bool] | None:
    files = store.artifacts(run.run_id)
    found = files.info(OUTPUT_LOG)
    if found is None:
        return None
    data = files.read_bytes(OUTPUT_LOG, max(0, found.size - LOG_TAIL_BYTES))
    return data.decode("utf-8", errors="replace"), found.size > LOG_TAIL_BYTES


def _artifact(store: TrackingStore, run: Run, path: str) -> ArtifactInfo:
    """The run's file ``path``; a path that could leave the run is no artifact either."""
    try:
        found = store.artifacts(run.run_id).info(path)
    except UsageError:
        found = None
    if found is None:
        raise NotFoundError(f"run {run.run_id} has no artifact {path!r}")
    return found


def _summary(run: Run) -> dict[str, Any]:
    return {
        "started": format_time(run.start_time),
        "ended": format_time(run.end_time),
        "duration": format_duration(run.start_time, run.end_time),
        "metrics": [(k, format_number(m.value), m.step) for k, m in sorted(run.metrics.items())],
    }


def run_page(ui: Ui, request: Request) -> Response:
    """Everything recorded about one run."""
    with ui.store() as store:
        run = _run(store, request)
        experiment = store.get_experiment(run.experiment_id)
        patch = _artifact_text(store, run, DIRTY_PATCH, 512 * 1024)
        log = _log_tail(store, run)
    env = run.environment
    artifacts = [a for a in run.artifacts if a.path not in (DIRTY_PATCH, OUTPUT_LOG)]
    return ui.render(
        request,
        "run.html",
        title=run.name or run.run_id,
        run=run,
        experiment=experiment,
        summary=_summary(run),
        params=sorted(run.params, key=lambda p: p.key),
        tags=sorted((k, v) for k, v in run.tags.items()),
        patch=None if patch is None else diff_lines(patch),
        log=log,
        env=env,
        packages=sorted(env["packages"].items(), key=lambda kv: kv[0].lower()),
        artifacts=artifacts,
        reproduce=f"mlrun reproduce {shlex.quote(run.run_id)} --verify",
        chart_keys=sorted(run.metrics),
    )


def live_fragment(ui: Ui, request: Request) -> Response:
    """The status block of a run, polled by htmx while the run is RUNNING."""
    with ui.store() as store:
        run = _run(store, request)
    return ui.render(request, "run_live.html", run=run, summary=_summary(run))


def metrics_json(ui: Ui, request: Request) -> Response:
    """Every metric's history of one run, downsampled for a chart ``width`` pixels wide."""
    from mlrun_cli.tracking.histories import downsampled_histories

    buckets = _buckets(request)
    with ui.store() as store:
        run = _run(store, request)
        charts = {}
        for key in sorted(run.metrics):
            series = downsampled_histories(store, [run.run_id], key, buckets).series[0]
            charts[key] = {"steps": series.steps, "values": series.values}
    return JSONResponse({"status": run.status, "metrics": charts})


def _buckets(request: Request) -> int:
    text = request.query_params.get("width", "")
    try:
        width = int(text) if text else CHART_BUCKETS * 2
    except ValueError:
        width = CHART_BUCKETS * 2
    return max(10, min(width, 4000)) // 2


def artifact_page(ui: Ui, request: Request) -> Response:
    """A preview of one artifact (text, JSON, CSV head, image, diff) with a download link."""
    path = request.path_params["path"]
    with ui.store() as store:
        run = _run(store, request)
        found = _artifact(store, run, path)
        shown = preview(path, store.artifacts(run.run_id).read_bytes(path, 0, PREVIEW_BYTES + 1))
    return ui.render(
        request,
        "artifact.html",
        title=path,
        run=run,
        path=path,
        size=found.size,
        preview=shown,
        lines=diff_lines(shown.text) if shown.kind == "diff" else [],
    )


def artifact_raw(ui: Ui, request: Request) -> Response:
    """The artifact's bytes (images inline, everything else as a download), streamed."""
    path = request.path_params["path"]
    with ui.store() as store:
        run = _run(store, request)
        found = _artifact(store, run, path)
        head = store.artifacts(run.run_id).read_bytes(path, 0, PREVIEW_BYTES + 1)
    shown = preview(path, head) if request.query_params.get("inline") else None
    body = _chunks(ui, run.run_id, path, found.size)
    if shown is not None and shown.kind == "image":
        return StreamingResponse(body, media_type=shown.media_type)
    name = path.rsplit("/", 1)[-1]
    return StreamingResponse(
        body,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f"attachment; filename*=utf-8''{quote(name)}",
            "Content-Length": str(found.size),
            "X-Content-Type-Options": "nosniff",
        },
    )


def _chunks(ui: Ui, run_id: str, path: str, size: int) -> Iterator[bytes]:
    """The file's first ``size`` bytes (its declared Content-Length: a file still growing
    sends no more), a chunk at a time (a store of its own: the page's is closed)."""
    with ui.store() as store:
        files = store.artifacts(run_id)
        for offset in range(0, size, DOWNLOAD_CHUNK):
            chunk = files.read_bytes(path, offset, min(DOWNLOAD_CHUNK, size - offset))
            if not chunk:
                return  # shrunk meanwhile: the client sees a short body, not a crash
            yield chunk
