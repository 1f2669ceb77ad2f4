"""The Python API over the tracking store (what the CLI uses), importable lazily from
``mlrun_cli``: ``mlrun_cli.search_runs(...)``, ``mlrun_cli.get_run(...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.queries import RunPage


def search_runs(
    filter_string: str = "",
    *,
    experiment_names: list[str] | None = None,
    experiment_ids: list[str] | None = None,
    order_by: list[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    view: str = "active",
    tracking_uri: str | None = None,
) -> RunPage:
    """Runs matching an MLflow-style filter (``metrics.rmse < 0.8 and params.alpha = '0.5'``).

    No experiment named means every active experiment. Returns a page: ``.runs`` and
    ``.next_page_token`` (pass it back as ``page_token`` for the next page).
    """
    from mlrun_cli.tracking.queries import experiment_ids_for
    from mlrun_cli.tracking.queries import search_runs as query
    from mlrun_cli.tracking.store import open_store

    store = open_store(tracking_uri, create=False)
    try:
        ids = experiment_ids_for(store, experiment_names or [], experiment_ids or [])
        return query(store, ids, filter_string, order_by, max_results, page_token, view)
    finally:
        store.close()


def get_run(run_id: str, *, tracking_uri: str | None = None) -> Run:
    """One run by id (or unique prefix)."""
    from mlrun_cli.tracking.store import open_store

    store = open_store(tracking_uri, create=False)
    try:
        return store.get_run(store.resolve_run_id(run_id))
    finally:
        store.close()
