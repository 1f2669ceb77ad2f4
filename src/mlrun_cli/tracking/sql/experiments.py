"""The SQL store's plumbing (write transactions, the dialect) and its experiment methods.

Shared by every SQL backend (tracking/sqlite.py, tracking/postgres.py): the SQL is
written once with ``?`` placeholders; the connection object converts them for its driver.
"""

from __future__ import annotations

import contextlib
import re
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING

from mlrun_cli.errors import MlrunError, NotFoundError, UsageError
from mlrun_cli.tracking import models
from mlrun_cli.tracking.models import Experiment

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from mlrun_cli.artifacts.base import ArtifactStore
    from mlrun_cli.artifacts.run import RunArtifacts
    from mlrun_cli.tracking.sql.dialect import Connection, Dialect
    from mlrun_cli.tracking.store import StoreLocation

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
INT64_MAX = 2**63 - 1


def now_ms() -> int:
    """Milliseconds since the epoch, the store's time unit."""
    return int(time.time() * 1000)


class SqlExperiments:
    """Plumbing and experiments over one connection in one dialect."""

    uri: str
    label: str  # names the store in messages: a file path or a URI without its password
    dialect: Dialect
    artifact_root: Path
    location: StoreLocation
    # A team server's artifact destination behind the folder (set by the server, for its UI).
    destination: ArtifactStore | None = None
    _conn: Connection

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        conn = self._conn
        conn.execute(self.dialect.begin_write)
        try:
            yield conn
        except BaseException:
            with contextlib.suppress(MlrunError):  # a failed COMMIT may have rolled back already
                conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(MlrunError):
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    @property
    def connection(self) -> Connection:
        """The store's connection, for the server's own tables (auth, heartbeats)."""
        return self._conn

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """A write transaction, serialized with the store's own writers."""
        return self._write()

    def artifacts(self, run_id: str) -> RunArtifacts:
        """The run's files: the store's folder on this machine (a server's destination behind
        it when one is set)."""
        folder = self.artifact_root / run_id
        if self.destination is not None:
            from mlrun_cli.artifacts.served import ServedArtifacts

            return ServedArtifacts(run_id, folder, self.destination)
        from mlrun_cli.artifacts.run import FolderArtifacts

        return FolderArtifacts(run_id, folder)

    # -- experiments ----------------------------------------------------------------------
    def _experiments_from_rows(self, rows: Sequence[tuple[object, ...]]) -> list[Experiment]:
        tags: dict[object, dict[str, str]] = {row[0]: {} for row in rows}
        ids = list(tags)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for experiment_id, key, value in self._conn.execute(
                "SELECT experiment_id, key, value FROM experiment_tags "
                f"WHERE experiment_id IN ({marks})",
                chunk,
            ):
                tags[experiment_id][str(key)] = str(value)
        return [
            Experiment(
                str(row[0]), str(row[1]), str(row[2]), int(str(row[3])), int(str(row[4])),
                tags[row[0]],
            )
            for row in rows
        ]  # fmt: skip

    _EXPERIMENT_SELECT = (
        "SELECT experiment_id, name, lifecycle_stage, creation_time, last_update_time "
        "FROM experiments e"
    )

    def get_experiment(self, experiment_id: str) -> Experiment:
        """One experiment by id (deleted ones included)."""
        if not re.fullmatch(r"[0-9]+", experiment_id):
            raise NotFoundError(f"experiment id {experiment_id!r}: expected a number")
        if int(experiment_id) > INT64_MAX:
            raise NotFoundError(f"no experiment with id {experiment_id} in {self.label}")
        row = self._conn.execute(
            f"{self._EXPERIMENT_SELECT} WHERE e.experiment_id = ?", (int(experiment_id),)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no experiment with id {experiment_id} in {self.label}")
        return self._experiments_from_rows([row])[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        """One experiment by exact name, or None."""
        row = self._conn.execute(f"{self._EXPERIMENT_SELECT} WHERE e.name = ?", (name,)).fetchone()
        return None if row is None else self._experiments_from_rows([row])[0]

    def create_experiment(self, name: str) -> Experiment:
        """Create an experiment; the name must be new (deleted experiments keep theirs)."""
        if not name.strip():
            raise UsageError("experiment name must not be empty")
        with self._write() as conn:
            existing = self.get_experiment_by_name(name)
            if existing is not None:
                state = " (deleted)" if existing.lifecycle_stage == models.DELETED else ""
                raise UsageError(
                    f"experiment {name!r} already exists{state} with id {existing.experiment_id}"
                )
            stamp = now_ms()
            # ON CONFLICT: another client of a shared store may create it meanwhile.
            new_id = conn.execute(
                "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time)"
                " VALUES (?, 'active', ?, ?) ON CONFLICT (name) DO NOTHING "
                "RETURNING experiment_id",
                (name, stamp, stamp),
            ).fetchone()
            if new_id is None:
                raise UsageError(f"experiment {name!r} already exists")
        return self.get_experiment(str(new_id[0]))

    def get_or_create_experiment(self, name: str) -> Experiment:
        """The active experiment called ``name``, created if missing (race-free)."""
        if not name.strip():
            raise UsageError("experiment name must not be empty")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO experiments (name, lifecycle_stage, creation_time, last_update_time)"
                " VALUES (?, 'active', ?, ?) ON CONFLICT (name) DO NOTHING",
                (name, now_ms(), now_ms()),
            )
        experiment = self.get_experiment_by_name(name)
        assert experiment is not None  # noqa: S101 - inserted or present just above
        return experiment

    def search_experiments(self, view: str = "active", filter_text: str = "") -> list[Experiment]:
        """Experiments in a lifecycle view, optionally narrowed by an MLflow-style filter."""
        clauses: list[str] = []
        values: list[object] = []
        if view in (models.ACTIVE, models.DELETED):
            clauses.append("e.lifecycle_stage = ?")
            values.append(view)
        elif view != "all":
            raise UsageError(f"--view: expected one of active, deleted, all; got {view!r}")
        if filter_text.strip():  # the parser is imported only when there is a filter (~4 ms)
            from mlrun_cli.tracking.search import EXPERIMENT_SCHEMA, compile_filter, parse_filter

            expr = parse_filter(filter_text, schema=EXPERIMENT_SCHEMA)
            where, args = compile_filter(expr, EXPERIMENT_SCHEMA, self.dialect)
            clauses.append(f"({where})")
            values.extend(args)
        sql = self._EXPERIMENT_SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
        rows = self._conn.execute(sql + " ORDER BY e.experiment_id", values).fetchall()
        return self._experiments_from_rows(rows)

    def rename_experiment(self, experiment_id: str, new_name: str) -> Experiment:
        """Give an experiment a new, unused name (not the Default one: runs fall back to it)."""
        self.get_experiment(experiment_id)
        if experiment_id == DEFAULT_EXPERIMENT_ID:
            raise UsageError("the Default experiment (id 0) cannot be renamed")
        if not new_name.strip():
            raise UsageError("experiment name must not be empty")
        with self._write() as conn:
            if self.get_experiment_by_name(new_name) is not None:
                raise UsageError(f"experiment {new_name!r} already exists")
            conn.execute(
                "UPDATE experiments SET name = ?, last_update_time = ? WHERE experiment_id = ?",
                (new_name, now_ms(), int(experiment_id)),
            )
        return self.get_experiment(experiment_id)

    def set_experiment_stage(self, experiment_id: str, stage: str) -> Experiment:
        """Soft-delete (``deleted``) or restore (``active``) an experiment."""
        experiment = self.get_experiment(experiment_id)
        if stage == models.DELETED and experiment_id == DEFAULT_EXPERIMENT_ID:
            raise UsageError("the Default experiment (id 0) cannot be deleted")
        with self._write() as conn:
            conn.execute(
                "UPDATE experiments SET lifecycle_stage = ?, last_update_time = ? "
                "WHERE experiment_id = ?",
                (stage, now_ms(), int(experiment.experiment_id)),
            )
        return self.get_experiment(experiment_id)

    def set_experiment_tags(self, experiment_id: str, tags: Sequence[tuple[str, str]]) -> None:
        """Set (or overwrite) experiment tags."""
        self.get_experiment(experiment_id)
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
                [(int(experiment_id), key, value) for key, value in tags],
            )
