"""The default TrackingStore: one SQLite file (stdlib ``sqlite3``), WAL mode, busy timeout.

The SQL is the shared SQL store's (tracking/sql/); this module opens the file, registers the
``artifact_uri`` function and migrates the schema itself when opened. Writes are
``BEGIN IMMEDIATE`` transactions, so concurrent ``mlrun run`` processes on one store
serialize cleanly instead of failing with "database is locked".
"""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.schema import SCHEMA_VERSION
from mlrun_cli.tracking.sql.dialect import SQLITE
from mlrun_cli.tracking.sql.experiments import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    INT64_MAX,
    now_ms,
)
from mlrun_cli.tracking.sql.migrate import apply_migrations
from mlrun_cli.tracking.sql.store import SqlStore
from mlrun_cli.tracking.sqlite_conn import connect, refuse_truncated, writable

if TYPE_CHECKING:
    from pathlib import Path

    from mlrun_cli.tracking.store import StoreLocation

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "INT64_MAX",
    "SqliteStore",
    "now_ms",
    "stored_version",
]

BUSY_TIMEOUT_S = 60.0


def stored_version(db_path: Path) -> int:
    """The schema version of the SQLite file (0: none yet)."""
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise StoreError(f"tracking store {db_path}: {exc}") from exc
    finally:
        conn.close()


class SqliteStore(SqlStore):
    """A TrackingStore backed by one SQLite database file."""

    def __init__(self, location: StoreLocation, *, create: bool = True) -> None:
        self.location = location
        self.uri = location.uri
        self.label = str(location.db_path)
        self.dialect = SQLITE
        self.artifact_root = location.artifact_root
        if not create and not location.db_path.exists():
            hint = "" if location.source == "default" else f" (from {location.source})"
            raise StoreError(
                f"no tracking store at {location.db_path}{hint}: nothing was recorded there",
                hint="run something first, or point --tracking-uri / MLRUN_TRACKING_URI "
                "at an existing store",
            )
        refuse_truncated(location.db_path, location.artifact_root)
        # A store nobody may write (a read-only mount or file) is opened read-only, so it can
        # still be searched; only commands that record need to write.
        self.read_only = not create and not writable(location.db_path)
        try:
            if not self.read_only:
                location.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = connect(location.db_path, self.read_only, BUSY_TIMEOUT_S)
            root = str(location.artifact_root)
            # The filter attribute artifact_uri (derived, not stored).
            self._conn.create_function(
                "mlrun_artifact_uri", 1, lambda run_id: f"{root}/{run_id}", deterministic=True
            )
            self._conn.execute("PRAGMA foreign_keys = ON")
            if not self.read_only:
                self._conn.execute("PRAGMA synchronous = NORMAL")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"tracking store {location.db_path}: cannot open: {exc}") from exc
        self._migrate()

    _conn: sqlite3.Connection

    def _migrate(self) -> None:
        conn = self._conn
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return
            if self.read_only and version != SCHEMA_VERSION:
                raise StoreError(
                    f"tracking store {self.location.db_path} is read-only and at schema version "
                    f"{version}; this mlrun needs {SCHEMA_VERSION}",
                    hint="open it once with write access so mlrun can migrate it",
                )
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"tracking store {self.location.db_path}: schema version {version} is newer "
                    f"than this mlrun understands ({SCHEMA_VERSION}); upgrade mlrun-cli"
                )
            # WAL lets readers proceed while one process writes; it is persistent per file.
            # Switching needs a moment alone with the file, and SQLite does not wait for that
            # with the busy timeout: retry while another process creates the same new store.
            # (The connection raises StoreError, its cause sqlite3's "database is locked".)
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                try:
                    if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                        break
                    conn.execute("PRAGMA journal_mode = WAL")
                except StoreError as exc:
                    locked = isinstance(exc.__cause__, sqlite3.OperationalError)
                    if not locked or time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            with self._write():
                # Re-read inside the lock: another process may have migrated meanwhile.
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                apply_migrations(conn, self.dialect, version)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"tracking store {self.location.db_path}: {exc}") from exc
