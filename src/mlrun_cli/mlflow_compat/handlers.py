"""MLflow's tracking endpoints as plain functions over the TrackingStore, and the route table.

``handle(session, request) -> response`` is all a server needs: the loopback endpoint of
``mlrun run`` mounts it, and so can a team server. Every write is idempotent: a client that
retries a request (MLflow's does, for minutes) never records anything twice.
"""

from __future__ import annotations

import os
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
    run_info_json,
    run_json,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking import models
from mlrun_cli.tracking.models import EventBatch, Metric, Param

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.models import Run, RunCreate

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


# -- runs -----------------------------------------------------------------------------------
def create_run(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/create: a child of the mlrun run (or of the run named by mlflow.parentRunId)."""
    from mlrun_cli.tracking.ingest import process_start_marker
    from mlrun_cli.tracking.models import RunCreate
    from mlrun_cli.tracking.names import generate_run_name

    # Every request is a new run, as on an MLflow server: autolog creates GridSearchCV's
    # children with identical requests (same start time and tags), so a retried creation
    # cannot be told from a new run.
    tags = dict(key_values(fields.get("tags"), "tags"))
    reserved = sorted(k for k in tags if k.startswith(RESERVED_TAG_PREFIX))
    if reserved:
        raise invalid(f"tag {reserved[0]!r}: tags under 'mlrun.' are recorded by mlrun")
    parent_id = tags.get("mlflow.parentRunId") or session.run_id
    # A team server's session has no run of its own: without a parent the run is top-level.
    parent = get_run(session, parent_id) if parent_id else None
    if parent_id:
        own_run(session, parent_id)
    experiment_id = str(fields.get("experiment_id") or session.experiment_id)
    try:
        experiment = session.store.get_experiment(experiment_id)
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None
    if session.run_id and experiment_id != session.experiment_id:
        from mlrun_cli.mlflow_compat.experiments import pinned_experiment

        raise pinned_experiment(session, experiment.name)
    name = str(fields.get("run_name") or tags.get("mlflow.runName") or generate_run_name())
    if parent is not None:
        tags["mlflow.parentRunId"] = parent.run_id
    tags["mlflow.runName"] = name
    if session.run_id:
        root = get_run(session, session.run_id)
        spec = RunCreate(
            experiment_id=experiment_id,
            name=name,
            entry_point=root.entry_point,
            command=root.command,
            code=root.code,
            tags=tuple(sorted(tags.items())),
            user=str(fields.get("user_id") or root.user),
            host=root.host,
            # mlrun's own process: if it dies, the orphan reaper finishes this run too.
            pid=os.getpid(),
            pid_start=process_start_marker(os.getpid()),
            env_lock_hash=root.env_lock_hash,
            parent_run_id=None if parent is None else parent.run_id,
        )
    else:
        spec = _external_run(experiment_id, name, tags, fields, parent)
    run = session.store.create_run(spec)
    session.created.append(run.run_id)
    session.known_runs.add(run.run_id)
    return {"run": run_json(run)}


def _external_run(
    experiment_id: str,
    name: str,
    tags: dict[str, str],
    fields: dict[str, Any],
    parent: Run | None,
) -> RunCreate:
    """A run MLflow code started on a team server, outside ``mlrun run``: no process to
    watch (no pid), the code named by MLflow's own source tags."""
    from mlrun_cli.tracking.models import CodeVersion, RunCreate

    source = tags.get("mlflow.source.name", "")
    return RunCreate(
        experiment_id=experiment_id,
        name=name,
        entry_point=source.rsplit("/", 1)[-1],
        command="",
        code=CodeVersion(kind="mlflow", uri=source, commit=tags.get("mlflow.source.git.commit")),
        tags=tuple(sorted(tags.items())),
        user=str(fields.get("user_id") or tags.get("mlflow.user", "")),
        parent_run_id=None if parent is None else parent.run_id,
    )


def get_run_handler(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET runs/get (with the logged models the run output)."""
    from mlrun_cli.mlflow_compat.logged_models import run_outputs

    run = run_json(get_run(session, required(fields, "run_id", "run_uuid")))
    run["outputs"] = run_outputs(session, run["info"]["run_id"])
    return {"run": run}


def update_run(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/update. The mlrun run's status is mlrun's to write: the child's is advisory."""
    run_id = required(fields, "run_id", "run_uuid")
    run = get_run(session, run_id)
    own_run(session, run_id)
    status = str(fields.get("status") or "")
    if status and status not in models.RUN_STATUSES and status != "SCHEDULED":
        raise invalid(f"Invalid value {status!r} for parameter 'status'")
    if fields.get("run_name"):
        _record(session, run_id, EventBatch(tags=((RUN_NAME_TAG, str(fields["run_name"])),)))
    if run_id == session.run_id:
        if status in TERMINAL:
            session.ignored_statuses.append(status)
    elif status in TERMINAL and run.status == models.RUNNING:
        session.store.finish_run(run_id, status, reason="ended by the MLflow client")
    return {"run_info": run_info_json(get_run(session, run_id))}


def set_run_lifecycle(stage: str) -> Handler:
    """POST runs/delete and runs/restore, for runs the code created (not the mlrun run)."""

    def handler(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
        run_id = required(fields, "run_id")
        get_run(session, run_id)
        own_run(session, run_id)
        if run_id == session.run_id:
            raise invalid(f"run {run_id} is the mlrun run in progress; it cannot be {stage}")
        session.store.set_run_stage(run_id, stage)
        session.known_runs.discard(run_id)
        return {}

    return handler


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


def _record(session: Session, run_id: str, batch: EventBatch) -> None:
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
    key = required(item, "key")
    return Metric(
        key,
        number(item.get("value"), "value"),
        integer(item.get("step"), "step", 0),
        integer(item.get("timestamp"), "timestamp", now),
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
    _record(session, run_id, EventBatch(params=params, metrics=metrics, tags=tags))
    return {}


def set_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/set-tag."""
    run_id = required(fields, "run_id", "run_uuid")
    tags = _tags([(required(fields, "key"), str(fields.get("value", "")))])
    _writable(session, run_id)
    _record(session, run_id, EventBatch(tags=tags))
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
    from mlrun_cli.mlflow_compat import experiments, logged_models, registry

    table: dict[tuple[str, str], Handler] = {
        ("POST", "runs/create"): create_run,
        ("GET", "runs/get"): get_run_handler,
        ("POST", "runs/update"): update_run,
        ("POST", "runs/delete"): set_run_lifecycle(models.DELETED),
        ("POST", "runs/restore"): set_run_lifecycle(models.ACTIVE),
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
