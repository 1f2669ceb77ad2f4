"""The training-code API outside ``mlrun run``: calls write a run straight into the store.

The run is created on the first call (experiment from ``MLRUN_EXPERIMENT_NAME``, store from
``MLRUN_TRACKING_URI`` or ``./mlruns``) and finished when the process exits: FINISHED, or FAILED
if an exception escaped.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from mlrun_cli._system import current_user, hostname
from mlrun_cli.tracking import models
from mlrun_cli.tracking.ingest import parse_events, process_start_marker

if TYPE_CHECKING:
    from types import TracebackType

EXPERIMENT_NAME_ENV = "MLRUN_EXPERIMENT_NAME"


def _text(value: str) -> str:
    """argv as text for the record: bytes that are not UTF-8 (a non-UTF-8 file name) are
    shown as ``\\xff`` escapes rather than refused."""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class DirectSink:
    """Applies each event to the store at once (one short transaction per call)."""

    def __init__(self) -> None:
        from mlrun_cli.errors import MlrunError
        from mlrun_cli.tracking.client import TrackingClientError

        try:
            self._start()
        except MlrunError as exc:  # a store that cannot be used: the caller's error type
            raise TrackingClientError(f"cannot log to the tracking store: {exc}") from exc

    def _start(self) -> None:
        import json

        from mlrun_cli.tracking.names import generate_run_name
        from mlrun_cli.tracking.store import open_store

        self._json = json
        self._store = open_store()
        self._lock = threading.Lock()
        experiment = self._store.get_or_create_experiment(
            os.environ.get(EXPERIMENT_NAME_ENV) or "Default"
        )
        script = _text(sys.argv[0]) if sys.argv and sys.argv[0] else "<interactive>"
        spec = models.RunCreate(
            experiment_id=experiment.experiment_id,
            name=generate_run_name(),
            entry_point=Path(script).name,
            command=_text(" ".join(sys.argv)) or script,
            code=models.CodeVersion("script", str(Path(script).absolute())),
            user=current_user(),
            host=hostname(),
            pid=os.getpid(),
            pid_start=process_start_marker(os.getpid()),
        )
        run = self._store.create_run(spec)
        self.run_id = run.run_id
        self.artifact_dir = self._store.location.staging_dir(run.run_id)
        self.artifact_dir.mkdir(parents=True, exist_ok=True)
        # How the process ends, as far as Python lets us see it: an uncaught exception
        # (excepthook) or an explicit sys.exit(code). atexit itself gets no exit status.
        self._status, self._exit_code = models.FINISHED, 0
        previous_hook, previous_exit = sys.excepthook, sys.exit

        def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
            interrupted = issubclass(kind, KeyboardInterrupt)
            self._status = models.KILLED if interrupted else models.FAILED
            self._exit_code = 130 if interrupted else 1
            previous_hook(kind, value, tb)

        def exit_with(code: str | int | None = 0) -> NoReturn:
            number = code if isinstance(code, int) else (0 if code is None else 1)
            self._status = models.FINISHED if number == 0 else models.FAILED
            self._exit_code = number
            previous_exit(code)

        sys.excepthook = hook
        sys.exit = exit_with
        atexit.register(self._finish)

    def emit(self, event: dict[str, Any]) -> None:
        """Store one event now."""
        from mlrun_cli.errors import MlrunError
        from mlrun_cli.tracking.client import TrackingClientError

        line = self._json.dumps(event, allow_nan=True).encode() + b"\n"
        with self._lock:
            try:
                self._store.log_batch(self.run_id, parse_events(line).batch())
            except MlrunError as exc:  # a full disk, a store gone read-only
                raise TrackingClientError(f"cannot log to the tracking store: {exc}") from exc

    def close(self) -> None:
        """Nothing to flush: every event is already in the store."""

    def _finish(self) -> None:
        reason = None if self._status == models.FINISHED else f"exit code {self._exit_code}"
        self._store.finish_run(self.run_id, self._status, self._exit_code, reason)
        self._store.close()
