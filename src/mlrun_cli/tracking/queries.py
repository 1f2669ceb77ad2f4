"""Searches the CLI and Python callers share: filter text in, records out.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Experiment, Run
    from mlrun_cli.tracking.run_search import OrderKey
    from mlrun_cli.tracking.store import TrackingStore


def search_experiments(
    store: TrackingStore, view: str = "active", filter_text: str = ""
) -> list[Experiment]:
    """Experiments in ``view`` (active, deleted, all) matching an MLflow-style filter."""
    return store.search_experiments(view, filter_text)


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
        where = getattr(store, "label", None)  # the store, as the id form names it
        raise NotFoundError(f"no experiment named {name!r}" + (f" in {where}" if where else ""))
    return experiment


def experiment_ids_for(store: TrackingStore, names: list[str], ids: list[str]) -> list[str]:
    """Experiment ids from names and ids; none given means every active experiment.

    A team server (a store that runs searches itself) is sent no ids for that: it resolves
    every active experiment the user may read in the search's own request, one round trip
    less for ``runs search``."""
    resolved = [find_experiment(store, None, name).experiment_id for name in names]
    resolved += [store.get_experiment(i).experiment_id for i in ids]
    if not names and not ids:
        if getattr(store, "search_runs_page", None) is not None:
            return []
        resolved = [e.experiment_id for e in store.search_experiments("active")]
    return list(dict.fromkeys(resolved))


def _fits(key: OrderKey, value: object) -> bool:
    """Whether a keyset token's value has the type the order key's column holds."""
    from mlrun_cli.tracking.search import RUN_SCHEMA

    if value is None:
        return True
    if key.entity == "attribute":
        text = RUN_SCHEMA.attributes[key.key][1] == "string"
    else:
        text = key.entity != "metric"
    return isinstance(value, str) if text else isinstance(value, (int, float))


class RunPage(Record):
    """One page of a run search, and the token for the next one (None: no more)."""

    runs: list[Run]
    next_page_token: str | None


def search_runs(
    store: TrackingStore,
    experiment_ids: list[str],
    filter_text: str = "",
    order_by: list[str] | None = None,
    max_results: int = 1000,
    page_token: str | None = None,
    view: str = "active",
) -> RunPage:
    """Runs matching an MLflow-style filter, ordered (default ``start_time DESC``), one page."""
    from mlrun_cli.tracking.run_search import (
        DEFAULT_ORDER,
        RunQuery,
        decode_token,
        encode_keyset_token,
        encode_page_token,
        order_signature,
        parse_order_by,
    )
    from mlrun_cli.tracking.search import RUN_SCHEMA, parse_filter

    if view not in ("active", "deleted", "all"):
        raise UsageError(f"--view: expected one of active, deleted, all; got {view!r}")
    if max_results < 1:
        raise UsageError(f"--max-results: expected a positive number; got {max_results}")
    remote = getattr(store, "search_runs_page", None)
    if remote is not None:  # a team server compiles and runs the search itself
        page: RunPage = remote(experiment_ids, filter_text, order_by, max_results, page_token, view)
        return page
    expr = parse_filter(filter_text, schema=RUN_SCHEMA)
    order = tuple(parse_order_by(text) for text in (order_by or [DEFAULT_ORDER]))
    position = decode_token(page_token)
    query = RunQuery(tuple(int(i) for i in experiment_ids), view, expr, order)
    keyset = getattr(store, "search_run_ids_after", None)
    position_of = getattr(store, "run_position", None)
    if not experiment_ids:
        return RunPage([], None)
    if keyset and position_of and (position == 0 or not isinstance(position, int)):
        # Keyset pages: the next starts after this one's last row, however deep.
        after = None
        if not isinstance(position, int):
            values, run_id, token_order = position
            if token_order != order_signature(order) or len(values) != len(order):
                raise UsageError(
                    "--page-token: the token belongs to a search with another --order-by"
                )
            if not all(_fits(key, value) for key, value in zip(order, values, strict=True)):
                raise UsageError(f"--page-token {page_token!r}: not a token mlrun gave out")
            after = (values, run_id)
        ids = keyset(query, max_results + 1, after)
        next_token = None
        if len(ids) > max_results:
            values, run_id = position_of(query, ids[max_results - 1])
            # (a digest: hashlib, ~5 ms of startup, only when there is a next page)
            next_token = encode_keyset_token(values, run_id, order_signature(order))
        return RunPage(store.get_runs(ids[:max_results]), next_token)
    offset = position if isinstance(position, int) else 0
    ids = store.search_run_ids(query, max_results + 1, offset)
    next_token = encode_page_token(offset + max_results) if len(ids) > max_results else None
    return RunPage(store.get_runs(ids[:max_results]), next_token)
