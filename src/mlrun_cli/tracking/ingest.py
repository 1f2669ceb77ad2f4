"""Turn the child's JSON-lines events into store writes: live while it runs, and at its end.

Each ingest reads the events file from the offset the store remembers, parses only complete
lines, and applies them together with the new offset in one transaction: an event is ingested
exactly once even if mlrun is killed half-way and a later command finishes the job.
"""

from __future__ import annotations

import json
import math
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun_cli.tracking import client
from mlrun_cli.tracking.bulk import collector_paused
from mlrun_cli.tracking.models import Artifact, EventBatch, Metric, Param, checked_metric
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.models import LiveRun
    from mlrun_cli.tracking.store import TrackingStore

MAX_BATCH_BYTES = 32 << 20


class ParsedEvents:
    """Events parsed from a chunk of lines, plus what could not be parsed (filled in place;
    a plain class: ``dataclasses`` costs ~14 ms to import on every run)."""

    __slots__ = ("artifacts", "bad_lines", "first_problem", "metrics", "params", "tags")

    def __init__(self) -> None:
        self.params: list[Param] = []
        self.metrics: list[Metric] = []
        self.tags: list[tuple[str, str]] = []
        self.artifacts: list[Artifact] = []
        self.bad_lines = 0
        self.first_problem: str | None = None

    __repr__ = Record.__repr__  # its fields in slot order, as a record shows them

    def batch(self) -> EventBatch:
        """Freeze into an EventBatch for the store."""
        return EventBatch(
            tuple(self.params), tuple(self.metrics), tuple(self.tags), tuple(self.artifacts)
        )


def _number(key: str, value: Any) -> float:
    if isinstance(value, str):
        # NaN and infinities travel as their repr (JSON has no literal for them).
        number = float(value)
        if not (math.isnan(number) or math.isinf(number)):
            raise ValueError(f"metric {key!r}: expected a number; got {value!r}")
        return number
    return client.metric_value(key, value)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_TS_MIN, _TS_MAX = client.TIMESTAMP_RANGE


def _metric(event: Any, keys: set[str]) -> Metric:
    """A metric event, validated as the client validates; the common shapes take a fast path
    (100,000 points a second matter at the end of a run)."""
    key, value, step, stamp = event["k"], event["v"], event["s"], event["ts"]
    if type(key) is not str or key not in keys:
        keys.add(client.validate_key("metric", key))
    number = float(value) if type(value) in (int, float) else _number(key, value)
    if type(step) is not int or not _INT64_MIN <= step <= _INT64_MAX:
        step = client.step_value(step)
    if type(stamp) is not int or not _TS_MIN <= stamp <= _TS_MAX:
        stamp = client.timestamp_ms(stamp)
    return checked_metric(key, number, step, stamp)


def _apply(event: Any, parsed: ParsedEvents, keys: set[str]) -> None:
    """Validate one event exactly as the client does (the events file is not trusted)."""
    kind = event["t"]
    if kind == "metric":
        parsed.metrics.append(_metric(event, keys))
    elif kind == "param":
        key = client.validate_key("param", event["k"])
        value = client.text_value("param", key, event["v"], client.MAX_PARAM_VALUE_LENGTH)
        parsed.params.append(Param(key, value))
    elif kind == "tag":
        key = client.validate_key("tag", event["k"])
        parsed.tags.append((key, client.text_value("tag", key, event["v"],
                                                   client.MAX_TAG_VALUE_LENGTH)))  # fmt: skip
    elif kind == "artifact":
        path, size, digest = event["p"], event["n"], event["h"]
        if not isinstance(path, str) or not isinstance(digest, str):
            raise TypeError("artifact path and hash must be strings")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"artifact {path!r}: size {size!r} is not a byte count")
        parsed.artifacts.append(Artifact(client.artifact_relpath(path), size,
                                         client.unicode_text("artifact hash", digest)))  # fmt: skip
    else:
        raise ValueError(f"unknown event type {kind!r}")


# What a malformed line can raise (RecursionError: JSON nested thousands deep).
_BAD_LINE = (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError)


def parse_events(chunk: bytes) -> ParsedEvents:
    """Parse complete JSON lines; invalid lines are counted (the first reason kept), never
    fatal: one bad event costs only itself, never the rest of its batch."""
    return _parse_whole(chunk) or _parse_lines(chunk)


def _parse_whole(chunk: bytes) -> ParsedEvents | None:
    """The common chunk, every line a valid event, parsed as one JSON array (one call into
    the C parser instead of one per line: 100,000 points in ~0.1 s). None: some line is not
    a valid event (or lines that are not events on their own), so parse line by line."""
    lines = [line for line in chunk.splitlines() if line.strip()]
    try:
        events = json.loads(b"[" + b",".join(lines) + b"]")
    except _BAD_LINE:
        return None
    if len(events) != len(lines):
        return None  # a line holding two values, or one value spread over lines
    parsed = ParsedEvents()
    keys: set[str] = set()
    append, checked = parsed.metrics.append, checked_metric
    low, high, first, last = _INT64_MIN, _INT64_MAX, _TS_MIN, _TS_MAX
    try:
        for event in events:
            if type(event) is not dict or event.get("t") != "metric":
                _apply(event, parsed, keys)
                continue
            key, value, step, stamp = event["k"], event["v"], event["s"], event["ts"]
            # The client's own line (a known key, a float, int step and time in range) needs
            # no checks: built by checked_metric, without _metric's call per point.
            if (
                type(value) is float and type(step) is int and type(stamp) is int
                and key in keys and low <= step <= high and first <= stamp <= last
            ):  # fmt: skip
                append(checked(key, value, step, stamp))
            else:
                append(_metric(event, keys))
    except _BAD_LINE:
        return None
    return parsed


def _parse_lines(chunk: bytes) -> ParsedEvents:
    parsed = ParsedEvents()
    loads = json.loads
    keys: set[str] = set()
    for number, line in enumerate(chunk.splitlines(), 1):
        if not line.strip():
            continue
        try:
            _apply(loads(line), parsed, keys)
        except (
            ValueError,
            KeyError,
            TypeError,
            AttributeError,
            OverflowError,
            RecursionError,
        ) as exc:
            # TrackingClientError is a ValueError; a non-UTF-8 line is a UnicodeDecodeError.
            parsed.bad_lines += 1
            if parsed.first_problem is None:
                reason = (
                    str(exc) if isinstance(exc, (ValueError, OverflowError))
                    else "nested too deeply" if isinstance(exc, RecursionError)
                    else f"missing or bad {exc}"
                )  # fmt: skip
                parsed.first_problem = f"line {number} of the batch: {reason[:200]}"
    return parsed


def ingest_available(
    store: TrackingStore, run_id: str, events_path: Path, *, final: bool = False
) -> list[str]:
    """Ingest every complete line past the stored offset; return warnings to show.

    ``final``: the writers are gone, so a last line without its newline is complete too.
    """
    warnings: list[str] = []
    offset = store.events_offset(run_id)
    try:
        handle = events_path.open("rb")
    except FileNotFoundError:
        return warnings
    with handle:
        while True:
            handle.seek(offset)
            chunk = handle.read(MAX_BATCH_BYTES)
            end = chunk.rfind(b"\n")
            if final and chunk and len(chunk) < MAX_BATCH_BYTES:
                end = len(chunk) - 1  # the end of the file: its unterminated last line too
            if end < 0:
                break
            chunk = chunk[: end + 1]
            with collector_paused():
                parsed = parse_events(chunk)
                applied = store.log_batch(run_id, parsed.batch(), (offset, offset + len(chunk)))
            if applied is None:
                # Another process ingested from this offset first: continue from where it is.
                offset = store.events_offset(run_id)
                continue
            if parsed.bad_lines:
                warnings.append(
                    f"ignored {parsed.bad_lines} invalid event line(s) ({parsed.first_problem})"
                )
            warnings.extend(applied)
            offset += len(chunk)
    return warnings


HEARTBEAT_ENV = "MLRUN_TRACKING_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT_S = 15.0


def heartbeat_seconds() -> float:
    """How long a runner may go without calling its team server before it calls only to say
    it is alive (``MLRUN_TRACKING_HEARTBEAT_SECONDS``, default 15; the server's
    ``MLRUN_SERVER_HEARTBEAT_TIMEOUT`` must be well above it)."""
    from mlrun_cli.errors import UsageError

    text = os.environ.get(HEARTBEAT_ENV) or ""
    try:
        value = float(text) if text else DEFAULT_HEARTBEAT_S
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{HEARTBEAT_ENV}={text!r}: expected a positive number of seconds")
    return value


class LiveIngester:
    """A background thread ingesting events while the child runs: what it logged every
    ``interval`` seconds, and a burst (``BURST_BYTES`` more) as soon as a poll sees it.

    A child logging fast (500,000 points a second) is followed closely instead of 0.2 s
    behind, so the ingest overlaps its run (another core) and little is left once it exits;
    a poll that finds the file no larger costs one ``stat``."""

    POLL_S = 0.02
    BURST_BYTES = 256 << 10  # ~3,000 points

    def __init__(
        self,
        open_store: Callable[[], TrackingStore],
        run_id: str,
        events_path: Path,
        warn: Callable[[str], None],
        interval: float = 0.2,
        log_path: Path | None = None,
    ) -> None:
        """``log_path``: the run's output log, sent to a team server as it grows."""
        self._open_store = open_store
        self._log_path = log_path
        self._run_id = run_id
        self._events_path = events_path
        self._warn = warn
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mlrun-ingest", daemon=True)

    def start(self) -> None:
        """Start polling."""
        self._thread.start()

    def _loop(self) -> None:
        # The poller opens its own connection, and only once there is something to ingest
        # before the end: short runs (most of them) never pay for it.
        import time

        from mlrun_cli.errors import MlrunError

        store: TrackingStore | None = None
        seen, since = 0, time.monotonic()
        poll = min(self.POLL_S, self._interval)
        beat: float | None = heartbeat_seconds()
        shipper = None
        if self._log_path is not None:
            from mlrun_cli.tracking.log_ship import LogShipper

            shipper = LogShipper(self._run_id, self._log_path)
        try:
            while not self._stop.wait(poll):
                now = time.monotonic()
                if shipper is not None and shipper.due(now):
                    store = store or self._open_store()
                    shipper.ship(store, now)
                if beat is not None and now - since >= beat:
                    # A team server fails a run whose runner is silent (a dead host): a child
                    # that logs nothing for a while still has a live runner, which says so.
                    store = store or self._open_store()
                    if store.location.remote is None:
                        beat = None  # a local store sees the runner's process instead
                    else:
                        store.events_offset(self._run_id)
                    since = now
                try:
                    size = self._events_path.stat().st_size
                except FileNotFoundError:
                    continue
                if size == seen or (
                    size - seen < self.BURST_BYTES and now - since < self._interval
                ):
                    continue
                seen, since = size, now
                store = store or self._open_store()
                for message in ingest_available(store, self._run_id, self._events_path):
                    self._warn(message)
        except MlrunError as exc:
            # A full disk or a damaged store: stop polling; the final ingest tries again and
            # the events stay in their file until some ingest succeeds.
            self._warn(f"live ingest stopped: {exc}")
        finally:
            if store is not None:
                store.close()

    def stop(self) -> None:
        """Stop polling and wait for the thread (the final ingest is the caller's)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def process_start_marker(pid: int) -> str | None:
    """A value that changes when ``pid`` is reused: pid namespace and start time (Linux)."""
    try:
        namespace = str(Path("/proc/self/ns/pid").readlink())
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after the last ')' are fixed.
    return f"{namespace}:{stat.rsplit(')', 1)[1].split()[19]}"


def process_alive(pid: int | None, start_marker: str | None) -> bool:
    """Whether a recorded process still exists (and is the same process)."""
    if pid is None:
        return False
    if start_marker is not None:
        namespace = start_marker.rsplit(":", 1)[0]
        try:
            if str(Path("/proc/self/ns/pid").readlink()) != namespace:
                return True  # recorded in another pid namespace (a container): cannot judge
        except OSError:
            pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return start_marker is None  # no /proc (not Linux): trust kill(0)
    if fields[0] == "Z":
        return False  # a zombie nobody reaped (its parent, mlrun, is gone) is not running
    return start_marker is None or process_start_marker(pid) == start_marker


def reap_orphans(store: TrackingStore, host: str) -> list[str]:
    """Finish the RUNNING runs of this host whose mlrun and entry-point processes are gone.

    What the child logged is ingested and its output log recorded first; only then is the run
    finished (concurrent reapers ingest each event once and only one finishes it). A reap that
    fails (a full disk, a read-only store) leaves the run RUNNING with its events in place, to
    be retried by the next command; it never fails the command that found it.
    """
    from mlrun_cli.errors import MlrunError

    reaped: list[str] = []
    try:
        candidates = store.running_runs_on(host)
    except MlrunError:
        return reaped
    for live in candidates:
        if live.pid is None or process_alive(live.pid, live.pid_start):
            continue
        if process_alive(live.child_pid, live.child_pid_start):
            continue  # mlrun died but the entry point still runs: it is still logging
        try:
            if _reap(store, live):
                reaped.append(live.run_id)
        except (MlrunError, OSError):
            continue
    return reaped


def _reap(store: TrackingStore, live: LiveRun) -> bool:
    events = Path(live.events_path) if live.events_path else None
    if events is not None:
        ingest_available(store, live.run_id, events, final=True)
    record_output_log(store, live.run_id)
    exit_code = store.get_run(live.run_id).exit_code
    if exit_code is None:
        status, reason = "FAILED", f"mlrun process {live.pid} disappeared while the run was RUNNING"
    elif exit_code == 0:
        status, reason = "FINISHED", None
    else:
        status, reason = "FAILED", describe_exit(exit_code)
    if events is not None:
        events.unlink(missing_ok=True)  # all of it is in the store; before the status (no stray)
    return store.finish_run(live.run_id, status, exit_code, reason)


def describe_exit(code: int) -> str:
    """A failed entry point's exit, in words."""
    import signal

    if code < 0:
        try:
            return f"entry point killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"entry point killed by signal {-code}"
    return f"entry point exited with code {code}"


OUTPUT_LOG = "_mlrun/output.log"


def record_artifact(store: TrackingStore, run_id: str, relative: str) -> None:
    """Record a file already in the run's artifact folder (size and sha256), if it exists."""
    from mlrun_cli._sha import file_hexdigest

    path = store.location.staging_dir(run_id) / relative
    if path.exists():
        artifact = Artifact(relative, path.stat().st_size, file_hexdigest(path))
        store.log_batch(run_id, EventBatch(artifacts=(artifact,)))


def record_output_log(store: TrackingStore, run_id: str) -> None:
    """Record the streamed output log as the run's ``_mlrun/output.log`` artifact."""
    record_artifact(store, run_id, OUTPUT_LOG)
