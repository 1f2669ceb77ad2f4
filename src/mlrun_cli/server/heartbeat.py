"""Heartbeats: a RUNNING run whose runner stopped talking to the server is marked FAILED.

Every call a runner makes about its run (its live ingest asks for the run's offset every
second) records the time in ``run_heartbeats`` (at most every few seconds per run). A task of
the server fails the runs mlrun started (they have a runner pid; runs MLflow code created
directly do not) whose last heartbeat, or start, is older than the timeout.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

from mlrun_cli.errors import MlrunError

if TYPE_CHECKING:
    from mlrun_cli.tracking.sql.store import SqlStore

TIMEOUT_ENV = "MLRUN_SERVER_HEARTBEAT_TIMEOUT"
DEFAULT_TIMEOUT = 300.0
_WRITE_EVERY = 5.0


def timeout_seconds() -> float:
    """The heartbeat timeout (``MLRUN_SERVER_HEARTBEAT_TIMEOUT``, seconds; default 300)."""
    return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)


class Heartbeats:
    """The heartbeat table of the backend store, over its connection (SQLite or PostgreSQL)."""

    def __init__(self, store: SqlStore, timeout: float) -> None:
        self.timeout = timeout
        self._store = store
        self._written: dict[str, float] = {}
        self._started = time.time()

    def seen(self, run_id: str) -> None:
        """The runner of ``run_id`` is alive (written at most every few seconds)."""
        now = time.time()
        if now - self._written.get(run_id, 0.0) < min(_WRITE_EVERY, self.timeout / 4):
            return
        self._written[run_id] = now
        # Best effort: the request it rides on has succeeded; a missed beat is written later.
        with contextlib.suppress(MlrunError):
            self._store.connection.execute(
                "INSERT INTO run_heartbeats (run_id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (run_id) DO UPDATE SET seen_at = excluded.seen_at",
                (run_id, int(now * 1000)),
            )

    def expire(self) -> list[str]:
        """Fail the runner-managed RUNNING runs silent for longer than the timeout."""
        from mlrun_cli.tracking import models
        from mlrun_cli.tracking.queries import search_runs

        store = self._store
        ids = [e.experiment_id for e in store.search_experiments("all")]
        if not ids:
            return []
        running = search_runs(store, ids, "attributes.status = 'RUNNING'", max_results=10000,
                              view="all").runs  # fmt: skip
        rows = store.connection.execute("SELECT run_id, seen_at FROM run_heartbeats").fetchall()
        beats = {str(run_id): int(seen_at) for run_id, seen_at in rows}
        # A server that was down saw no heartbeat: runs get a full timeout from its start.
        floor = self._started * 1000
        limit = (time.time() - self.timeout) * 1000
        failed = []
        for run in running:
            if not run.host or run.command == "":
                continue  # not started by an mlrun runner (MLflow code logging directly)
            last = max(beats.get(run.run_id, 0), run.start_time, floor)
            if last < limit:
                reason = f"no heartbeat from its runner on {run.host} for {self.timeout:g}s"
                if store.finish_run(run.run_id, models.FAILED, None, reason):
                    failed.append(run.run_id)
        return failed
