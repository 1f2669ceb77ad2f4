"""MLflow's REST API over the TrackingStore: unchanged MLflow code records into mlrun runs.

``handlers`` are plain functions (Request -> Response, over the TrackingStore protocol), so the
loopback endpoint of ``mlrun run`` (``loopback``, standard library only) and a team server can
mount the same code. No HTTP framework is imported here.

This module imports nothing: deciding that a run needs no endpoint costs microseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.envs.base import Env
    from mlrun_cli.mlflow_compat.loopback import LoopbackEndpoint
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

MLFLOW_PACKAGES = frozenset({"mlflow", "mlflow-skinny"})


def env_has_mlflow(env: Env) -> bool:
    """Whether the run's environment has MLflow's client (read from its lock: no import)."""
    if env.lock is None:
        return False
    return any(name in MLFLOW_PACKAGES for name, _ in env.lock.packages)


def serve_mlflow(
    store: TrackingStore, run: Run, env: Env, command_params: dict[str, str] | None = None
) -> LoopbackEndpoint | None:
    """The endpoint for a run whose environment has MLflow; None (and no cost) otherwise."""
    if not env_has_mlflow(env):
        return None
    from mlrun_cli.mlflow_compat.loopback import LoopbackEndpoint
    from mlrun_cli.mlflow_compat.session import Session
    from mlrun_cli.tracking.store import open_store

    # Its own connection (opened by the first request): the endpoint's requests never
    # interleave with mlrun's own writes.
    uri = store.uri
    return LoopbackEndpoint(
        Session(lambda: open_store(uri), run.run_id, run.experiment_id, command_params)
    )
