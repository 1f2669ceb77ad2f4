"""The training-code API: ``mlrun_cli.log_metric(...)`` and friends.

Standard library only: this module is imported inside users' isolated environments, where neither
mlrun's dependencies nor a database driver exist. Under ``mlrun run`` every call appends one JSON
line to the file named by ``MLRUN_EVENTS`` and the parent process ingests it. Outside ``mlrun run``
the same calls write a run straight into the default store (that path imports the full package).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Protocol

EVENTS_ENV = "MLRUN_EVENTS"
RUN_ID_ENV = "MLRUN_RUN_ID"
ARTIFACT_DIR_ENV = "MLRUN_ARTIFACT_DIR"

RESERVED_ARTIFACT_DIR = "_mlrun"
PARAMS_ENV = "MLRUN_PARAMS"
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
_KEY_RE = re.compile(r"[\w\-. /]+")  # fullmatch: "$" would let a final newline in


class TrackingClientError(ValueError):
    """An invalid call to the training-code API (bad key, value or path)."""


def validate_key(kind: str, key: object) -> str:
    """Check a param/metric/tag key the way MLflow does; return it."""
    if not isinstance(key, str) or not key:
        raise TrackingClientError(f"{kind} key must be a non-empty string; got {key!r}")
    if len(key) > MAX_KEY_LENGTH:
        raise TrackingClientError(f"{kind} key {key[:40]!r}...: longer than {MAX_KEY_LENGTH}")
    if not _KEY_RE.fullmatch(key) or any(part == ".." for part in key.split("/")):
        raise TrackingClientError(
            f"{kind} key {key!r}: expected letters, digits, '_', '-', '.', ' ' or '/'"
        )
    return key


def metric_value(key: str, value: object) -> float:
    """A metric value as float: any real number, NaN and infinities included."""
    if isinstance(value, str) or not isinstance(value, numbers.Real):
        raise TrackingClientError(f"metric {key!r}: expected a number; got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise TrackingClientError(
            f"metric {key!r}: {str(value)[:40]}... is too large for a float"
        ) from None


def unicode_text(what: str, text: str) -> str:
    """Refuse text that is not valid Unicode (a lone surrogate, as Python makes from the bytes
    of a non-UTF-8 file name or argv): the store holds UTF-8 text only."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TrackingClientError(
            f"{what}: not valid Unicode text (lone surrogate {text[exc.start]!r} at position "
            f"{exc.start}; a non-UTF-8 file name or argument?)"
        ) from None
    return text


def text_value(kind: str, key: str, value: object, limit: int) -> str:
    """A param or tag value as text: at most ``limit`` characters of valid Unicode."""
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError as exc:  # an int over Python's 4,300-digit str() limit
        raise TrackingClientError(f"{kind} {key!r}: {exc}") from None
    if len(text) > limit:
        raise TrackingClientError(f"{kind} {key!r}: value longer than {limit} characters")
    return unicode_text(f"{kind} {key!r}", text)


_INT64 = (-(2**63), 2**63 - 1)
# Metric timestamps are milliseconds since the epoch, from 1970 to the end of year 9999 (what a
# date can show); time.time_ns() or seconds by mistake are refused rather than stored.
TIMESTAMP_RANGE = (0, 253402300799999)


def timestamp_ms(timestamp: object) -> int:
    """A metric timestamp: integer milliseconds since the epoch within ``TIMESTAMP_RANGE``."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)):
        raise TrackingClientError(f"timestamp must be a number of milliseconds; got {timestamp!r}")
    try:
        ts = int(timestamp)
    except (OverflowError, ValueError):
        raise TrackingClientError(f"timestamp {timestamp!r} is not a finite number") from None
    if not TIMESTAMP_RANGE[0] <= ts <= TIMESTAMP_RANGE[1]:
        raise TrackingClientError(
            f"timestamp {ts} is out of range: expected milliseconds since the epoch "
            f"(0 to {TIMESTAMP_RANGE[1]}, up to year 9999; time.time_ns() is nanoseconds)"
        )
    return ts


def artifact_relpath(relative: str) -> str:
    """An artifact path as recorded: relative, inside the run, not mlrun's own folder."""
    parts = relative.replace("\\", "/").split("/")
    if (not relative or relative.startswith("/") or ".." in parts
            or parts[-1] in ("", ".")):  # fmt: skip
        raise TrackingClientError(
            f"artifact path {relative!r}: expected a relative file path inside the run"
        )
    if parts[0] == RESERVED_ARTIFACT_DIR:
        raise TrackingClientError(
            f"artifact path {relative!r}: {RESERVED_ARTIFACT_DIR}/ is mlrun's own"
        )
    return unicode_text(f"artifact path {relative!r}", relative)


def step_value(step: object) -> int:
    if step is None:
        return 0
    if isinstance(step, bool) or not isinstance(step, int):
        raise TrackingClientError(f"step must be an integer; got {step!r}")
    if not _INT64[0] <= step <= _INT64[1]:
        raise TrackingClientError(f"step {step} is out of range (a 64-bit integer)")
    return step


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, streamed."""
    import hashlib  # (this module is copied into run envs alone: nothing else of mlrun's)

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Sink(Protocol):
    artifact_dir: Path

    def emit(self, event: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class _EventFileSink:
    """Appends one JSON line per event to the events file, metric points in small batches.

    A burst of ``log_metric`` calls is written every ``FLUSH_LINES`` lines or ``FLUSH_S``
    seconds (one ``write()`` of whole lines on the O_APPEND descriptor, ~1 us a call instead
    of a syscall each); a background thread writes what waits longer, and everything pending
    is written before any other event, on ``flush()`` and when the process exits (also a
    ``multiprocessing`` worker). A process killed with SIGKILL loses at most its last
    ``FLUSH_S`` seconds of points.
    """

    FLUSH_LINES = 512
    FLUSH_S = 0.05

    def __init__(self, events_path: str, artifact_dir: str) -> None:
        # Never create the file: mlrun makes it before the run and removes it once the run is
        # recorded, so a process logging after that would only leave a stray file behind.
        try:
            fd = os.open(events_path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise TrackingClientError(
                f"{EVENTS_ENV}={events_path}: no such events file: the run has already been "
                "recorded (log before the entry point exits, or from its own processes while "
                "it runs)"
            ) from None
        self._handle = open(fd, "a", buffering=1, encoding="utf-8")  # noqa: SIM115, PTH123
        self.artifact_dir = Path(artifact_dir)
        self._lock = threading.Lock()
        self._pending: deque[str] = deque()
        self._since = 0.0  # when the oldest pending line was queued (time.time())
        self._wake = threading.Event()
        self._flusher: threading.Thread | None = None
        self._closed = False

    def emit(self, event: dict[str, Any]) -> None:
        self.write_line(json.dumps(event, separators=(",", ":"), allow_nan=True) + "\n")

    def write_line(self, line: str) -> None:
        """One whole event line, written now (with any queued points before it)."""
        with self._lock:
            self._pending.append(line)
            self._write_pending()

    def queue_line(self, line: str, now: float) -> None:
        """A metric point's line, written with the next batch (``now``: time.time()).
        No lock: deque appends are atomic, and only the writer (holding it) pops."""
        pending = self._pending
        if not pending:
            self._since = now
            if self._flusher is None:
                self._start_flusher()
            self._wake.set()
        pending.append(line)
        if len(pending) >= self.FLUSH_LINES or now - self._since >= self.FLUSH_S:
            with self._lock:
                self._write_pending()

    def _write_pending(self) -> None:
        """Write the queued lines in one ``write()`` (the lock is held)."""
        pending = self._pending
        count = len(pending)
        if not count:
            return
        data = "".join([pending.popleft() for _ in range(count)]).encode("utf-8")
        fd = self._handle.fileno()
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError as exc:  # a full disk, most often
            raise TrackingClientError(f"cannot record the event: {exc.strerror}") from None

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is not None:
                return
            self._flusher = threading.Thread(target=self._flush_loop, name="mlrun-events",
                                             daemon=True)  # fmt: skip
            self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closed:
            # The timeout bounds a rare race (a point queued while the batch is written).
            self._wake.wait(1.0)
            time.sleep(self.FLUSH_S)
            with self._lock:
                self._wake.clear()
                try:
                    self._write_pending()
                except TrackingClientError:
                    self._pending.clear()  # the next direct write reports the disk error

    def _forked(self) -> None:
        """In a forked child: the parent writes its own queued lines, not the child."""
        self._lock = threading.Lock()
        self._pending = deque()
        self._wake = threading.Event()
        self._flusher = None

    def close(self) -> None:
        """Write what is queued and close the events file (further calls reopen a sink)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.set()
            try:
                self._write_pending()
            finally:
                self._handle.close()


def _register_exit_hooks() -> None:
    """Once a process: write queued points when it ends (at interpreter exit, and in a
    multiprocessing worker, which leaves with os._exit after threading's shutdown, never
    running atexit), and forget the parent's queue in a forked child."""
    import atexit
    import contextlib

    atexit.register(flush)
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        with contextlib.suppress(RuntimeError):  # shutting down already: atexit runs it
            register(flush)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_forked)


def _forked() -> None:
    if isinstance(_sink, _EventFileSink):
        _sink._forked()


_sink: _Sink | None = None
_hooks_registered = False
_logged_params: dict[str, str] = {}
_sink_lock = threading.Lock()


def _get_sink() -> _Sink:
    global _sink  # noqa: PLW0603 - one sink per process, created on first use
    with _sink_lock:
        if _sink is None:
            events = os.environ.get(EVENTS_ENV)
            if events:
                # Params mlrun passed with -P are already recorded: a different value is an error.
                try:
                    given = json.loads(os.environ.get(PARAMS_ENV) or "{}")
                except ValueError:
                    given = {}
                for key, value in given.items():
                    _logged_params.setdefault(str(key), str(value))
                import tempfile

                artifact_dir = os.environ.get(ARTIFACT_DIR_ENV) or tempfile.mkdtemp()
                _sink = _EventFileSink(events, artifact_dir)
                global _hooks_registered  # noqa: PLW0603 - once a process
                if not _hooks_registered:
                    _hooks_registered = True
                    _register_exit_hooks()
            else:
                try:
                    from mlrun_cli.tracking.direct import DirectSink
                except ImportError:
                    # An environment mlrun built holds only this client (no store code, no
                    # dependency of mlrun): outside `mlrun run` there is nowhere to write.
                    raise TrackingClientError(
                        f"{EVENTS_ENV} is not set: this Python ({sys.executable}) has only "
                        "mlrun's logging client (an environment built by mlrun), which logs "
                        "to a run started by `mlrun run`. Run the script with `mlrun run`, or "
                        "`pip install mlrun-cli` into this environment to log to the default "
                        "store directly"
                    ) from None
                _sink = DirectSink()
        return _sink


def flush() -> None:
    """Close this process's sink: everything logged so far is handed over. Logging may go on."""
    global _sink  # noqa: PLW0603 - see _get_sink
    with _sink_lock:
        if _sink is not None:
            _sink.close()
            _sink = None


def active_run_id() -> str | None:
    """The id of the run this process logs to, if one exists yet."""
    run_id = os.environ.get(RUN_ID_ENV)
    if run_id:
        return run_id
    sink = _sink
    return getattr(sink, "run_id", None)


def log_param(key: str, value: object) -> None:
    """Record a parameter. Params are immutable: logging a key again needs the same value."""
    validate_key("param", key)
    text = text_value("param", key, value, MAX_PARAM_VALUE_LENGTH)
    sink = _get_sink()
    previous = _logged_params.get(key)
    if previous is not None and previous != text:
        raise TrackingClientError(
            f"param {key!r} was already logged as {previous!r}; params cannot change ({text!r})"
        )
    if previous == text:
        return  # already recorded (a -P param: as the command got it, say an absolute path)
    _logged_params[key] = text
    sink.emit({"t": "param", "k": key, "v": text})


def log_params(params: dict[str, object]) -> None:
    """Record several parameters."""
    if not isinstance(params, dict):
        raise TrackingClientError(f"log_params: expected a dict; got {type(params).__name__}")
    for key, value in params.items():
        log_param(key, value)


_metric_keys: dict[str, str] = {}  # validated metric keys -> their JSON text


def log_metric(
    key: str, value: float, step: int | None = None, timestamp: int | None = None
) -> None:
    """Record one point of a metric (step defaults to 0; timestamp in ms, defaults to now)."""
    # The common call (a known key, a float or int, an int step, no timestamp, logging to
    # `mlrun run`'s events file) queues its line directly: ~1.5 us instead of ~20 us.
    sink = _sink
    key_json = _metric_keys.get(key) if type(key) is str else None
    kind: type[object] = type(value)
    if (
        key_json is not None
        and type(sink) is _EventFileSink
        and (kind is float or (kind is int and -(2**53) <= value <= 2**53))
        and (step is None or (type(step) is int and _INT64[0] <= step <= _INT64[1]))
        and timestamp is None
    ):
        number = float(value)
        if number - number == 0:  # finite (NaN and infinities take the general path)
            now = time.time()
            sink.queue_line(
                f'{{"t":"metric","k":{key_json},"v":{number!r},"s":{step or 0},'
                f'"ts":{int(now * 1000)}}}\n',
                now,
            )
            return
    validate_key("metric", key)
    if len(_metric_keys) < 10_000:
        _metric_keys[key] = json.dumps(key)
    number = metric_value(key, value)
    ts = int(time.time() * 1000) if timestamp is None else timestamp_ms(timestamp)
    event: dict[str, Any] = {"t": "metric", "k": key, "v": number, "s": step_value(step), "ts": ts}
    if math.isnan(number) or math.isinf(number):
        # JSON has no NaN/inf literals; carry them as strings both sides understand.
        event["v"] = repr(number)
    _get_sink().emit(event)


def log_metrics(metrics: dict[str, float], step: int | None = None) -> None:
    """Record several metrics at one step."""
    if not isinstance(metrics, dict):
        raise TrackingClientError(f"log_metrics: expected a dict; got {type(metrics).__name__}")
    ts = int(time.time() * 1000)
    for key, value in metrics.items():
        log_metric(key, value, step=step, timestamp=ts)


def set_tag(key: str, value: object) -> None:
    """Set a tag (tags, unlike params, may be overwritten)."""
    validate_key("tag", key)
    _get_sink().emit(
        {"t": "tag", "k": key, "v": text_value("tag", key, value, MAX_TAG_VALUE_LENGTH)}
    )


def set_tags(tags: dict[str, object]) -> None:
    """Set several tags."""
    for key, value in tags.items():
        set_tag(key, value)


def _artifact_target(artifact_path: str | None, name: str) -> tuple[Path, str]:
    sink = _get_sink()
    joined = f"{artifact_path or ''}/{name}"
    if joined.startswith("/") and artifact_path:
        relative = artifact_relpath(joined)  # an absolute artifact_path: refused
    else:
        relative = artifact_relpath("/".join(p for p in joined.split("/") if p not in ("", ".")))
    target = sink.artifact_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    return target, relative


def _emit_artifact(target: Path, relative: str) -> None:
    _get_sink().emit(
        {"t": "artifact", "p": relative, "n": target.stat().st_size, "h": file_sha256(target)}
    )


def log_artifact(local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
    """Copy a file (or a directory's files) into the run's artifacts."""
    source = Path(local_path)
    if not source.exists():
        raise TrackingClientError(f"log_artifact: {str(source)!r} does not exist")
    if source.is_dir():
        for item in sorted(p for p in source.rglob("*") if p.is_file()):
            sub = Path(artifact_path or "") / source.name / item.parent.relative_to(source)
            log_artifact(item, sub.as_posix())
        return
    import shutil

    target, relative = _artifact_target(artifact_path, source.name)
    shutil.copyfile(source, target)
    _emit_artifact(target, relative)


def log_text(text: str, artifact_file: str) -> None:
    """Write ``text`` as an artifact file."""
    path = Path(artifact_file)
    target, relative = _artifact_target(path.parent.as_posix(), path.name)
    target.write_text(unicode_text(f"text for {artifact_file!r}", text), encoding="utf-8")
    _emit_artifact(target, relative)


def log_dict(dictionary: dict[str, Any], artifact_file: str) -> None:
    """Write a dict as a JSON (or YAML, by extension) artifact file."""
    if artifact_file.endswith((".yaml", ".yml")):
        try:
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False)
        except ImportError:
            # JSON is valid YAML, so the file stays readable as YAML without PyYAML.
            text = json.dumps(dictionary, indent=2)
    else:
        text = json.dumps(dictionary, indent=2)
    log_text(text, artifact_file)
