"""The Backend protocol (submit / status / logs / cancel), its records, and the name table.

A backend submits *runs*: the job it starts is ``python -m mlrun_cli run ...`` with the run id
and tracking URI fixed by the submitter, so the environment lock, data pins, fingerprint and
reporting are those of any local run. Workers report to the tracking URI they are given: on one
machine or a shared filesystem that is the same SQLite store (the team server's URI works the
same way once it exists).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED = (
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "STOPPED",
)
TERMINAL = (SUCCEEDED, FAILED, STOPPED)
RECORD = "_mlrun/backend.json"  # in the run's artifact folder: which engine job runs it


@dataclass(frozen=True)
class Job:
    """One run to submit: the mlrun command, where it starts, and its environment."""

    run_id: str
    argv: tuple[str, ...]
    working_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # where the engine's own output of the job goes (shared FS)
    excludes: tuple[str, ...] = ()  # paths (relative to working_dir) never uploaded


@dataclass(frozen=True)
class JobState:
    """The engine's view of a job."""

    state: str
    reason: str | None = None

    @property
    def terminal(self) -> bool:
        """The job has ended (whatever the run's record says)."""
        return self.state in TERMINAL


class Backend(Protocol):
    """An execution engine."""

    name: str

    def submit(self, job: Job) -> str: ...
    def status(self, job_id: str) -> JobState: ...
    def logs(self, job_id: str) -> str: ...
    def cancel(self, job_id: str) -> None: ...


def _local(config: dict[str, Any]) -> Backend:
    from mlrun_cli.backends.local import LocalBackend

    return LocalBackend(config)


def _ray(config: dict[str, Any]) -> Backend:
    from mlrun_cli.backends.ray import RayBackend

    return RayBackend(config)


def _slurm(config: dict[str, Any]) -> Backend:
    from mlrun_cli.backends.slurm import SlurmBackend

    return SlurmBackend(config)


BACKENDS: dict[str, Callable[[dict[str, Any]], Backend]] = {
    "local": _local,
    "ray": _ray,
    "slurm": _slurm,
}


def load_config(path: str | None) -> dict[str, Any]:
    """``--backend-config FILE`` (JSON or YAML mapping); {} when not given."""
    if path is None:
        return {}
    file = Path(path)
    try:
        text = file.read_text()
    except OSError as exc:
        raise UsageError(f"--backend-config {path}: cannot read: {exc.strerror}") from None
    import yaml

    try:
        data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"--backend-config {path}: not valid JSON/YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(f"--backend-config {path}: expected a mapping of settings")
    return data


def get_backend(name: str, config: dict[str, Any]) -> Backend:
    """The backend called ``name``, configured."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise UsageError(f"--backend {name!r}: expected one of {', '.join(BACKENDS)}")
    return factory(config)


def check_keys(name: str, config: dict[str, Any], known: tuple[str, ...]) -> None:
    """Refuse settings the backend does not know (a typo must not be ignored)."""
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise UsageError(
            f"--backend-config: unknown {name} setting {unknown[0]!r}; expected one of "
            f"{', '.join(known)}"
        )


def write_record(artifact_dir: Path, backend: str, job_id: str, config: dict[str, Any]) -> None:
    """Remember which engine job runs the run (for ``runs logs`` / ``runs cancel``)."""
    path = artifact_dir / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"backend": backend, "job_id": job_id, "config": config}))
    tmp.replace(path)


CANCEL_MARK = "_mlrun/cancel-requested"  # `mlrun runs cancel` was asked: the end is KILLED


def mark_cancelled(artifact_dir: Path) -> None:
    """Remember that the user cancelled the run's job (a follower then records KILLED)."""
    path = artifact_dir / CANCEL_MARK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


def read_record(artifact_dir: Path) -> tuple[str, str, dict[str, Any]] | None:
    """(backend, job id, config) of a submitted run, or None for a run started here."""
    path = artifact_dir / RECORD
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return str(data["backend"]), str(data["job_id"]), dict(data.get("config") or {})
