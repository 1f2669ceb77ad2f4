"""Our API, ``/api/v1``: batch-first, idempotent writes, documented in ``openapi.py``.

Every endpoint is a plain function ``(context, user, body, path params) -> JSON``; ``app.py``
adapts them to HTTP. Errors are ``{"error": {"code": ..., "message": ...}}`` with the HTTP
status of their mlrun error class.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import MlrunError, NotFoundError, UsageError
from mlrun_cli.tracking.stores import wire

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from mlrun_cli.server.auth import AuthStore, User
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

    Endpoint = Callable[["Context", User | None, dict[str, Any], dict[str, str]], dict[str, Any]]


class DeniedError(MlrunError):
    """The authenticated user lacks the role a request needs (HTTP 403)."""

    exit_code = 2


@dataclass
class Context:
    """What endpoints share: the store (one connection, one request at a time) and its auth
    tables (None: the server runs with --no-auth)."""

    store: TrackingStore
    auth: AuthStore | None = None


RUN_SCOPED = "a run-scoped token reaches its own run only"


def _need(user: User | None, role: str, experiment_id: str | None) -> None:
    if user is not None and not user.may(role, experiment_id):
        where = "every experiment" if experiment_id is None else f"experiment {experiment_id}"
        if user.run_id is not None:
            raise DeniedError(f"{RUN_SCOPED} (run {user.run_id}; no {role} on {where})")
        raise DeniedError(f"user {user.name!r} has no {role} role on {where}")


def unauthenticated(authorization: str | None) -> str:
    """The 401 message: a run-scoped token the server does not know has expired (or was never
    minted here)."""
    from mlrun_cli.server.auth import RUN_TOKEN_PREFIX, token_from_header

    if (token_from_header(authorization) or "").startswith(RUN_TOKEN_PREFIX):
        return "run-scoped token expired or unknown (its lifetime: token_ttl)"
    return "missing or wrong token (Authorization: Bearer, from MLRUN_TRACKING_TOKEN)"


def denied(user: User, role: str, experiment_id: str) -> DeniedError:
    """Why ``user`` lacks ``role`` on a run of an experiment (a run token: not its run)."""
    if user.run_id is not None:
        return _out_of_scope(user, role, "")
    return DeniedError(f"user {user.name!r} has no {role} role on experiment {experiment_id}")


def _check_run(user: User | None, role: str, run: Run, ended_ok: bool = False) -> None:
    """``role`` on one run: the user's on its experiment, or a run-scoped token's own run,
    written only while it is RUNNING (``ended_ok``: an idempotent end, retried)."""
    from mlrun_cli.tracking import models

    if user is None:
        return
    if user.run_id is None:
        _need(user, role, run.experiment_id)
        return
    if not user.may_run(role, run.run_id, run.experiment_id):
        raise _out_of_scope(user, role, run.run_id)
    if role != "read" and not ended_ok and run.status != models.RUNNING:
        raise DeniedError(f"run {run.run_id} has ended: its run-scoped token writes it no more")


def _out_of_scope(user: User, role: str, run_id: str) -> DeniedError:
    """Refused to a run-scoped token: the other run is not named (a prefix's full id)."""
    del run_id
    return DeniedError(f"{RUN_SCOPED} (run {user.run_id}; no {role} on another run)")


def _need_run(
    ctx: Context, user: User | None, role: str, run_id: str, ended_ok: bool = False
) -> None:
    _check_run(user, role, ctx.store.get_run(run_id), ended_ok)


def _need_experiment(user: User | None, experiment_id: str) -> None:
    """Read an experiment's record (a run-scoped token: its run's experiment)."""
    if user is not None and not user.may_see_experiment(experiment_id):
        _need(user, "read", experiment_id)


def path_run_id(path: Mapping[str, Any]) -> str:
    """The ``{run_id}`` of a request's path, checked (never a path: ``..``, ``a/b``)."""
    from mlrun_cli.tracking.models import check_run_id

    return check_run_id(str(path["run_id"]))


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise UsageError(f"request body: {key!r} must be a non-empty string")
    return value


# -- experiments ------------------------------------------------------------------------------
def list_experiments(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """GET /experiments?view=active|deleted|all: those the user may read."""
    from mlrun_cli.tracking.queries import search_experiments

    found = search_experiments(ctx.store, str(body.get("view") or "active"),
                               str(body.get("filter") or ""))  # fmt: skip
    visible = [e for e in found if user is None or user.may_see_experiment(e.experiment_id)]
    return {"experiments": [e.to_json() for e in visible]}


def get_experiment(
    ctx: Context, user: User | None, _: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """GET /experiments/{experiment_id}."""
    _need_experiment(user, path["experiment_id"])
    return {"experiment": ctx.store.get_experiment(path["experiment_id"]).to_json()}


def experiment_by_name(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /experiments/get {"name", "create": bool}: create needs write on every experiment."""
    name = _text(body, "name")
    found = ctx.store.get_experiment_by_name(name)
    if found is None and body.get("create"):
        _need(user, "write", None)
        found = ctx.store.get_or_create_experiment(name)
    if found is None:
        return {"experiment": None}
    _need_experiment(user, found.experiment_id)
    return {"experiment": found.to_json()}


def create_experiment(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /experiments {"name"}: a new experiment (needs write on every experiment)."""
    _need(user, "write", None)
    return {"experiment": ctx.store.create_experiment(_text(body, "name")).to_json()}


def update_experiment(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /experiments/{experiment_id}/update {"name" | "stage" | "tags": [[k, v]]} (admin)."""
    experiment_id = path["experiment_id"]
    _need(user, "admin", experiment_id)
    if body.get("name"):
        ctx.store.rename_experiment(experiment_id, _text(body, "name"))
    if body.get("stage"):
        ctx.store.set_experiment_stage(experiment_id, _text(body, "stage"))
    if body.get("tags"):
        pairs = [(str(k), str(v)) for k, v in body["tags"]]
        ctx.store.set_experiment_tags(experiment_id, pairs)
    return {"experiment": ctx.store.get_experiment(experiment_id).to_json()}


# -- runs -------------------------------------------------------------------------------------
def create_run(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /runs {RunCreate}: the client picks the run id, so a retried create is a no-op.

    The run's ``user`` is the authenticated one; a run token's create must match what its
    submitter pinned when minting it (``server/tokens.py``)."""
    from mlrun_cli.server.tokens import differences

    if user is not None:
        body = {**body, "user": user.name}
    spec = wire.run_create_from_json(body)
    if user is not None and not user.may_run("write", spec.run_id, spec.experiment_id):
        _need(user, "write", spec.experiment_id)
        raise _out_of_scope(user, "write", spec.run_id)
    if user is not None and user.run_pin is not None:
        differ = differences(user.run_pin, spec)
        if differ:
            raise DeniedError(f"run {spec.run_id}: its {', '.join(differ)} differ(s) from what "
                              "its run-scoped token was minted for")  # fmt: skip
    try:
        existing = ctx.store.get_run(spec.run_id)
    except NotFoundError:
        return {"run": wire.run_to_wire(ctx.store.create_run(spec))}
    if existing.experiment_id != spec.experiment_id:
        raise UsageError(f"run {spec.run_id} exists in another experiment")
    return {"run": wire.run_to_wire(existing)}


def get_runs(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/get {"run_ids": [...]}: many runs in one call (missing ones left out)."""
    ids = [str(i) for i in body.get("run_ids") or ()]
    runs = ctx.store.get_runs(ids)
    for run in runs:
        _check_run(user, "read", run)
    return {"runs": [wire.run_to_wire(r) for r in runs]}


def get_run(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """GET /runs/{run_id} (a unique prefix of it works too, unless ``?exact=1``)."""
    given = path_run_id(path)
    if user is not None and user.run_id is not None:  # its own run, never another's full id
        if not user.run_id.startswith(given) or (body.get("exact") and given != user.run_id):
            raise _out_of_scope(user, "read", given)
        given = user.run_id
    run_id = given if body.get("exact") else ctx.store.resolve_run_id(given)
    run = ctx.store.get_run(run_id)
    _check_run(user, "read", run)
    return {"run": wire.run_to_wire(run)}


def log_events(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/events {"range": [start, end] | null, params, metrics, tags, ...}.

    With a range (byte offsets in the runner's events journal) the batch applies only if the
    stored offset is ``start``: a retried batch is acknowledged, never applied twice.
    """
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id)
    span = body.get("range")
    events_range = None if span is None else (int(span[0]), int(span[1]))
    result = ctx.store.log_batch(run_id, wire.batch_from_json(body), events_range)
    return {"warnings": result or [], "offset": ctx.store.events_offset(run_id)}


def events_offset(
    ctx: Context, user: User | None, _: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """GET /runs/{run_id}/offset: how much of the events journal the server has."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "read", run_id)
    return {"offset": ctx.store.events_offset(run_id)}


def finish_run(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/finish {"status", "exit_code", "reason"} (idempotent)."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id, ended_ok=True)
    exit_code = body.get("exit_code")
    changed = ctx.store.finish_run(
        run_id, _text(body, "status"), None if exit_code is None else int(exit_code),
        body.get("reason"),
    )  # fmt: skip
    return {"changed": changed}


def search_runs(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/search {experiment_ids, filter, order_by, max_results, page_token, view}."""
    from mlrun_cli.tracking.queries import search_runs as search

    ids = [str(i) for i in body.get("experiment_ids") or ()]
    if not ids:
        ids = [e.experiment_id for e in ctx.store.search_experiments("active")]
        ids = [i for i in ids if user is None or user.may("read", i)]
    for experiment_id in ids:
        _need(user, "read", experiment_id)
    page = search(
        ctx.store, ids, str(body.get("filter") or ""), list(body.get("order_by") or []) or None,
        int(body.get("max_results") or 1000), body.get("page_token"),
        str(body.get("view") or "active"),
    )  # fmt: skip
    return {"runs": [wire.run_to_wire(r) for r in page.runs],
            "next_page_token": page.next_page_token}  # fmt: skip


def metric_history(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """GET /runs/{run_id}/metrics?key=K: every point, in step order."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "read", run_id)
    points = ctx.store.metric_history(run_id, _text(body, "key"))
    return {"metrics": [[wire.number(m.value), m.step, m.timestamp] for m in points]}


def delete_tag(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/delete-tag {"key"}."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id)
    return {"deleted": ctx.store.delete_tag(run_id, _text(body, "key"))}


def set_run_stage(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/stage {"stage": "active" | "deleted"}."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id)
    ctx.store.set_run_stage(run_id, _text(body, "stage"))
    return {}


def rename_run(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/name {"name"}: the run's new name (idempotent)."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id)
    ctx.store.rename_run(run_id, _text(body, "name"))
    return {}


def set_child(
    ctx: Context, user: User | None, body: dict[str, Any], path: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/{run_id}/child {"pid", "marker"} or {"exit_code"}: the entry point's process."""
    run_id = path_run_id(path)
    _need_run(ctx, user, "write", run_id)
    if body.get("exit_code") is not None:
        ctx.store.set_child_exit(run_id, int(body["exit_code"]))
    else:
        ctx.store.set_child_process(run_id, int(body["pid"]), body.get("marker"))
    return {}


def find_finished(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /runs/find-finished {"experiment_id", "fingerprint"}: a run to reuse, or null.

    Never one tagged ``mlrun.backend.ended``: its engine job did not succeed (a FINISHED one:
    someone else ended it with its job's token, and its submitter said so)."""
    from mlrun_cli.backends.base import ENDED_TAG

    experiment_id = _text(body, "experiment_id")
    _need(user, "read", experiment_id)
    found = ctx.store.find_finished_run(experiment_id, _text(body, "fingerprint"))
    if found is not None and ENDED_TAG in found.tags:
        found = None
    return {"run": None if found is None else wire.run_to_wire(found)}


def running_on(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """GET /runs/running?host=H: RUNNING runs started on a host (its reaper checks them)."""
    live = ctx.store.running_runs_on(_text(body, "host"))
    ids = {r.run_id: r.experiment_id for r in ctx.store.get_runs([r.run_id for r in live])}
    visible = [r for r in live if user is None or (r.run_id in ids and user.may_run(
        "write", r.run_id, ids[r.run_id]))]  # fmt: skip
    return {"runs": [asdict(r) for r in visible]}


# -- tokens -----------------------------------------------------------------------------------
def create_run_token(
    ctx: Context, user: User | None, body: dict[str, Any], _: dict[str, str]
) -> dict[str, Any]:
    """POST /tokens/run {"run_id", "experiment_id", "ttl_seconds"?, "pin"?}: a token for one
    run's job.

    It writes that run only, while it runs, until it expires (default a week); minting needs
    write on the experiment and a user's own token; the token is null with --no-auth. ``pin``
    ({"entry_point", "parent_run_id", "commit", "params": {name: value}}): what the run's
    create by that token must match (``server/tokens.py``).
    """
    from mlrun_cli.server.tokens import canonical_pin
    from mlrun_cli.tracking.models import check_run_id

    run_id, experiment_id = check_run_id(_text(body, "run_id")), _text(body, "experiment_id")
    if ctx.auth is None or user is None:
        return {"token": None, "expires_at": None}
    if user.run_id is not None:
        raise DeniedError("a run-scoped token cannot create tokens")
    _need(user, "write", experiment_id)
    try:
        existing = ctx.store.get_run(run_id)
    except NotFoundError:
        existing = None
    if existing is not None and existing.experiment_id != experiment_id:
        raise UsageError(f"run {run_id} exists in another experiment")
    ttl = body.get("ttl_seconds")
    ttl_s, pinned = None if ttl is None else float(ttl), canonical_pin(body.get("pin"))
    token, expires = ctx.auth.create_run_token(user, run_id, experiment_id, ttl_s, pinned)
    return {"token": token, "expires_at": expires}


# (method, path) -> endpoint; paths are relative to /api/v1.
ROUTES: tuple[tuple[str, str, Endpoint], ...] = (
    ("GET", "/experiments", list_experiments),
    ("POST", "/experiments", create_experiment),
    ("POST", "/experiments/get", experiment_by_name),
    ("GET", "/experiments/{experiment_id}", get_experiment),
    ("POST", "/experiments/{experiment_id}/update", update_experiment),
    ("POST", "/runs", create_run),
    ("POST", "/runs/get", get_runs),
    ("POST", "/runs/search", search_runs),
    ("POST", "/runs/find-finished", find_finished),
    ("GET", "/runs/running", running_on),
    ("GET", "/runs/{run_id}", get_run),
    ("POST", "/runs/{run_id}/events", log_events),
    ("GET", "/runs/{run_id}/offset", events_offset),
    ("POST", "/runs/{run_id}/finish", finish_run),
    ("GET", "/runs/{run_id}/metrics", metric_history),
    ("POST", "/runs/{run_id}/delete-tag", delete_tag),
    ("POST", "/runs/{run_id}/stage", set_run_stage),
    ("POST", "/runs/{run_id}/name", rename_run),
    ("POST", "/runs/{run_id}/child", set_child),
    ("POST", "/tokens/run", create_run_token),
)
