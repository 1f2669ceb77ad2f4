"""The PostgreSQL TrackingStore (extra ``mlrun-cli[postgres]``: psycopg 3), for a team server.

The same SQL store as SQLite's (tracking/sql/), over a psycopg connection that takes the
store's ``?`` placeholders and turns the driver's errors into one ``error:`` line. The schema
is migrated on purpose (``upgrade_database``), never when a client opens the store.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from mlrun_cli import paths
from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.schema import SCHEMA_VERSION
from mlrun_cli.tracking.sql.dialect import POSTGRESQL
from mlrun_cli.tracking.sql.migrate import UPGRADE_COMMAND, apply_migrations, check_version
from mlrun_cli.tracking.sql.store import SqlStore

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

VERSION_TABLE = "mlrun_schema_version"
_MIGRATION_LOCK = 7_415_823_011  # pg_advisory_xact_lock key: one upgrader at a time


def redacted(uri: str) -> str:
    """The URI without its password, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// tracking store needs the PostgreSQL driver, which is not installed",
            hint="pip install 'mlrun-cli[postgres]'",
        ) from None
    return psycopg


class PgConnection:
    """A psycopg connection speaking the store's SQL (``?`` placeholders, MlrunErrors)."""

    def __init__(self, uri: str) -> None:
        self._psycopg = _driver()
        self.label = redacted(uri)
        try:
            # Client-side binding: values are sent as literals, typed by the statement, as
            # SQLite does (an untyped ``? IS NULL`` is fine). Autocommit: the store writes
            # explicit BEGIN/COMMIT.
            self._raw = self._psycopg.connect(
                uri, autocommit=True, cursor_factory=self._psycopg.ClientCursor
            )
        except self._psycopg.Error as exc:
            raise StoreError(
                f"tracking store {self.label}: cannot connect: {_first(exc)}"
            ) from None

    @contextlib.contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except self._psycopg.Error as exc:
            raise StoreError(f"tracking store {self.label}: {_first(exc)}") from None

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        params = list(parameters)
        with self._translated():
            if not params:
                return self._raw.execute(sql)
            return self._raw.execute(POSTGRESQL.placeholders(sql), params)

    def executemany(self, sql: str, seq: Iterable[Any], /) -> Any:
        rows = [list(row) for row in seq]
        with self._translated():
            cursor = self._raw.cursor()
            if rows:
                cursor.executemany(POSTGRESQL.placeholders(sql), rows)
            return cursor

    def close(self) -> None:
        self._raw.close()


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def stored_version(conn: PgConnection) -> int:
    """The applied schema version (0: an empty database)."""
    row = conn.execute(f"SELECT to_regclass('{VERSION_TABLE}') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = conn.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()
    return int(row[0] or 0)


def upgrade_postgres(uri: str, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Migrate the database at ``uri`` to this mlrun's schema: (before, after)."""
    conn = PgConnection(uri)
    try:
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
            conn.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version BIGINT NOT NULL)")
            before = stored_version(conn)
            if before > SCHEMA_VERSION:
                check_version(conn.label, before, upgrade_hint="")
            after = apply_migrations(conn, POSTGRESQL, before, max(before, target))
            conn.execute(f"DELETE FROM {VERSION_TABLE}")
            conn.execute(f"INSERT INTO {VERSION_TABLE} (version) VALUES (?)", (after,))
        except BaseException:
            with contextlib.suppress(StoreError):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return before, after
    finally:
        conn.close()


class PostgresStore(SqlStore):
    """A TrackingStore in a PostgreSQL database (``postgresql://user@host:port/db``)."""

    def __init__(self, uri: str, artifact_root: Path | None = None) -> None:
        self.uri = uri
        self.dialect = POSTGRESQL
        self.artifact_root = artifact_root or (paths.default_store_dir() / "artifacts")
        self._conn = PgConnection(uri)
        self.label = self._conn.label
        try:
            check_version(self.label, stored_version(self._conn), upgrade_hint=UPGRADE_COMMAND)
            # The filter attribute artifact_uri is derived from this setting.
            self._conn.execute(
                "SELECT set_config('mlrun.artifact_root', ?, false)",
                (str(Path(self.artifact_root).absolute()),),
            )
        except BaseException:
            self._conn.close()
            raise
