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
    from mlrun_cli.tracking.stores.rest_artifacts import ProxiedArtifacts


class LogShipper:
    """What of one run's output log the server has, and the next pieces to send."""

    INTERVAL_S = 1.0
    MAX_BYTES = 1 << 20  # a piece
    MAX_PIECES = 16  # a call of ``ship``: a chatty run catches up at 16 MiB a second

    def __init__(self, run_id: str, path: Path) -> None:
        self.run_id = run_id
        self.path = path
        self.sent = 0
        self._last: float | None = None
        self._resynced = False
        self.stopped = False

    def due(self, now: float) -> bool:
        """Whether pieces may be sent now: a second has passed and the log has grown (a short
        run that prints nothing never opens a connection for it)."""
        if self.stopped or (self._last is not None and now - self._last < self.INTERVAL_S):
            return False
        try:
            return self.path.stat().st_size > self.sent
        except OSError:
            return False

    def ship(self, store: TrackingStore, now: float) -> None:
        """Send what the log gained since the last piece the server took."""
        from mlrun_cli.errors import MlrunError
        from mlrun_cli.tracking.stores.rest_artifacts import ProxiedArtifacts as Proxied

        self._last = now
        files = store.artifacts(self.run_id)
        if not isinstance(files, Proxied):
            self.stopped = True  # not a team server: its readers see the file itself
            return
        try:
            for _ in range(self.MAX_PIECES):
                if not self._piece(files):
                    return
        except (OSError, MlrunError):
            self.stopped = True  # best effort: the whole log still goes up at the end

    def _piece(self, files: ProxiedArtifacts) -> bool:
        """Send one piece; whether there may be more to send."""
        from mlrun_cli.errors import MlrunError
        from mlrun_cli.tracking.ingest import OUTPUT_LOG

        size = self.path.stat().st_size
        if size <= self.sent:
            return False
        with self.path.open("rb") as handle:
            handle.seek(self.sent)
            data = handle.read(min(size - self.sent, self.MAX_BYTES))
        taken = files.append(OUTPUT_LOG, self.sent, data)  # -1: the server's file differs
        if 0 <= taken <= self.sent + len(data):
            self.sent = taken
            return True
        if self._resynced:
            raise MlrunError("the server's output log keeps differing from this one")
        # Make the server's file this log again (a RUNNING run's file may be replaced), once.
        self._resynced = True
        whole = self.path.read_bytes()
        files.put_bytes(OUTPUT_LOG, whole)
        self.sent = len(whole)
        return True
