"""A RUNNING run's output log, sent to the team server as it grows.

Without it a run on another machine shows no output until it ends. Every ``INTERVAL_S`` the
runner sends what the log gained (``PUT .../artifacts/_mlrun/output.log?offset=N``, at most
``MAX_BYTES`` a call): the server appends it to the run's file, where ``mlrun runs logs
--follow`` and the web UI read it. Best effort: a failure stops the shipping, never the run;
the whole log is uploaded when the run ends, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from mlrun_cli.tracking.store import TrackingStore


class LogShipper:
    """What of one run's output log the server has, and the next piece to send."""

    INTERVAL_S = 1.0
    MAX_BYTES = 1 << 20

    def __init__(self, run_id: str, path: Path) -> None:
        self.run_id = run_id
        self.path = path
        self.sent = 0
        self._last: float | None = None
        self.stopped = False

    def due(self, now: float) -> bool:
        """Whether a piece may be sent now."""
        return not self.stopped and (self._last is None or now - self._last >= self.INTERVAL_S)

    def ship(self, store: TrackingStore, now: float) -> None:
        """Send what the log gained since the last piece the server took."""
        from mlrun_cli.errors import MlrunError
        from mlrun_cli.tracking.ingest import OUTPUT_LOG
        from mlrun_cli.tracking.stores.rest_artifacts import ProxiedArtifacts

        self._last = now
        try:
            size = self.path.stat().st_size
            if size <= self.sent:
                return
            with self.path.open("rb") as handle:
                handle.seek(self.sent)
                data = handle.read(min(size - self.sent, self.MAX_BYTES))
            files = store.artifacts(self.run_id)
            if not isinstance(files, ProxiedArtifacts):
                self.stopped = True  # not a team server: its readers see the file itself
                return
            taken = files.append(OUTPUT_LOG, self.sent, data)
        except (OSError, MlrunError):
            self.stopped = True
            return
        if taken > size:
            self.stopped = True  # the server's file is not this log: leave it to the end
        else:
            self.sent = taken
