"""The state one endpoint keeps beside the store while it serves a run.

A plain class, not a dataclass, and the store opened on first use: starting the endpoint sits
on every MLflow run's critical path (budget: 5 ms), the first request does not (it arrives
while the child is still importing mlflow).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.store import TrackingStore


class Session:
    """``run_id`` is the mlrun run the child was started for: its status is mlrun's to write
    (the child's FINISHED is advisory). Runs the code creates (nested runs, later top-level
    runs) are its children, listed in ``created``."""

    def __init__(
        self,
        store: TrackingStore | Callable[[], TrackingStore],
        run_id: str,
        experiment_id: str,
        command_params: dict[str, str] | None = None,
    ) -> None:
        self._store = store if not callable(store) else None
        self._open = store if callable(store) else None
        self.run_id = run_id
        self.experiment_id = experiment_id
        # The values the command got where they differ from the record (a path param's
        # absolute path, recorded relative): logging those is logging the same param.
        self.command_params = command_params or {}
        self.created: list[str] = []
        self.known_runs: set[str] = set()
        self.unknown: Counter[str] = Counter()
        self.models: dict[str, dict[str, Any]] = {}
        self.registry: dict[str, dict[str, Any]] = {}
        self.ignored_statuses: list[str] = []
        self.lock = threading.Lock()

    def may_write(self, run_id: str) -> bool:
        """On a team server any run; under ``mlrun run`` only the run mlrun started and those
        its code created: an earlier run's record is final."""
        return not self.run_id or run_id == self.run_id or run_id in self.created

    @property
    def store(self) -> TrackingStore:
        """The store, opened on first use."""
        if self._store is None:
            assert self._open is not None  # noqa: S101 - set when no store was given
            self._store = self._open()
        return self._store

    @property
    def store_opened(self) -> bool:
        """Whether any request needed the store (so there is a connection to close)."""
        return self._store is not None
