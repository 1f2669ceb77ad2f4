"""Typer-free helpers behind the shared options: views, the store a command opens, and run-id
arguments (positional, or ``--run-id`` as MLflow's CLI spells it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.tracking.store import TrackingStore

VIEWS = {"active": "active", "deleted": "deleted", "all": "all",
         "active_only": "active", "deleted_only": "deleted"}  # fmt: skip
VIEW_METAVAR = "[active|deleted|all]"
VIEW_HELP = "Which ones: active, deleted or all (MLflow's active_only, deleted_only too)."


def view_name(view: str) -> str:
    """Our view name for ours or MLflow's (``active_only`` -> ``active``)."""
    from mlrun_cli.errors import UsageError

    if view.lower() not in VIEWS:
        raise UsageError(
            f"--view: expected one of active, deleted, all; got {view!r} "
            "(MLflow's active_only and deleted_only work too)"
        )
    return VIEWS[view.lower()]


def open_cli_store(tracking_uri: str | None, *, create: bool = False) -> TrackingStore:
    """The store, with orphaned runs reaped. Only commands that record create it."""
    from mlrun_cli._system import hostname
    from mlrun_cli.tracking.store import open_store

    store = open_store(tracking_uri, create=create)
    host = hostname()
    if store.running_runs_on(host):  # the ingest code (~20 ms) only when a run may need reaping
        from mlrun_cli.tracking.ingest import reap_orphans

        reap_orphans(store, host)
    return store


def run_ids_from(positional: list[str] | None, option: list[str] | None) -> list[str]:
    """Run ids given positionally and with ``--run-id``, in order."""
    return [*(positional or ()), *(option or ())]


def one_run_id(positional: str | None, option: list[str] | None) -> str:
    """Exactly one run id, positional or ``--run-id``."""
    from mlrun_cli.errors import UsageError

    ids = run_ids_from([positional] if positional else [], option)
    if len(ids) != 1:
        raise UsageError(
            "expected one run id (RUN_ID or --run-id RUN_ID); got "
            + (", ".join(ids) if ids else "none")
        )
    return ids[0]


def distinct_run_ids(store: TrackingStore, ids: list[str]) -> list[str]:
    """The full ids ``ids`` name, each once, in order: a run given twice (``0666ebd1`` and its
    full id, say) is shown once, and the note says so."""
    from mlrun_cli.cli._output import info

    full: list[str] = []
    for given in ids:
        run_id = store.resolve_run_id(given)
        if run_id in full:
            info(f"run {run_id[:8]} is given more than once: shown once")
        else:
            full.append(run_id)
    return full
