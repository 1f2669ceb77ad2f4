"""MLflow's experiment endpoints over the TrackingStore."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.mlflow_compat.protocol import (
    MlflowError,
    experiment_json,
    integer,
    invalid,
    key_values,
    missing,
    required,
)

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.handlers import Handler
    from mlrun_cli.mlflow_compat.session import Session


def pinned_experiment(session: Session, wanted: str) -> MlflowError:
    """The refusal of another experiment inside ``mlrun run`` (nothing is created): the run's
    experiment is chosen on mlrun's command line, the code records into it."""
    own = session.store.get_experiment(session.experiment_id).name
    return invalid(
        f"experiment {wanted!r}: under `mlrun run` this code records into the run's experiment "
        f"{own!r}; choose the experiment with `mlrun run --experiment-name {wanted}`"
    )


def get_experiment_by_name(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET experiments/get-by-name."""
    name = required(fields, "experiment_name")
    experiment = session.store.get_experiment_by_name(name)
    if experiment is None:
        raise missing(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_json(experiment)}


def get_experiment(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """GET experiments/get."""
    experiment_id = required(fields, "experiment_id")
    try:
        experiment = session.store.get_experiment(experiment_id)
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None
    return {"experiment": experiment_json(experiment)}


def create_experiment(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST experiments/create (an existing name is MLflow's RESOURCE_ALREADY_EXISTS)."""
    name = required(fields, "name")
    existing = session.store.get_experiment_by_name(name)
    if existing is not None:
        raise MlflowError("RESOURCE_ALREADY_EXISTS", f"Experiment(name={name}) already exists.")
    if session.run_id:
        raise pinned_experiment(session, name)
    experiment = session.store.get_or_create_experiment(name)
    tags = key_values(fields.get("tags"), "tags")
    if tags:
        session.store.set_experiment_tags(experiment.experiment_id, tags)
    return {"experiment_id": experiment.experiment_id}


def search_experiments(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """experiments/search: MLflow's filter over names and tags, in pages (by id; the order
    asked for is not applied)."""
    view = {"DELETED_ONLY": "deleted", "ALL": "all"}.get(str(fields.get("view_type")), "active")
    try:
        found = session.store.search_experiments(view, str(fields.get("filter") or ""))
    except UsageError as exc:
        raise invalid(str(exc)) from None
    size = integer(fields.get("max_results"), "max_results", 1000)
    if size < 1:
        raise invalid(f"Invalid value {size} for parameter 'max_results'")
    start = integer(fields.get("page_token"), "page_token", 0)
    if start < 0:
        raise invalid(f"Invalid page token {start}")
    body: dict[str, Any] = {
        "experiments": [experiment_json(e) for e in found[start : start + size]]
    }
    if start + size < len(found):
        body["next_page_token"] = str(start + size)
    return body


def _experiment_write(session: Session, experiment_id: str, action: str) -> None:
    """Under ``mlrun run`` the code changes no experiment but its run's, and never renames or
    deletes one (the run's record names it); a team server's session changes any."""
    if not session.run_id:
        return
    try:
        wanted = session.store.get_experiment(experiment_id).name
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None
    if action == "tag" and experiment_id == session.experiment_id:
        return
    if action == "tag":
        raise pinned_experiment(session, wanted)
    raise invalid(
        f"experiment {wanted!r}: under `mlrun run` the code cannot {action} experiments; "
        "do it outside the run (`mlrun experiments ...`)"
    )


def set_experiment_tag(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST experiments/set-experiment-tag."""
    experiment_id = required(fields, "experiment_id")
    key = required(fields, "key")
    _experiment_write(session, experiment_id, "tag")
    try:
        session.store.set_experiment_tags(experiment_id, [(key, str(fields.get("value", "")))])
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None
    return {}


def update_experiment(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
    """POST experiments/update (a new name)."""
    experiment_id = required(fields, "experiment_id")
    new_name = required(fields, "new_name")
    _experiment_write(session, experiment_id, "rename")
    try:
        session.store.rename_experiment(experiment_id, new_name)
    except NotFoundError:
        raise missing(f"No Experiment with id={experiment_id} exists") from None
    return {}


def _set_stage(stage: str, action: str) -> Handler:
    def handler(session: Session, fields: dict[str, Any]) -> dict[str, Any]:
        """POST experiments/delete or experiments/restore."""
        experiment_id = required(fields, "experiment_id")
        _experiment_write(session, experiment_id, action)
        try:
            session.store.set_experiment_stage(experiment_id, stage)
        except NotFoundError:
            raise missing(f"No Experiment with id={experiment_id} exists") from None
        return {}

    return handler


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "experiments/update"): update_experiment,
    ("POST", "experiments/delete"): _set_stage("deleted", "delete"),
    ("POST", "experiments/restore"): _set_stage("active", "restore"),
    ("GET", "experiments/get-by-name"): get_experiment_by_name,
    ("GET", "experiments/get"): get_experiment,
    ("POST", "experiments/create"): create_experiment,
    ("POST", "experiments/search"): search_experiments,
    ("GET", "experiments/search"): search_experiments,
    ("POST", "experiments/set-experiment-tag"): set_experiment_tag,
}
