"""mlrun: a reproducible ML project runner.

Importing this package is cheap and standard-library only: it exposes the training-code API that
projects call from inside ``mlrun run`` (``mlrun_cli.log_metric(...)`` etc.).
"""

from __future__ import annotations

from mlrun_cli._version import __version__
from mlrun_cli.tracking.client import (
    TrackingClientError,
    active_run_id,
    flush,
    log_artifact,
    log_dict,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_text,
    set_tag,
    set_tags,
)

_STORE_API = ("search_runs", "get_run")


def __getattr__(name: str) -> object:
    """``search_runs`` / ``get_run`` load the store code only when used (not in child envs)."""
    if name in _STORE_API:
        from mlrun_cli import api

        return getattr(api, name)
    raise AttributeError(f"module 'mlrun_cli' has no attribute {name!r}")


__all__ = [
    "TrackingClientError",
    "__version__",
    "active_run_id",
    "flush",
    "get_run",
    "log_artifact",
    "log_dict",
    "log_metric",
    "log_metrics",
    "log_param",
    "log_params",
    "log_text",
    "search_runs",
    "set_tag",
    "set_tags",
]
