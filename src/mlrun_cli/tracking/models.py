"""Records the store holds: experiments, runs, metrics, artifacts. Frozen records (``Record``:
a frozen dataclass made by hand, for startup time; see ``tracking/record.py``)."""

from __future__ import annotations

import math
from typing import Any

from mlrun_cli.tracking.record import Record, set_field

RUN_JSON_SCHEMA = "mlrun.run/1"  # bumped when the JSON form of a run changes incompatibly

ACTIVE = "active"
DELETED = "deleted"

RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
KILLED = "KILLED"
RUN_STATUSES = (RUNNING, FINISHED, FAILED, KILLED)


class Experiment(Record):
    """A named group of runs. Deletion is soft (``lifecycle_stage``)."""

    experiment_id: str
    name: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]

    def __init__(
        self, experiment_id: str, name: str, lifecycle_stage: str, creation_time: int,
        last_update_time: int, tags: dict[str, str] | None = None,
    ) -> None:  # fmt: skip
        self._fill(experiment_id, name, lifecycle_stage, creation_time, last_update_time,
                   {} if tags is None else tags)  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form."""
        return {
            "experiment_id": self.experiment_id,
            "name": self.name,
            "lifecycle_stage": self.lifecycle_stage,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "tags": dict(self.tags),
        }


class Metric(Record):
    """One point of a metric's history. ``value`` may be NaN or infinite."""

    key: str
    value: float
    step: int
    timestamp: int

    def __init__(self, key: str, value: float, step: int, timestamp: int) -> None:
        set_field(self, "key", key)  # (not _fill: ingests make 100,000)
        set_field(self, "value", value)
        set_field(self, "step", step)
        set_field(self, "timestamp", timestamp)

    def to_json(self) -> dict[str, Any]:
        """JSON form; NaN and infinities become strings (JSON has no literal for them)."""
        finite = not (math.isnan(self.value) or math.isinf(self.value))
        return {
            "key": self.key,
            "value": self.value if finite else repr(self.value),
            "step": self.step,
            "timestamp": self.timestamp,
        }


_SET_KEY, _SET_VALUE, _SET_STEP, _SET_TIMESTAMP = (
    Metric.__dict__[name].__set__ for name in Metric.__slots__
)  # the slots' own setters: the fastest way to fill a record


def checked_metric(key: str, value: float, step: int, timestamp: int) -> Metric:
    """``Metric(key, value, step, timestamp)`` for values already checked, 1.5x faster (no
    ``__init__`` call): ingests make 100,000."""
    metric = object.__new__(Metric)
    _SET_KEY(metric, key)
    _SET_VALUE(metric, value)
    _SET_STEP(metric, step)
    _SET_TIMESTAMP(metric, timestamp)
    return metric


class Artifact(Record):
    """A file stored with a run, relative to the run's artifact directory."""

    path: str
    size: int
    sha256: str

    def __init__(self, path: str, size: int, sha256: str) -> None:
        self._fill(path, size, sha256)


class Param(Record):
    """A run parameter: recorded unquoted, with its declared type when the MLproject has one."""

    key: str
    value: str
    type: str | None

    def __init__(self, key: str, value: str, type: str | None = None) -> None:  # noqa: A002
        self._fill(key, value, type)


class CodeVersion(Record):
    """What code ran: a git commit (plus dirtiness) or a content hash of a plain folder."""

    kind: str
    uri: str
    commit: str | None
    dirty: bool | None
    content_hash: str | None
    subdirectory: str
    version: str | None  # the branch, tag or SHA asked for with --version
    snapshot_sha256: str | None  # the dirty snapshot's hash (artifact _mlrun/dirty.patch)

    def __init__(
        self, kind: str, uri: str, commit: str | None = None, dirty: bool | None = None,
        content_hash: str | None = None, subdirectory: str = "", version: str | None = None,
        snapshot_sha256: str | None = None,
    ) -> None:  # fmt: skip
        self._fill(kind, uri, commit, dirty, content_hash, subdirectory, version, snapshot_sha256)


class DataPinRecord(Record):
    """One pinned data path as recorded with a run."""

    path: str
    md5: str
    size: int | None
    nfiles: int | None
    is_output: bool

    def __init__(
        self, path: str, md5: str, size: int | None = None, nfiles: int | None = None,
        is_output: bool = True,
    ) -> None:  # fmt: skip
        self._fill(path, md5, size, nfiles, is_output)


class DataRecord(Record):
    """The data a run used: DVC pins, their fingerprint, where they came from."""

    fingerprint: str
    pins: tuple[DataPinRecord, ...]
    revision: str | None
    dirty: bool
    remote: str | None
    pulled: tuple[str, ...]

    def __init__(
        self, fingerprint: str, pins: tuple[DataPinRecord, ...] = (), revision: str | None = None,
        dirty: bool = False, remote: str | None = None, pulled: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self._fill(fingerprint, pins, revision, dirty, remote, pulled)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form."""
        return {
            "fingerprint": self.fingerprint,
            "revision": self.revision,
            "dirty": self.dirty,
            "remote": self.remote,
            "pulled": list(self.pulled),
            "pins": {
                p.path: {"md5": p.md5, "size": p.size, "nfiles": p.nfiles, "output": p.is_output}
                for p in self.pins
            },
        }


RUN_ID_CHARS = "letters, digits, '-' and '_'"
MAX_RUN_ID = 64


def check_run_id(text: str, what: str = "run id") -> str:
    """``text`` if it is a run id a client may give: 1 to 64 letters, digits, ``-`` and ``_``
    (mlrun's and MLflow's 32 hex digits among them); never a path (``/``, ``\\``, ``.``, NUL),
    since the server keeps a run's files under ``artifact_root / run_id``."""
    if (
        not isinstance(text, str)
        or not 0 < len(text) <= MAX_RUN_ID
        or not text.isascii()
        or not text.replace("-", "").replace("_", "").isalnum()
    ):
        from mlrun_cli.errors import UsageError

        shown = repr(text[:80]) if isinstance(text, str) else type(text).__name__
        raise UsageError(f"{what} {shown}: expected 1 to {MAX_RUN_ID} {RUN_ID_CHARS}")
    return text


def new_run_id() -> str:
    """A new run id: ``uuid.uuid4().hex``, bit for bit, without importing ``uuid`` (which
    imports ``platform``: ~4 ms of every ``mlrun run``)."""
    import os

    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    return raw.hex()


class RunCreate(Record):
    """Everything known about a run when it starts (``run_id``: a new uuid4 unless given)."""

    experiment_id: str
    name: str
    entry_point: str
    command: str
    code: CodeVersion
    params: tuple[Param, ...]
    tags: tuple[tuple[str, str], ...]
    user: str
    host: str
    pid: int | None
    pid_start: str | None
    events_path: str | None
    env_lock: str | None
    env_lock_hash: str | None
    data: DataRecord | None
    fingerprint: str | None
    parent_run_id: str | None
    run_id: str

    def __init__(
        self, experiment_id: str, name: str, entry_point: str, command: str, code: CodeVersion,
        params: tuple[Param, ...] = (), tags: tuple[tuple[str, str], ...] = (), user: str = "",
        host: str = "", pid: int | None = None, pid_start: str | None = None,
        events_path: str | None = None, env_lock: str | None = None,
        env_lock_hash: str | None = None, data: DataRecord | None = None,
        fingerprint: str | None = None, parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> None:  # fmt: skip
        self._fill(experiment_id, name, entry_point, command, code, params, tags, user, host, pid,
                   pid_start, events_path, env_lock, env_lock_hash, data, fingerprint,
                   parent_run_id, new_run_id() if run_id is None else run_id)  # fmt: skip


class Run(Record):
    """A run as stored, with its params, tags, latest metrics and artifacts."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    host: str
    entry_point: str
    command: str
    exit_code: int | None
    status_reason: str | None
    lifecycle_stage: str
    code: CodeVersion
    params: tuple[Param, ...]
    tags: dict[str, str]
    metrics: dict[str, Metric]
    artifacts: tuple[Artifact, ...]
    artifact_uri: str
    env_lock_hash: str | None
    env_lock: str | None
    data: DataRecord | None
    fingerprint: str | None
    parent_run_id: str | None

    def __init__(
        self, run_id: str, experiment_id: str, name: str, status: str, start_time: int,
        end_time: int | None, user: str, host: str, entry_point: str, command: str,
        exit_code: int | None, status_reason: str | None, lifecycle_stage: str,
        code: CodeVersion, params: tuple[Param, ...] = (), tags: dict[str, str] | None = None,
        metrics: dict[str, Metric] | None = None, artifacts: tuple[Artifact, ...] = (),
        artifact_uri: str = "", env_lock_hash: str | None = None, env_lock: str | None = None,
        data: DataRecord | None = None, fingerprint: str | None = None,
        parent_run_id: str | None = None,
    ) -> None:  # fmt: skip
        self._fill(run_id, experiment_id, name, status, start_time, end_time, user, host,
                   entry_point, command, exit_code, status_reason, lifecycle_stage, code, params,
                   {} if tags is None else tags, {} if metrics is None else metrics, artifacts,
                   artifact_uri, env_lock_hash, env_lock, data, fingerprint,
                   parent_run_id)  # fmt: skip

    @property
    def environment(self) -> dict[str, Any]:
        """Manager, python, platform and the lock (text and parsed packages)."""
        return _environment_json(self)

    def to_json(self) -> dict[str, Any]:
        """The documented JSON form (schema version 1)."""
        return {
            "schema": RUN_JSON_SCHEMA,
            "run_id": self.run_id,
            "run_name": self.name,
            "experiment_id": self.experiment_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "exit_code": self.exit_code,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "user": self.user,
            "host": self.host,
            "lifecycle_stage": self.lifecycle_stage,
            "entry_point": self.entry_point,
            "command": self.command,
            "fingerprint": self.fingerprint,
            "parent_run_id": self.parent_run_id,
            "source": {
                "kind": self.code.kind,
                "uri": self.code.uri,
                "commit": self.code.commit,
                "dirty": self.code.dirty,
                "content_hash": self.code.content_hash,
                "subdirectory": self.code.subdirectory,
                "version": self.code.version,
                "snapshot_sha256": self.code.snapshot_sha256,
            },
            "params": {p.key: p.value for p in self.params},
            "param_types": {p.key: p.type for p in self.params if p.type},
            "metrics": {k: m.to_json()["value"] for k, m in sorted(self.metrics.items())},
            "tags": dict(sorted(self.tags.items())),
            "environment": self.environment,
            "data": None if self.data is None else self.data.to_json(),
            "data_fingerprint": None if self.data is None else self.data.fingerprint,
            "artifact_uri": self.artifact_uri,
            "artifacts": [
                {"path": a.path, "size": a.size, "sha256": a.sha256} for a in self.artifacts
            ],
        }


class LiveRun(Record):
    """A RUNNING run and the processes (mlrun's and the entry point's) that should be alive."""

    run_id: str
    pid: int | None
    pid_start: str | None
    child_pid: int | None
    child_pid_start: str | None
    events_path: str | None

    def __init__(
        self, run_id: str, pid: int | None, pid_start: str | None, child_pid: int | None,
        child_pid_start: str | None, events_path: str | None,
    ) -> None:  # fmt: skip
        self._fill(run_id, pid, pid_start, child_pid, child_pid_start, events_path)


class EventBatch(Record):
    """Events ingested together, applied to the store in one transaction."""

    params: tuple[Param, ...]
    metrics: tuple[Metric, ...]
    tags: tuple[tuple[str, str], ...]
    artifacts: tuple[Artifact, ...]

    def __init__(
        self, params: tuple[Param, ...] = (), metrics: tuple[Metric, ...] = (),
        tags: tuple[tuple[str, str], ...] = (), artifacts: tuple[Artifact, ...] = (),
    ) -> None:  # fmt: skip
        self._fill(params, metrics, tags, artifacts)


def _environment_json(run: Run) -> dict[str, Any]:
    """The run's environment: manager, python, and the whole lock (text and packages)."""
    packages: dict[str, str] = {}
    python = implementation = platform = None
    for line in (run.env_lock or "").splitlines():
        if line.startswith("# python:"):
            python, _, implementation = line.split(":", 1)[1].strip().partition(" ")
        elif line.startswith("# platform:"):
            platform = line.split(":", 1)[1].strip()
        elif "==" in line and not line.startswith(("#", "-")):
            name, _, version = line.partition("==")
            packages[name] = version
    return {
        "manager": run.tags.get("mlrun.env.manager"),
        "key": run.tags.get("mlrun.env.key"),
        "python": python or run.tags.get("mlrun.env.python"),
        "implementation": implementation,
        "platform": platform,
        "lock_sha256": run.env_lock_hash,
        "packages": packages,
        "lock": run.env_lock,
    }
