"""The tracking token of a backend job: a run-scoped one, minted by the team server.

Every channel an engine offers to a job is written down: Ray returns a job's ``runtime_env``
(its ``env_vars`` too) and entrypoint to anyone who reaches the dashboard and logs them;
slurmctld saves a job's script and environment under its ``StateSaveLocation``. So a job never
carries the user's token: the submitter asks the server (with the user's token) for a token
that writes that one run only, while it runs, and expires after a TTL (``server/auth.py``),
and the job carries that. Someone who reads it from the dashboard can write that run, nothing
else. A server with ``--no-auth`` mints nothing, and the job needs nothing.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.store import StoreLocation, TrackingStore

TOKEN_ENV = "MLRUN_TRACKING_TOKEN"  # noqa: S105 - a variable name
# Never passed to an engine from the submitter's environment or a backend config.
SECRET_ENV = (TOKEN_ENV, "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD")
TTL_KEY = "token_ttl"  # backend config: the run token's lifetime, in seconds
MAX_TTL_S = 30 * 24 * 3600  # the server's limit (server/auth.py MAX_RUN_TOKEN_TTL_S)


def ttl_of(config: dict[str, Any]) -> float | None:
    """The backend config's ``token_ttl`` (None: the server's default, a week)."""
    value = config.get(TTL_KEY)
    if value is None:
        return None
    try:
        ttl = float(value)
    except (TypeError, ValueError):
        ttl = 0.0
    if not 0 < ttl <= MAX_TTL_S:
        raise UsageError(
            f"--backend-config: {TTL_KEY} {value!r}: expected a number of seconds, more than 0 "
            f"and at most {MAX_TTL_S} (30 days)"
        )
    return ttl


def run_token(
    store: TrackingStore, location: StoreLocation, run_id: str, experiment_id: str,
    ttl: float | None = None, pin: dict[str, Any] | None = None,
) -> str | None:  # fmt: skip
    """A token for the job of ``run_id`` (None: no team server, no token here, or the server
    runs without auth); ``pin``: what the run's create must match (``server/tokens.py``)."""
    call = getattr(store, "call", None)
    if location.remote is None or call is None or not os.environ.get(TOKEN_ENV):
        return None
    body: dict[str, Any] = {"run_id": run_id, "experiment_id": experiment_id}
    if ttl is not None:
        body["ttl_seconds"] = ttl
    if pin is not None:
        body["pin"] = pin
    answer = call("POST", "/tokens/run", body)
    token = answer.get("token") if isinstance(answer, dict) else None
    return str(token) if token else None
