"""MLflow's model registry calls, answered as MLflow would and recorded as run tags.

mlrun has no registry yet: registered models, versions and aliases live for the run (so the
code's calls succeed and read back what they wrote) and are recorded on the run as tags
``mlrun.mlflow.registry.<name>`` (and ``.v<N>``, ``.alias.<alias>``).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from mlrun_cli.mlflow_compat.protocol import (
    MlflowError,
    invalid,
    key_values,
    missing,
    required,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import EventBatch

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.handlers import Handler

TAG_PREFIX = "mlrun.mlflow.registry."


def _now() -> int:
    return int(time.time() * 1000)


def _record(session: Session, run_id: str | None, key: str, value: str) -> None:
    # A version of an earlier run's model is recorded in this run: that run's record is final.
    target = session.run_id
    if run_id and run_id in session.known_runs and session.may_write(run_id):
        target = run_id
    session.store.log_batch(target, EventBatch(tags=((TAG_PREFIX + key, value),)))


def _forget(session: Session, run_id: str | None, key: str) -> None:
    """Remove a registry tag where ``_record`` put it (the registry changed since)."""
    for target in {session.run_id, run_id or session.run_id}:
        if target and session.may_write(target):
            session.store.delete_tag(target, TAG_PREFIX + key)


def _record_version(session: Session, name: str, item: dict[str, Any]) -> None:
    _record(session, item["run_id"], f"{name}.v{item['version']}", item["source"])
    if item["current_stage"] != "None":
        _record(session, None, f"{name}.v{item['version']}.stage", item["current_stage"])


def _forget_version(session: Session, name: str, item: dict[str, Any]) -> None:
    _forget(session, item["run_id"], f"{name}.v{item['version']}")
    _forget(session, None, f"{name}.v{item['version']}.stage")


STAGES = ("None", "Staging", "Production", "Archived")


def _latest(model: dict[str, Any], stages: list[str]) -> list[dict[str, Any]]:
    """MLflow's latest versions: the highest version in each of ``stages`` (all if empty)."""
    canonical = {s.lower(): s for s in STAGES}
    wanted = []
    for stage in stages or STAGES:
        if stage.lower() not in canonical:
            raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of "
                          f"{', '.join(STAGES)}.")  # fmt: skip
        wanted.append(canonical[stage.lower()])
    best: dict[str, dict[str, Any]] = {}
    for item in model["versions"]:
        held = best.get(item["current_stage"])
        if held is None or int(item["version"]) > int(held["version"]):
            best[item["current_stage"]] = item
    return [_version_json(best[stage], model) for stage in dict.fromkeys(wanted) if stage in best]


def _registered(session: Session, name: str) -> dict[str, Any]:
    model = session.registry.get(name)
    if model is None:
        raise missing(f"Registered Model with name={name} not found")
    return model


def _version(session: Session, name: str, version: str) -> dict[str, Any]:
    item: dict[str, Any]
    for item in _registered(session, name)["versions"]:
        if item["version"] == version:
            return item
    raise missing(f"Model Version (name={name}, version={version}) not found")


def _version_json(item: dict[str, Any], model: dict[str, Any]) -> dict[str, Any]:
    aliases = sorted(a for a, v in model["aliases"].items() if v == item["version"])
    return {**item, "tags": [{"key": k, "value": v} for k, v in sorted(item["tags"].items())],
            "aliases": aliases}  # fmt: skip


def _model_json(model: dict[str, Any]) -> dict[str, Any]:
    latest = _latest(model, [])
    return {
        "name": model["name"],
        "creation_timestamp": model["creation_timestamp"],
        "last_updated_timestamp": model["last_updated_timestamp"],
        "description": model["description"],
        "latest_versions": latest,
        "tags": [{"key": k, "value": v} for k, v in sorted(model["tags"].items())],
        "aliases": [{"alias": a, "version": v} for a, v in sorted(model["aliases"].items())],
    }


def create_registered_model(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST registered-models/create."""
    name = required(fields, "name")
    if name in session.registry:
        raise MlflowError(
            "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={name}) already exists."
        )
    now = _now()
    session.registry[name] = {
        "name": name, "creation_timestamp": now, "last_updated_timestamp": now,
        "description": str(fields.get("description") or ""),
        "tags": dict(key_values(fields.get("tags"), "tags")), "aliases": {}, "versions": [],
        "next_version": 1,
    }  # fmt: skip
    _record(session, None, name, "registered")
    return {"registered_model": _model_json(session.registry[name])}


def get_registered_model(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET registered-models/get."""
    return {"registered_model": _model_json(_registered(session, required(fields, "name")))}


def search_registered_models(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET registered-models/search (``name = 'x'`` or everything)."""
    found = re.match(r"^\s*name\s*=\s*'([^']*)'\s*$", str(fields.get("filter") or ""))
    models = [m for m in session.registry.values() if not found or m["name"] == found.group(1)]
    return {"registered_models": [_model_json(m) for m in models]}


def latest_versions(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """registered-models/get-latest-versions."""
    model = _registered(session, required(fields, "name"))
    stages = fields.get("stages") or []
    return {"model_versions": _latest(model, stages if isinstance(stages, list) else [stages])}


def create_model_version(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST model-versions/create: READY at once (the files are already the run's)."""
    name = required(fields, "name")
    source = required(fields, "source")
    model = _registered(session, name)
    now = _now()
    run_id = str(fields.get("run_id") or "")
    item = {
        "name": name, "version": str(model["next_version"]),
        "creation_timestamp": now, "last_updated_timestamp": now, "current_stage": "None",
        "description": str(fields.get("description") or ""), "source": source,
        "run_id": run_id, "status": "READY", "user_id": "",
        "tags": dict(key_values(fields.get("tags"), "tags")),
        **({"model_id": str(fields["model_id"])} if fields.get("model_id") else {}),
    }  # fmt: skip
    model["versions"].append(item)
    model["next_version"] += 1  # a deleted version's number is never given again
    model["last_updated_timestamp"] = now
    _record(session, run_id, f"{name}.v{item['version']}", source)
    return {"model_version": _version_json(item, model)}


def get_model_version(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET model-versions/get."""
    name = required(fields, "name")
    item = _version(session, name, required(fields, "version"))
    return {"model_version": _version_json(item, session.registry[name])}


def search_model_versions(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET model-versions/search (``name = 'x'`` / ``run_id = 'x'`` or everything)."""
    found = re.match(r"^\s*(name|run_id)\s*=\s*'([^']*)'\s*$", str(fields.get("filter") or ""))
    versions = [
        _version_json(item, model)
        for model in session.registry.values()
        for item in model["versions"]
        if not found or str(item.get(found.group(1))) == found.group(2)
    ]
    return {"model_versions": versions}


def download_uri(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET model-versions/get-download-uri."""
    item = _version(session, required(fields, "name"), required(fields, "version"))
    return {"artifact_uri": item["source"]}


def set_alias(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST registered-models/alias."""
    name, alias = required(fields, "name"), required(fields, "alias")
    version = required(fields, "version")
    _version(session, name, version)
    if alias.lower() == "latest":
        raise invalid("'latest' alias name (case insensitive) is reserved.")
    session.registry[name]["aliases"][alias] = version
    _record(session, None, f"{name}.alias.{alias}", version)
    return {}


def delete_alias(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """DELETE registered-models/alias."""
    name, alias = required(fields, "name"), required(fields, "alias")
    if _registered(session, name)["aliases"].pop(alias, None) is not None:
        _forget(session, None, f"{name}.alias.{alias}")
    return {}


def get_by_alias(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET registered-models/alias."""
    name, alias = required(fields, "name"), required(fields, "alias")
    model = _registered(session, name)
    if alias not in model["aliases"]:
        raise invalid(f"Registered model alias {alias} not found.")
    item = _version(session, name, model["aliases"][alias])
    return {"model_version": _version_json(item, model)}


def set_model_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST registered-models/set-tag."""
    model = _registered(session, required(fields, "name"))
    model["tags"][required(fields, "key")] = str(fields.get("value", ""))
    return {}


def set_version_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST model-versions/set-tag."""
    item = _version(session, required(fields, "name"), required(fields, "version"))
    item["tags"][required(fields, "key")] = str(fields.get("value", ""))
    return {}


def update_model(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH registered-models/update (the description)."""
    model = _registered(session, required(fields, "name"))
    model["description"] = str(fields.get("description") or "")
    return {"registered_model": _model_json(model)}


def update_version(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """PATCH model-versions/update (the description)."""
    name = required(fields, "name")
    item = _version(session, name, required(fields, "version"))
    item["description"] = str(fields.get("description") or "")
    return {"model_version": _version_json(item, session.registry[name])}


def transition_stage(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST model-versions/transition-stage (MLflow's deprecated stages, still common)."""
    name = required(fields, "name")
    version = required(fields, "version")
    stage = required(fields, "stage")
    stages = {s.lower(): s for s in STAGES}
    if stage.lower() not in stages:
        raise invalid(f"Invalid Model Version stage: {stage}. Value must be one of "
                      f"{', '.join(stages.values())}.")  # fmt: skip
    item = _version(session, name, version)
    model = session.registry[name]
    if str(fields.get("archive_existing_versions", "")).lower() == "true":
        for other in model["versions"]:
            if other is not item and other["current_stage"] == stages[stage.lower()]:
                other["current_stage"] = "Archived"
                _record(session, None, f"{name}.v{other['version']}.stage", "Archived")
    item["current_stage"] = stages[stage.lower()]
    item["last_updated_timestamp"] = _now()
    if item["current_stage"] == "None":
        _forget(session, None, f"{name}.v{version}.stage")
    else:
        _record(session, None, f"{name}.v{version}.stage", item["current_stage"])
    return {"model_version": _version_json(item, model)}


def delete_version(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """DELETE model-versions/delete."""
    name = required(fields, "name")
    item = _version(session, name, required(fields, "version"))
    model = session.registry[name]
    model["versions"].remove(item)
    _forget_version(session, name, item)
    for alias, version in list(model["aliases"].items()):
        if version == item["version"]:  # as MLflow, a deleted version's aliases go with it
            del model["aliases"][alias]
            _forget(session, None, f"{name}.alias.{alias}")
    return {}


def rename_model(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST registered-models/rename."""
    name, new_name = required(fields, "name"), required(fields, "new_name")
    model = _registered(session, name)
    if new_name in session.registry:
        raise MlflowError(
            "RESOURCE_ALREADY_EXISTS", f"Registered Model (name={new_name}) already exists."
        )
    _forget_model(session, model)
    model["name"] = new_name
    session.registry[new_name] = session.registry.pop(name)
    for item in model["versions"]:
        item["name"] = new_name
    _record(session, None, new_name, "registered")
    for item in model["versions"]:
        _record_version(session, new_name, item)
    for alias, version in model["aliases"].items():
        _record(session, None, f"{new_name}.alias.{alias}", version)
    return {"registered_model": _model_json(model)}


def delete_model(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """DELETE registered-models/delete."""
    name = required(fields, "name")
    _forget_model(session, _registered(session, name))
    del session.registry[name]
    return {}


def _forget_model(session: Session, model: dict[str, Any]) -> None:
    name = model["name"]
    _forget(session, None, name)
    for item in model["versions"]:
        _forget_version(session, name, item)
    for alias in model["aliases"]:
        _forget(session, None, f"{name}.alias.{alias}")


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "model-versions/transition-stage"): transition_stage,
    ("DELETE", "model-versions/delete"): delete_version,
    ("POST", "registered-models/rename"): rename_model,
    ("DELETE", "registered-models/delete"): delete_model,
    ("POST", "registered-models/create"): create_registered_model,
    ("GET", "registered-models/get"): get_registered_model,
    ("GET", "registered-models/search"): search_registered_models,
    ("PATCH", "registered-models/update"): update_model,
    ("POST", "registered-models/get-latest-versions"): latest_versions,
    ("GET", "registered-models/get-latest-versions"): latest_versions,
    ("POST", "registered-models/set-tag"): set_model_tag,
    ("POST", "registered-models/alias"): set_alias,
    ("DELETE", "registered-models/alias"): delete_alias,
    ("GET", "registered-models/alias"): get_by_alias,
    ("POST", "model-versions/create"): create_model_version,
    ("GET", "model-versions/get"): get_model_version,
    ("PATCH", "model-versions/update"): update_version,
    ("GET", "model-versions/search"): search_model_versions,
    ("GET", "model-versions/get-download-uri"): download_uri,
    ("POST", "model-versions/set-tag"): set_version_tag,
}
