"""MLflow 3 logged models: each one is an artifact folder of its run (``models/<name>/``).

A model's files (its MLmodel, weights, environment files) are uploaded through the artifact
endpoints into that folder and recorded like every artifact; the model's id is kept as the
run tag ``mlrun.mlflow.model.<name>``, the model itself (status, tags, params) as JSON in the
tag ``mlrun.mlflow.logged_model.<name>``, so later runs find it (``runs:/<run>/<name>``,
``models:/<id>``) and read it. Its id names its run (``m-<run_id>-<suffix>``): looking a model
up reads that one run. A model is written only by the session that logged it.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from mlrun_cli.mlflow_compat.protocol import (
    API,
    artifact_uri,
    integer,
    invalid,
    key_values,
    missing,
    required,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import EventBatch

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.handlers import Handler

MODEL_TAG_PREFIX = "mlrun.mlflow.model."
LOGGED_TAG_PREFIX = "mlrun.mlflow.logged_model."
_FILTER_CLAUSE = re.compile(r"^\s*(\w+)\s*=\s*'([^']*)'\s*$")


def _stored_models(session: Session, run_id: str) -> list[dict[str, Any]]:
    """The logged models recorded with a run (none if it does not exist)."""
    from mlrun_cli.errors import NotFoundError

    try:
        run = session.store.get_run(run_id)
    except NotFoundError:
        return []
    found = []
    for key, value in sorted(run.tags.items()):
        folder_name = key.removeprefix(LOGGED_TAG_PREFIX)
        model_id = run.tags.get(MODEL_TAG_PREFIX + folder_name)
        if folder_name == key or not model_id:
            continue
        try:
            saved = json.loads(value)
        except ValueError:
            continue
        if isinstance(saved, dict):
            folder = f"models/{folder_name}"
            found.append({
                **saved, "model_id": model_id, "experiment_id": run.experiment_id,
                "source_run_id": run_id, "folder": folder,
                "artifact_uri": artifact_uri(run_id, folder),
            })  # fmt: skip
    return found


def _find(session: Session, model_id: str) -> dict[str, Any]:
    """A model of this session, else one recorded with an earlier run (to read)."""
    model = session.models.get(model_id)
    if model is not None:
        return model
    run_id = model_id.removeprefix("m-").rpartition("-")[0]
    for stored in _stored_models(session, run_id) if run_id else []:
        if stored["model_id"] == model_id:
            return stored
    raise missing(f"Logged model with ID '{model_id}' not found.")


def _model(session: Session, model_id: str) -> dict[str, Any]:
    """A model this session may change (one it logged)."""
    model = _find(session, model_id)
    if model_id not in session.models:
        raise invalid(
            f"logged model {model_id} is read-only here: under `mlrun run` the code changes "
            "only the models it logs"
        )
    return model


def _save(session: Session, model: dict[str, Any]) -> None:
    """Record the model with its run (its params and tags left out if they are too long)."""
    from mlrun_cli.tracking.client import MAX_TAG_VALUE_LENGTH

    # What the run and the tag's key do not already say.
    derived = ("model_id", "experiment_id", "source_run_id", "folder", "artifact_uri")
    kept = {k: v for k, v in model.items() if k not in derived}
    text = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    if len(text) > MAX_TAG_VALUE_LENGTH:
        text = json.dumps({**kept, "params": {}, "tags": {}}, sort_keys=True, separators=(",", ":"))
    key = LOGGED_TAG_PREFIX + model["folder"].split("/", 1)[1]
    session.store.log_batch(model["source_run_id"], EventBatch(tags=((key, text),)))


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
        raise invalid(f"Invalid logged model name {name!r}")
    run_id = str(fields.get("source_run_id") or session.run_id)
    run = get_run(session, run_id)
    own_run(session, run_id)
    taken = {m["folder"] for m in session.models.values() if m["source_run_id"] == run_id}
    taken |= {m.get("folder") for m in _stored_models(session, run_id)}
    folder, number = f"models/{name}", 1
    while folder in taken:
        number += 1
        folder = f"models/{name}-{number}"
    model_id = f"m-{run_id}-{uuid.uuid4().hex[:16]}"
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
    _save(session, session.models[model_id])
    return {"model": model_json(session.models[model_id])}


def _touch(session: Session, model: dict[str, Any]) -> None:
    model["last_updated_timestamp_ms"] = int(time.time() * 1000)
    _save(session, model)


def get(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET logged-models/{model_id} (also one logged by an earlier run)."""
    return {"model": model_json(_find(session, required(fields, "model_id")))}


def finalize(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH logged-models/{model_id}: READY or UPLOAD_FAILED."""
    model = _model(session, required(fields, "model_id"))
    model["status"] = str(fields.get("status") or model["status"])
    _touch(session, model)
    return {"model": model_json(model)}


def set_tags(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH logged-models/{model_id}/tags."""
    model = _model(session, required(fields, "model_id"))
    model["tags"].update(key_values(fields.get("tags"), "tags"))
    _touch(session, model)
    return {}


def delete_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """DELETE logged-models/{model_id}/tags/{tag_key}."""
    model = _model(session, required(fields, "model_id"))
    model["tags"].pop(required(fields, "tag_key"), None)
    _touch(session, model)
    return {}


def log_params(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST logged-models/{model_id}/params."""
    model = _model(session, required(fields, "model_id"))
    model["params"].update(key_values(fields.get("params"), "params"))
    _touch(session, model)
    return {}


def _candidates(
    session: Session, experiments: list[str], wanted: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Models recorded with runs of ``experiments`` that may match (by run, by name)."""
    from mlrun_cli.tracking.queries import search_runs

    if "source_run_id" in wanted:
        run_ids = [wanted["source_run_id"]]
    else:
        name = wanted.get("name")
        if name is not None and "`" in name:
            return {}
        text = f"tags.`{MODEL_TAG_PREFIX}{name}` != ''" if name is not None else ""
        page = search_runs(session.store, experiments, text, None, 1000, None, "all")
        run_ids = [run.run_id for run in page.runs]
    return {m["model_id"]: m for run_id in run_ids for m in _stored_models(session, run_id)}


def search(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST logged-models/search: ``attr = 'value'`` clauses joined by AND are applied, over
    this session's models and those recorded with the experiments' runs."""
    ids = fields.get("experiment_ids") or [session.experiment_id]
    experiments = [str(i) for i in (ids if isinstance(ids, list) else [ids])]
    wanted: dict[str, str] = {}
    text = str(fields.get("filter") or "")
    for clause in re.split(r"\s+(?i:and)\s+", text) if text.strip() else []:
        match = _FILTER_CLAUSE.match(clause)
        if match:
            wanted[match.group(1)] = match.group(2)
    models = _candidates(session, experiments, wanted)
    models.update(session.models)
    found = [
        model_json(m)
        for m in models.values()
        if m["experiment_id"] in experiments and all(str(m.get(k)) == v for k, v in wanted.items())
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
            _save(session, model)
    return {}


def run_outputs(session: Session, run_id: str) -> dict[str, Any]:
    """A RunOutputs message: the logged models ``runs/outputs`` attached to the run."""
    models = {m["model_id"]: m for m in _stored_models(session, run_id)}
    models.update(session.models)
    outputs = [
        {"model_id": m["model_id"], "step": m["outputs"][run_id]}
        for m in models.values()
        if run_id in m.get("outputs", {})
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
