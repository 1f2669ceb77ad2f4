"""mlrun: a reproducible ML project runner.

Importing this package is cheap and standard-library only: it exposes the training-code API that
projects call from inside ``mlrun run`` (``mlrun_cli.log_metric(...)`` etc.). Those names load
``tracking/client.py`` on first use, so the CLI's own modules (``import mlrun_cli.tracking.sqlite``)
do not pay for the client's imports (json, threading, ...) when they never log anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli._version import __version__

if TYPE_CHECKING:
    from mlrun_cli.api import get_run, search_runs
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

_CLIENT_API = frozenset(
    (
        "TrackingClientError",
        "active_run_id",
        "flush",
        "log_artifact",
        "log_dict",
        "log_metric",
        "log_metrics",
        "log_param",
        "log_params",
        "log_text",
        "set_tag",
        "set_tags",
    )
)
_STORE_API = ("search_runs", "get_run")


def __getattr__(name: str) -> object:
    """The training-code API (``tracking/client.py``) and ``search_runs`` / ``get_run`` (the
    store's code; not in child envs) load when first used."""
    if name in _CLIENT_API:
        from mlrun_cli.tracking import client

        value = getattr(client, name)
    elif name in _STORE_API:
        from mlrun_cli import api

        value = getattr(api, name)
    else:
        raise AttributeError(f"module 'mlrun_cli' has no attribute {name!r}")
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
