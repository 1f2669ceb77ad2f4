"""Per-experiment run counts and last activity (the web UI's experiments list).

SQLite stores answer with one grouped query; any other TrackingStore through the protocol
(``search_run_ids`` and the newest run), one experiment at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.tracking.store import TrackingStore


@dataclass(frozen=True)
class RunStats:
    """How many active runs an experiment has, and when the newest started or ended (ms)."""

    runs: int
    last_activity: int | None


def experiment_run_stats(
    store: TrackingStore, experiment_ids: Sequence[str]
) -> dict[str, RunStats]:
    """Active-run count and last activity of each experiment (experiments with no run: 0)."""
    from mlrun_cli.tracking.sqlite import SqliteStore

    stats = dict.fromkeys(experiment_ids, RunStats(0, None))
    if isinstance(store, SqliteStore):
        rows = store._conn.execute(
            # One sequential pass (2x faster than walking runs_by_experiment plus row lookups).
            "SELECT experiment_id, COUNT(*), MAX(start_time), MAX(end_time) FROM runs NOT INDEXED "
            "WHERE lifecycle_stage = 'active' GROUP BY experiment_id"
        )
        for experiment_id, count, started, ended in rows:
            key = str(experiment_id)
            if key in stats:
                stats[key] = RunStats(int(count), max(started or 0, ended or 0) or None)
        return stats
    from mlrun_cli.tracking.run_search import DEFAULT_ORDER, RunQuery, parse_order_by

    by_start = (parse_order_by(DEFAULT_ORDER),)
    by_end = (parse_order_by("end_time DESC"),)
    for experiment_id in experiment_ids:
        query = RunQuery((int(experiment_id),), "active", None, by_start)
        ids = store.search_run_ids(query, 10_000_000, 0)
        # The newest start and the newest end may be different runs (one started earlier ran
        # longer), as the grouped query's MAX(start_time), MAX(end_time) sees them.
        ended = store.search_run_ids(RunQuery(query.experiment_ids, "active", None, by_end), 1, 0)
        times = [
            t
            for run in store.get_runs([*ids[:1], *ended])
            for t in (run.start_time, run.end_time)
            if t
        ]
        stats[experiment_id] = RunStats(len(ids), max(times) if times else None)
    return stats
