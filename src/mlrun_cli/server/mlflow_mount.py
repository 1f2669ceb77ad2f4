"""MLflow's REST API at MLflow's paths: the shared ``mlflow_compat`` handlers, a server session.

The loopback endpoint of ``mlrun run`` serves one pinned run; the team server serves anyone's:
its session has no run of its own (``run_id`` empty), so runs MLflow code creates are top-level
runs of the experiment it names (``0``, Default, when it names none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import NotFoundError
from mlrun_cli.mlflow_compat.protocol import API, ARTIFACTS_API, MlflowError, Request
from mlrun_cli.mlflow_compat.session import Session

if TYPE_CHECKING:
    from mlrun_cli.server.auth import User
    from mlrun_cli.tracking.store import TrackingStore

DEFAULT_EXPERIMENT_ID = "0"
AJAX_PREFIX = "/ajax-api/"
MLFLOW_PREFIXES = ("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/api/3.0/mlflow/",
                   "/ajax-api/2.0/mlflow/", "/ajax-api/2.0/mlflow-artifacts/",
                   "/ajax-api/3.0/mlflow/")  # fmt: skip
# Changing an experiment itself is its admins'.
_ADMIN_POSTS = frozenset({"experiments/update", "experiments/delete", "experiments/restore",
                          "experiments/set-experiment-tag", "experiments/delete-tag"})  # fmt: skip
# POST endpoints that only read.
_READING_POSTS = frozenset({"runs/search", "experiments/search", "logged-models/search",
                            "registered-models/search", "model-versions/search"})  # fmt: skip


def server_session(store: TrackingStore) -> Session:
    """A session without a pinned run: the team server's."""
    return Session(store, run_id="", experiment_id=DEFAULT_EXPERIMENT_ID)


def canonical_path(path: str) -> str:
    """MLflow's UI calls ``/ajax-api/...``: the same endpoints as ``/api/...``."""
    if path.startswith(AJAX_PREFIX):
        return "/api/" + path[len(AJAX_PREFIX) :]
    return path


def _experiment_of_run(store: TrackingStore, run_id: str) -> str | None:
    try:
        return store.get_run(run_id).experiment_id
    except NotFoundError:
        return None


def access(store: TrackingStore, request: Request) -> list[tuple[str, str | None]]:
    """What a request needs: (role, experiment id or None for "every experiment") pairs."""
    path = request.path
    if path.startswith(ARTIFACTS_API):
        tail = path[len(ARTIFACTS_API) :].strip("/")
        needed = "write" if request.method == "PUT" else "read"
        run_id = tail.split("/", 1)[0] if tail else str(request.params().get("path", ""))
        run_id = run_id.strip("/").split("/", 1)[0]
        return [(needed, _experiment_of_run(store, run_id) if run_id else None)]
    endpoint = path[len(API) + 1 :] if path.startswith(API + "/") else path
    needed = "read" if request.method == "GET" or endpoint in _READING_POSTS else "write"
    if endpoint in _ADMIN_POSTS:
        needed = "admin"
    if endpoint == "experiments/create":
        return [("write", None)]
    fields: dict[str, Any] = request.params()
    ids = fields.get("experiment_ids")
    if isinstance(ids, list) and ids:
        return [(needed, str(i)) for i in ids]
    if fields.get("experiment_id") not in (None, ""):
        return [(needed, str(fields["experiment_id"]))]
    for key in ("run_id", "run_uuid", "source_run_id"):
        if fields.get(key):
            return [(needed, _experiment_of_run(store, str(fields[key])))]
    if endpoint == "experiments/get-by-name" and fields.get("experiment_name"):
        found = store.get_experiment_by_name(str(fields["experiment_name"]))
        return [(needed, None if found is None else found.experiment_id)]
    if endpoint == "runs/create":
        return [(needed, DEFAULT_EXPERIMENT_ID)]
    if endpoint == "server-info" or path.endswith("/server-info"):
        return []
    return [(needed, None)]


def authorize(store: TrackingStore, user: User, request: Request) -> MlflowError | None:
    """None if the user may make this request; MLflow's PERMISSION_DENIED otherwise."""
    try:
        needs = access(store, request)
    except MlflowError as exc:
        return exc
    for needed, experiment_id in needs:
        if not user.may(needed, experiment_id):
            where = "every experiment" if experiment_id is None else f"experiment {experiment_id}"
            return MlflowError(
                "PERMISSION_DENIED", f"user {user.name!r} has no {needed} role on {where}"
            )
    return None
