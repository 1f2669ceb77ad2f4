"""MLflow's run endpoints: create (a child of the mlrun run), get, update, delete/restore."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import NotFoundError
from mlrun_cli.mlflow_compat.handlers import (
    RESERVED_TAG_PREFIX,
    RUN_NAME_TAG,
    TERMINAL,
    get_run,
    own_run,
    record,
)
from mlrun_cli.mlflow_compat.protocol import (
    invalid,
    key_values,
    missing,
    required,
    run_info_json,
    run_json,
)
from mlrun_cli.tracking import models
from mlrun_cli.tracking.models import EventBatch

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.handlers import Handler
    from mlrun_cli.mlflow_compat.session import Session
    from mlrun_cli.tracking.models import Run, RunCreate


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
        record(session, run_id, EventBatch(tags=((RUN_NAME_TAG, str(fields["run_name"])),)))
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
