"""MLflow 3 logged models: each one is an artifact folder of its run (``models/<name>/``).

A model's files (its MLmodel, weights, environment files) are uploaded through the artifact
endpoints into that folder and recorded like every artifact; the model's id is kept as the
run tag ``mlrun.mlflow.model.<name>``. The rest (status, tags, params) lives for the run.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from mlrun_cli.mlflow_compat.protocol import (
    API,
    artifact_uri,
    integer,
    key_values,
    missing,
    required,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import EventBatch

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.handlers import Handler

MODEL_TAG_PREFIX = "mlrun.mlflow.model."
_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s*=\s*'([^']*)'\s*$")


def _model(session: Session, model_id: str) -> dict[str, Any]:
    model = session.models.get(model_id)
    if model is None:
        raise missing(f"Logged model with ID '{model_id}' not found.")
    return model


def model_json(model: dict[str, Any]) -> dict[str, Any]:
    """A LoggedModel message."""
    info = {k: v for k, v in model.items() if k not in ("params", "tags", "outputs", "folder")}
    info["tags"] = [{"key": k, "value": v} for k, v in sorted(model["tags"].items())]
    params = [{"key": k, "value": v} for k, v in sorted(model["params"].items())]
    return {"info": info, "data": {"params": params, "metrics": []}}


def create(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST logged-models: a folder ``models/<name>/`` in the source run (else the mlrun run)."""
    from mlrun_cli.mlflow_compat.handlers import get_run, own_run

    name = str(fields.get("name") or "model")
    if "/" in name or name in (".", ".."):
        from mlrun_cli.mlflow_compat.protocol import invalid

        raise invalid(f"Invalid logged model name {name!r}")
    run_id = str(fields.get("source_run_id") or session.run_id)
    run = get_run(session, run_id)
    own_run(session, run_id)
    taken = {m["folder"] for m in session.models.values() if m["source_run_id"] == run_id}
    folder, number = f"models/{name}", 1
    while folder in taken:
        number += 1
        folder = f"models/{name}-{number}"
    model_id = f"m-{uuid.uuid4().hex}"
    now = int(time.time() * 1000)
    session.models[model_id] = {
        "model_id": model_id,
        "experiment_id": str(fields.get("experiment_id") or run.experiment_id),
        "name": name,
        "creation_timestamp_ms": now,
        "last_updated_timestamp_ms": now,
        "artifact_uri": artifact_uri(run_id, folder),
        "status": "LOGGED_MODEL_PENDING",
        "model_type": str(fields.get("model_type") or ""),
        "source_run_id": run_id,
        "folder": folder,
        "tags": dict(key_values(fields.get("tags"), "tags")),
        "params": dict(key_values(fields.get("params"), "params")),
        "outputs": {},
    }
    tag = (MODEL_TAG_PREFIX + folder.split("/", 1)[1], model_id)
    session.store.log_batch(run_id, EventBatch(tags=(tag,)))
    return {"model": model_json(session.models[model_id])}


def _touch(model: dict[str, Any]) -> None:
    model["last_updated_timestamp_ms"] = int(time.time() * 1000)


def get(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET logged-models/{model_id}."""
    return {"model": model_json(_model(session, required(fields, "model_id")))}


def finalize(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH logged-models/{model_id}: READY or UPLOAD_FAILED."""
    model = _model(session, required(fields, "model_id"))
    model["status"] = str(fields.get("status") or model["status"])
    _touch(model)
    return {"model": model_json(model)}


def set_tags(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH logged-models/{model_id}/tags."""
    model = _model(session, required(fields, "model_id"))
    model["tags"].update(key_values(fields.get("tags"), "tags"))
    _touch(model)
    return {}


def delete_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """DELETE logged-models/{model_id}/tags/{tag_key}."""
    model = _model(session, required(fields, "model_id"))
    model["tags"].pop(required(fields, "tag_key"), None)
    return {}


def log_params(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST logged-models/{model_id}/params."""
    model = _model(session, required(fields, "model_id"))
    model["params"].update(key_values(fields.get("params"), "params"))
    return {}


def search(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST logged-models/search: ``attr = 'value'`` clauses joined by AND are applied."""
    experiments = {str(i) for i in fields.get("experiment_ids") or []}
    wanted: dict[str, str] = {}
    text = str(fields.get("filter") or "")
    for clause in re.split(r"\s+(?i:and)\s+", text) if text.strip() else []:
        match = _FILTER_CLAUSE.match(clause)
        if match:
            wanted[match.group(1)] = match.group(2)
    found = [
        model_json(m)
        for m in session.models.values()
        if (not experiments or m["experiment_id"] in experiments)
        and all(str(m.get(k)) == v for k, v in wanted.items())
    ]
    return {"models": found}


def log_outputs(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST runs/outputs: the run produced these logged models (at these steps)."""
    from mlrun_cli.mlflow_compat.handlers import get_run

    run_id = required(fields, "run_id")
    get_run(session, run_id)
    for item in fields.get("models") or []:
        if isinstance(item, dict) and item.get("model_id"):
            model = _model(session, str(item["model_id"]))
            model["outputs"][run_id] = integer(item.get("step"), "step", 0)
    return {}


def run_outputs(session: Session, run_id: str) -> dict[str, Any]:
    """A RunOutputs message: the logged models ``runs/outputs`` attached to the run."""
    outputs = [
        {"model_id": m["model_id"], "step": m["outputs"][run_id]}
        for m in session.models.values()
        if run_id in m["outputs"]
    ]
    return {"model_outputs": outputs} if outputs else {}


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "logged-models"): create,
    ("POST", "logged-models/search"): search,
    ("POST", "runs/outputs"): log_outputs,
}
_TEMPLATES: tuple[tuple[str, re.Pattern[str], Handler], ...] = (
    ("GET", re.compile(rf"^{API}/logged-models/(?P<model_id>[^/]+)$"), get),
    ("PATCH", re.compile(rf"^{API}/logged-models/(?P<model_id>[^/]+)$"), finalize),
    ("PATCH", re.compile(rf"^{API}/logged-models/(?P<model_id>[^/]+)/tags$"), set_tags),
    (
        "DELETE",
        re.compile(rf"^{API}/logged-models/(?P<model_id>[^/]+)/tags/(?P<tag_key>.+)$"),
        delete_tag,
    ),
    ("POST", re.compile(rf"^{API}/logged-models/(?P<model_id>[^/]+)/params$"), log_params),
)


def match(method: str, path: str, fields: dict[str, Any]) -> Handler | None:
    """The handler of a path with ids in it; the ids are added to ``fields``."""
    for wanted, pattern, handler in _TEMPLATES:
        found = pattern.match(path)
        if found and method == wanted:
            fields.update(found.groupdict())
            return handler
    return None
