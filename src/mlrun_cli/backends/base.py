"""The Backend protocol (submit / status / logs / cancel), its records, and the name table.

A backend submits *runs*: the job it starts is ``python -m mlrun_cli run ...`` with the run id
and tracking URI fixed by the submitter, so the environment lock, data pins, fingerprint and
reporting are those of any local run. Workers report to the tracking URI they are given: a
SQLite store on one machine or a shared filesystem, or a team server (``http(s)://``): the
job then carries a token the server minted for its run only (``backends/tokens.py``).

Which engine job runs a run is remembered twice: in a record beside the submitter's copy of the
run's artifacts (``runs logs`` / ``runs cancel`` of a run still queued), and as the run's
``mlrun.backend*`` tags, set by the worker (so any machine that reaches the store finds it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.source.local import Checkout
    from mlrun_cli.tracking.models import Run
    from mlrun_cli.tracking.store import TrackingStore

PENDING, RUNNING, SUCCEEDED, FAILED, STOPPED = (
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "STOPPED",
)
TERMINAL = (SUCCEEDED, FAILED, STOPPED)
# The engine did not answer (its head or controller is down): not an end, unless it lasts.
UNREACHABLE = "UNREACHABLE"
RECORD = "_mlrun/backend.json"  # in the run's artifact folder: which engine job runs it
BACKEND_TAG = "mlrun.backend"
JOB_TAG = "mlrun.backend.job_id"
ADDRESS_TAG = "mlrun.backend.address"
CANCEL_TAG = "mlrun.backend.cancel_requested"
ENDED_TAG = "mlrun.backend.ended"  # the engine's word on a job it stopped itself
# Settings every remote backend takes: the worker's interpreter, and the lifetime of the run
# token its job carries (backends/tokens.py).
COMMON_KEYS = ("python", "token_ttl")


@dataclass(frozen=True)
class Job:
    """One run to submit: the mlrun command, where it starts, and its environment."""

    run_id: str
    argv: tuple[str, ...]
    working_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None  # where the engine's own output of the job goes (shared FS)
    excludes: tuple[str, ...] = ()  # paths (relative to working_dir) never uploaded
    # The submitter's checkout, when the engine uploads working_dir: the code version the
    # worker records (backends/submitted.py).
    code: Checkout | None = None


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
    config: dict[str, Any]

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


class ConfiguredBackend:
    """What Ray's and Slurm's backends share: their settings, checked, and the common ones."""

    name = ""
    keys: tuple[str, ...] = ()
    states: ClassVar[dict[str, str]] = {}  # the engine's state names -> the protocol's
    needs_token = True  # its jobs do not inherit this environment: they carry a run token

    def __init__(self, config: dict[str, Any]) -> None:
        check_keys(self.name, config, self.keys + COMMON_KEYS)
        self.config = config
        from mlrun_cli.backends.tokens import ttl_of

        ttl_of(config)  # a bad token_ttl fails before anything is submitted

    def worker_argv(self, argv: tuple[str, ...]) -> list[str]:
        """The job's command, with the config's ``python`` for the worker's interpreter."""
        return [str(self.config.get("python") or argv[0]), *argv[1:]]

    def state(self, engine_state: str, default: str) -> str:
        """The protocol's state for the engine's name of it."""
        return self.states.get(engine_state, default)

    def worker_tags(self, run_id: str) -> tuple[tuple[str, str], ...]:
        """Tags the worker records (the job id when the engine chooses it: set on the worker)."""
        return ((BACKEND_TAG, self.name),)


def write_record(artifact_dir: Path, backend: str, job_id: str, config: dict[str, Any]) -> None:
    """Remember which engine job runs the run (for ``runs logs`` / ``runs cancel``)."""
    path = artifact_dir / RECORD
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"backend": backend, "job_id": job_id, "config": config}))
    tmp.replace(path)


CANCEL_MARK = "_mlrun/cancel-requested"  # `mlrun runs cancel` was asked: the end is KILLED


def mark_cancelled(store: TrackingStore, run_id: str) -> None:
    """Remember that the user cancelled the run's job (a follower then records KILLED): here,
    and on the run itself when it is recorded (a follower on another machine sees that)."""
    from mlrun_cli.errors import MlrunError, NotFoundError
    from mlrun_cli.tracking import models

    path = store.location.staging_dir(run_id) / CANCEL_MARK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    try:
        if store.get_run(run_id).status == models.RUNNING:
            store.log_batch(run_id, models.EventBatch(tags=((CANCEL_TAG, "1"),)))
    except NotFoundError:
        pass  # still queued: the local mark is all there is
    except MlrunError:
        pass  # no write role on the run: the engine decides whether this user may cancel


def cancel_asked(store: TrackingStore, run: Run) -> bool:
    """Whether ``mlrun runs cancel`` was asked for the run (here or on another machine)."""
    return (store.location.staging_dir(run.run_id) / CANCEL_MARK).exists() or CANCEL_TAG in run.tags


def read_record(artifact_dir: Path) -> tuple[str, str, dict[str, Any]] | None:
    """(backend, job id, config) of a run submitted from here, or None."""
    path = artifact_dir / RECORD
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return str(data["backend"]), str(data["job_id"]), dict(data.get("config") or {})


def find_record(store: TrackingStore, run_id: str) -> tuple[str, str, dict[str, Any]] | None:
    """The engine job of a run: the submitter's record, else the run's ``mlrun.backend`` tags
    (a run submitted from another machine); None for a run started without a backend."""
    from mlrun_cli.errors import NotFoundError

    local = read_record(store.location.staging_dir(run_id))
    if local is not None:
        return local
    try:
        tags = store.get_run(run_id).tags
    except NotFoundError:
        return None
    if BACKEND_TAG not in tags or JOB_TAG not in tags:
        return None
    config = {"address": tags[ADDRESS_TAG]} if ADDRESS_TAG in tags else {}
    return tags[BACKEND_TAG], tags[JOB_TAG], config
