"""The TrackingStore protocol and the function that opens one from a tracking URI.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mlrun_cli import paths
from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.artifacts.run import RunArtifacts
    from mlrun_cli.tracking.models import (
        EventBatch,
        Experiment,
        LiveRun,
        Metric,
        Run,
        RunCreate,
    )
    from mlrun_cli.tracking.run_search import RunQuery

TRACKING_URI_ENV = "MLRUN_TRACKING_URI"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class TrackingStore(Protocol):
    """Where experiments and runs live. SQLite is the default implementation.

    No local path appears here: a run's files are read and written through ``artifacts``;
    where this machine stages them is ``location.staging_dir``.
    """

    uri: str
    location: StoreLocation

    def create_experiment(self, name: str) -> Experiment: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def get_or_create_experiment(self, name: str) -> Experiment: ...
    def search_experiments(self, view: str = "active", filter_text: str = "") -> list[Experiment]:
        """Experiments in ``view`` (active, deleted, all) matching an MLflow-style filter."""
        ...

    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment: ...
    def set_experiment_stage(self, experiment_id: str, stage: str) -> Experiment: ...

    def create_run(self, spec: RunCreate) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def resolve_run_id(self, prefix: str) -> str: ...
    def log_batch(
        self, run_id: str, batch: EventBatch, events_range: tuple[int, int] | None = None
    ) -> list[str] | None: ...
    def delete_tag(self, run_id: str, key: str) -> bool: ...
    def events_offset(self, run_id: str) -> int: ...
    def finish_run(
        self, run_id: str, status: str, exit_code: int | None = None, reason: str | None = None
    ) -> bool: ...
    def search_run_ids(self, query: RunQuery, limit: int, offset: int) -> list[str]: ...
    def get_runs(self, run_ids: Sequence[str]) -> list[Run]: ...
    def find_finished_run(self, experiment_id: str, fingerprint: str) -> Run | None: ...
    def set_run_stage(self, run_id: str, stage: str) -> None: ...
    def rename_run(self, run_id: str, name: str) -> None: ...
    def set_experiment_tags(self, experiment_id: str, tags: Sequence[tuple[str, str]]) -> None: ...
    def metric_history(self, run_id: str, key: str) -> list[Metric]: ...
    def running_runs_on(self, host: str) -> list[LiveRun]: ...
    def set_child_process(self, run_id: str, pid: int, marker: str | None) -> None: ...
    def set_child_exit(self, run_id: str, exit_code: int) -> None: ...
    def artifacts(self, run_id: str) -> RunArtifacts:
        """The run's files (listed, read and stored wherever the store keeps them)."""
        ...

    def close(self) -> None: ...


class StoreLocation(Record):
    """Where a tracking URI points, and which setting chose it (for messages)."""

    db_path: Path
    artifact_root: Path
    source: str
    # A team server's URL (http(s)://host:port): then the paths are its local staging folder.
    remote: str | None = None
    # A PostgreSQL database (postgresql://...): then ``db_path`` is unused and the artifacts
    # are the folder of this machine named by ``artifact_root``.
    database: str | None = None

    def owned_paths(self) -> tuple[Path, ...]:
        """Everything the store writes: never part of a project's code, even inside it."""
        local = (self.artifact_root, self.events_dir)
        if self.remote is not None or self.database is not None:
            return local
        db = self.db_path
        journals = tuple(db.with_name(db.name + suffix) for suffix in ("-wal", "-shm", "-journal"))
        return (db, *journals, *local)

    def staging_dir(self, run_id: str) -> Path:
        """The folder of this machine where a run started here writes its files (the child's
        ``MLRUN_ARTIFACT_DIR``, its output log, a backend's job record): for a SQLite or
        PostgreSQL store their final place, for a team server the staging folder uploaded
        when the run finishes. Readers use ``TrackingStore.artifacts`` instead."""
        return self.artifact_root / run_id

    @property
    def staging_root(self) -> Path:
        """The folder holding every run's ``staging_dir``."""
        return self.artifact_root

    @property
    def events_dir(self) -> Path:
        """The folder of the runs' events journals (``<run_id>.jsonl``)."""
        return self.artifact_root.parent / "events"

    @property
    def uri(self) -> str:
        """The URI handed to child processes (always absolute)."""
        return self.remote or self.database or f"sqlite:///{self.db_path}"

    @property
    def shown_uri(self) -> str:
        """The URI for messages: a PostgreSQL password is replaced by ``***``."""
        if self.database is not None:
            from mlrun_cli.tracking.pg_uri import redacted

            return redacted(self.database)
        return self.uri


def postgres_location(uri: str, source: str, artifact_root: Path | None = None) -> StoreLocation:
    """A PostgreSQL store: its artifacts (unless given) in a folder of this machine named after
    the database, ``MLRUN_HOME/postgres/HOST-PORT-DB/artifacts`` (records are shared, the
    files a direct client writes stay local; a team server shares both)."""
    from mlrun_cli.tracking.pg_uri import local_name

    root = artifact_root or paths.home() / "postgres" / local_name(uri) / "artifacts"
    return StoreLocation(root.parent / "none.db", root, source, database=uri)


def resolve_location(cli_value: str | None = None) -> StoreLocation:
    """Resolve the store: ``--tracking-uri`` > ``MLRUN_TRACKING_URI`` > ``./mlruns``.

    Accepted forms: a directory (``./mlruns``; the database is ``mlrun.db`` inside it),
    ``file:///dir``, ``sqlite:///path/to/file.db`` (artifacts go beside the file), a team
    server's ``http(s)://host:port``, or a PostgreSQL database ``postgresql://user@host/db``.
    """
    if cli_value:
        value, source = cli_value, "--tracking-uri"
    elif os.environ.get(TRACKING_URI_ENV):
        value, source = os.environ[TRACKING_URI_ENV], TRACKING_URI_ENV
    else:
        root = paths.default_store_dir()
        return StoreLocation(root / paths.STORE_DB_NAME, root / "artifacts", "default")
    if value.startswith(("http://", "https://")):
        from mlrun_cli.tracking.stores.rest import staging_root

        staging = staging_root(value)
        return StoreLocation(staging / "none.db", staging / "artifacts", source, value.rstrip("/"))
    if value.startswith(POSTGRES_SCHEMES):
        return postgres_location(value, source)
    if value.startswith("sqlite:///"):
        db = Path(value[len("sqlite:///") :]).expanduser()
        if not db.is_absolute():
            db = Path.cwd() / db
        return StoreLocation(db, db.parent / "artifacts", source)
    if value.startswith("file:"):
        if not value.startswith("file:///"):
            raise StoreError(f"{source}: {value!r}: expected file:///absolute/path")
        value = value[len("file://") :]
    elif "://" in value:
        scheme = value.split("://", 1)[0]
        raise StoreError(
            f"{source}: unsupported tracking URI scheme {scheme!r}; "
            "expected a directory, file:///dir, sqlite:///file.db, http(s)://host:port or "
            "postgresql://user@host:port/db"
        )
    root = Path(value).expanduser().absolute()
    return StoreLocation(root / paths.STORE_DB_NAME, root / "artifacts", source)


def open_store(cli_value: str | None = None, *, create: bool = True) -> TrackingStore:
    """Open the store a tracking URI names (creating it only when ``create``), migrated.

    ``postgresql://user@host:port/db`` opens a PostgreSQL store (extra ``mlrun-cli[postgres]``)
    whose schema ``mlrun server db upgrade`` created; anything else is a SQLite location.
    """
    return open_location(resolve_location(cli_value), create=create)


def open_location(location: StoreLocation, *, create: bool = True) -> TrackingStore:
    """The store at a resolved location: a team server's (``remote``), a PostgreSQL database
    (``database``; its schema is never created here) or a SQLite file."""
    if location.remote is not None:
        from mlrun_cli.tracking.stores.rest import RestStore

        return RestStore(location.remote, location)
    if location.database is not None:
        from mlrun_cli.tracking.postgres import PostgresStore

        return PostgresStore(location)
    from mlrun_cli.tracking.sqlite import SqliteStore

    return SqliteStore(location, create=create)
