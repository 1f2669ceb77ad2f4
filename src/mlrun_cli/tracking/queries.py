"""Searches the CLI and Python callers share: filter text in, records out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Experiment
    from mlrun_cli.tracking.store import TrackingStore


def search_experiments(
    store: TrackingStore, view: str = "active", filter_text: str = ""
) -> list[Experiment]:
    """Experiments in ``view`` (active, deleted, all) matching an MLflow-style filter."""
    from mlrun_cli.tracking.search import EXPERIMENT_SCHEMA, compile_filter, parse_filter

    expr = parse_filter(filter_text, schema=EXPERIMENT_SCHEMA)
    where, args = compile_filter(expr, EXPERIMENT_SCHEMA)
    return store.search_experiments(view, where, args)


def find_experiment(
    store: TrackingStore, experiment_id: str | None, name: str | None
) -> Experiment:
    """Exactly one of ``--experiment-id`` / ``--experiment-name``, resolved to an experiment."""
    if (experiment_id is None) == (name is None):
        raise UsageError("give exactly one of --experiment-id or --experiment-name")
    if experiment_id is not None:
        return store.get_experiment(experiment_id)
    assert name is not None  # noqa: S101 - checked above
    experiment = store.get_experiment_by_name(name)
    if experiment is None:
        raise NotFoundError(f"no experiment named {name!r}")
    return experiment


def experiment_ids_for(store: TrackingStore, names: list[str], ids: list[str]) -> list[str]:
    """Experiment ids from names and ids; none given means every active experiment."""
    resolved = [find_experiment(store, None, name).experiment_id for name in names]
    resolved += [store.get_experiment(i).experiment_id for i in ids]
    if not names and not ids:
        resolved = [e.experiment_id for e in store.search_experiments("active")]
    return list(dict.fromkeys(resolved))
