"""MLflow's tracking endpoints as plain functions over the TrackingStore, and the route table.

``handle(session, request) -> response`` is all a server needs: the loopback endpoint of
``mlrun run`` mounts it, and so can a team server. Every write is idempotent: a client that
retries a request (MLflow's does, for minutes) never records anything twice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import MlrunError, NotFoundError, StoreError, UsageError
from mlrun_cli.mlflow_compat.protocol import (
    API,
    MlflowError,
    Request,
    Response,
    error_response,
    integer,
    invalid,
    key_values,
    metric_json,
    missing,
    number,
    required,
    run_json,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking import models
from mlrun_cli.tracking.models import EventBatch, Metric, Param

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.models import Run

    Handler = Callable[[Session, dict[str, Any]], dict[str, Any]]

RESERVED_TAG_PREFIX = "mlrun."
RUN_NAME_TAG = "mlflow.runName"
TERMINAL = (models.FINISHED, models.FAILED, models.KILLED)


def _now_ms() -> int:
    return int(time.time() * 1000)


def get_run(session: Session, run_id: str) -> Run:
    """A run, or MLflow's RESOURCE_DOES_NOT_EXIST."""
    try:
        run = session.store.get_run(run_id)
    except NotFoundError:
        raise missing(f"Run with id={run_id} not found") from None
    session.known_runs.add(run_id)
    return run


def own_run(session: Session, run_id: str) -> None:
    """Refuse writes to a run this session may not change (``Session.may_write``)."""
    if not session.may_write(run_id):
        raise invalid(
            f"run {run_id} is read-only here: under `mlrun run` the code writes to the run "
            f"mlrun started ({session.run_id}) and to the runs it creates"
        )


def _writable(session: Session, run_id: str) -> None:
    """Fail like MLflow for a run that does not exist or is deleted (checked once per run)."""
    own_run(session, run_id)
    if run_id in session.known_runs:
        return
    run = get_run(session, run_id)
    if run.lifecycle_stage != models.ACTIVE:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"The run {run_id} must be in the 'active' state. Current state is deleted.",
        )


# -- logging ---------------------------------------------------------------------------------
def _params(session: Session, run_id: str, pairs: list[tuple[str, str]]) -> tuple[Param, ...]:
    """New params; an existing key must keep its value (MLflow's rule, and -P immutability)."""
    if not pairs:
        return ()
    current = {p.key: p.value for p in get_run(session, run_id).params}
    fresh: dict[str, str] = {}
    given = session.command_params if run_id == session.run_id else {}
    for key, value in pairs:
        before = current.get(key, fresh.get(key))
        if before is not None and value == given.get(key):
            continue  # the value the command got for this param (e.g. an absolute path)
        if before is not None and before != value:
            raise invalid(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{before}' for run ID='{run_id}'. Attempted logging new "
                f"value '{value}'."
            )
        if before is None:
            fresh[key] = value
    return tuple(Param(k, v) for k, v in fresh.items())


def record(session: Session, run_id: str, batch: EventBatch) -> None:
    """Apply a batch; a ``mlflow.runName`` tag renames the run, as on an MLflow server
    (``start_run(run_name=...)`` resuming the mlrun run sends it as ``runs/update``)."""
    session.store.log_batch(run_id, batch)
    names = [value for key, value in batch.tags if key == RUN_NAME_TAG and value.strip()]
    if names:
        session.store.rename_run(run_id, names[-1])


def _tags(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    for key, _ in pairs:
        if key.startswith(RESERVED_TAG_PREFIX):
            raise invalid(f"tag {key!r}: tags under 'mlrun.' are recorded by mlrun")
    return tuple(pairs)


def _metric(item: dict[str, Any], now: int) -> Metric:
    """A metric point; its timestamp in the range ``mlrun_cli.log_metric`` accepts."""
    from mlrun_cli.tracking.client import TIMESTAMP_RANGE

    key = required(item, "key")
    timestamp = integer(item.get("timestamp"), "timestamp", now)
    low, high = TIMESTAMP_RANGE
    if not low <= timestamp <= high:
        raise invalid(
            f"Invalid value {timestamp} for parameter 'timestamp' of metric {key!r}: expected "
            f"milliseconds since the epoch ({low} to {high}, up to year 9999; "
            "time.time_ns() is nanoseconds)"
        )
    return Metric(
        key,
        number(item.get("value"), "value"),
        integer(item.get("step"), "step", 0),
        timestamp,
    )


def log_metric(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/log-metric."""
    run_id = required(fields, "run_id", "run_uuid")
    metric = _metric(fields, _now_ms())
    _writable(session, run_id)
    session.store.log_batch(run_id, EventBatch(metrics=(metric,)))
    return {}


def log_param(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/log-parameter."""
    run_id = required(fields, "run_id", "run_uuid")
    key = required(fields, "key")
    _writable(session, run_id)
    params = _params(session, run_id, [(key, str(fields.get("value", "")))])
    if params:
        session.store.log_batch(run_id, EventBatch(params=params))
    return {}


def log_batch(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/log-batch: metrics, params and tags in one transaction."""
    run_id = required(fields, "run_id")
    metrics_field = fields.get("metrics") or []
    if not isinstance(metrics_field, list):
        raise invalid("Invalid value for parameter 'metrics': expected a list")
    now = _now_ms()
    metrics = tuple(_metric(item, now) for item in metrics_field if isinstance(item, dict))
    tags = _tags(key_values(fields.get("tags"), "tags"))
    _writable(session, run_id)
    params = _params(session, run_id, key_values(fields.get("params"), "params"))
    record(session, run_id, EventBatch(params=params, metrics=metrics, tags=tags))
    return {}


def set_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/set-tag."""
    run_id = required(fields, "run_id", "run_uuid")
    tags = _tags([(required(fields, "key"), str(fields.get("value", "")))])
    _writable(session, run_id)
    record(session, run_id, EventBatch(tags=tags))
    return {}


def delete_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/delete-tag."""
    run_id = required(fields, "run_id")
    key = required(fields, "key")
    _tags([(key, "")])
    _writable(session, run_id)
    if not session.store.delete_tag(run_id, key):
        raise missing(f"No tag with name: {key} in run with id {run_id}")
    return {}


def metric_history(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET metrics/get-history (one page holds the whole history)."""
    run_id = required(fields, "run_id", "run_uuid")
    key = required(fields, "metric_key")
    get_run(session, run_id)
    points = session.store.metric_history(run_id, key)
    return {"metrics": [metric_json(m.key, m.value, m.step, m.timestamp) for m in points]}


def search_runs(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/search, with mlrun's implementation of MLflow's filter syntax."""
    from mlrun_cli.tracking.queries import search_runs as search

    ids = fields.get("experiment_ids") or [session.experiment_id]
    if not isinstance(ids, list):
        ids = [ids]
    view = {"DELETED_ONLY": "deleted", "ALL": "all"}.get(str(fields.get("run_view_type")), "active")
    order = fields.get("order_by") or None
    try:
        page = search(
            session.store,
            [str(i) for i in ids],
            str(fields.get("filter") or ""),
            list(order) if isinstance(order, list) else [str(order)] if order else None,
            integer(fields.get("max_results"), "max_results", 1000),
            str(fields.get("page_token")) if fields.get("page_token") else None,
            view,
        )
    except UsageError as exc:
        raise invalid(str(exc)) from None
    body: dict[str, Any] = {"runs": [run_json(run) for run in page.runs]}
    if page.next_page_token:
        body["next_page_token"] = page.next_page_token
    return body


def log_inputs(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/log-inputs: dataset names and digests kept as tags."""
    run_id = required(fields, "run_id")
    _writable(session, run_id)
    tags = []
    for item in fields.get("datasets") or []:
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if isinstance(dataset, dict) and dataset.get("name"):
            tags.append((f"mlflow.dataset.{dataset['name']}", str(dataset.get("digest", ""))))
    if tags:
        session.store.log_batch(run_id, EventBatch(tags=tuple(tags)))
    return {}


def server_info(_session: Session, _fields: dict[str, Any]) -> dict[str, Any]:
    """GET /api/3.0/mlflow/server-info: no multipart transfers (files go in one request)."""
    return {"store_type": "SqlStore"}


def _routes() -> dict[tuple[str, str], Handler]:
    from mlrun_cli.mlflow_compat import experiments, logged_models, registry, runs

    table: dict[tuple[str, str], Handler] = {
        ("POST", "runs/create"): runs.create_run,
        ("GET", "runs/get"): runs.get_run_handler,
        ("POST", "runs/update"): runs.update_run,
        ("POST", "runs/delete"): runs.set_run_lifecycle(models.DELETED),
        ("POST", "runs/restore"): runs.set_run_lifecycle(models.ACTIVE),
        ("POST", "runs/log-metric"): log_metric,
        ("POST", "runs/log-parameter"): log_param,
        ("POST", "runs/log-batch"): log_batch,
        ("POST", "runs/set-tag"): set_tag,
        ("POST", "runs/delete-tag"): delete_tag,
        ("GET", "metrics/get-history"): metric_history,
        ("POST", "runs/search"): search_runs,
        ("POST", "runs/log-inputs"): log_inputs,
    }
    table.update(experiments.ROUTES)
    table.update(logged_models.ROUTES)
    table.update(registry.ROUTES)
    return {(method, f"{API}/{path}"): handler for (method, path), handler in table.items()}


_ROUTES: dict[tuple[str, str], Handler] = {}


def handle(session: Session, request: Request) -> Response:
    """Answer one request as MLflow's tracking server would (errors in MLflow's JSON shape)."""
    from mlrun_cli.mlflow_compat import artifacts, logged_models

    if not _ROUTES:
        _ROUTES.update(_routes())
        _ROUTES[("GET", "/api/3.0/mlflow/server-info")] = server_info
    try:
        if request.path.startswith(artifacts.PREFIX):
            # Takes the lock itself: an upload's body is streamed without it.
            return artifacts.handle(session, request)
        with session.lock:
            handler = _ROUTES.get((request.method, request.path))
            fields = request.params()
            if handler is None:
                handler = logged_models.match(request.method, request.path, fields)
            if handler is None:
                if request.path.startswith(("/api/", "/ajax-api/")):  # not a probe (/version)
                    session.unknown[f"{request.method} {request.path}"] += 1
                raise MlflowError(
                    "ENDPOINT_NOT_FOUND",
                    f"mlrun's MLflow endpoint does not implement {request.method} {request.path}",
                )
            return Response(200, handler(session, fields))
    except MlflowError as exc:
        return error_response(exc)
    except NotFoundError as exc:
        return error_response(missing(str(exc)))
    except StoreError as exc:
        # The store failed (busy with another run's write, full, a server unreachable): not
        # the request's fault, so answered with a status MLflow's client retries.
        return error_response(MlflowError("TEMPORARILY_UNAVAILABLE", str(exc)))
    except MlrunError as exc:
        return error_response(invalid(str(exc)))
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        # A malformed field, not a server fault: a 500 would make the client retry for minutes.
        return error_response(invalid(f"malformed request: {type(exc).__name__}: {exc}"))
    except OSError as exc:
        # An artifact path the file system refuses (a file where a folder is wanted, a name
        # too long): the request's fault, answered at once rather than retried for minutes.
        return error_response(invalid(f"cannot store the artifact: {exc.strerror or exc}"))
    except Exception as exc:  # noqa: BLE001 - a server answers every request; MLflow retries 500s
        return error_response(MlflowError("INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
