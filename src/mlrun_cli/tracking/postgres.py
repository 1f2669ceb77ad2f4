"""The PostgreSQL TrackingStore (extra ``mlrun-cli[postgres]``: psycopg 3), for a team server.

The same SQL store as SQLite's (tracking/sql/), over a psycopg connection that takes the
store's ``?`` placeholders and turns the driver's errors into one ``error:`` line. The schema
is migrated on purpose (``upgrade_database``), never when a client opens the store.
"""

from __future__ import annotations

import contextlib
import functools
import re
import time
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.pg_uri import redacted
from mlrun_cli.tracking.schema import SCHEMA_VERSION
from mlrun_cli.tracking.sql.dialect import POSTGRESQL
from mlrun_cli.tracking.sql.migrate import UPGRADE_COMMAND, apply_migrations, check_version
from mlrun_cli.tracking.sql.store import SqlStore

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence
    from pathlib import Path

    from mlrun_cli.tracking.store import StoreLocation

__all__ = [
    "ConnectionLostError",
    "PgConnection",
    "PostgresStore",
    "redacted",
    "stored_version",
    "upgrade_postgres",
]

VERSION_TABLE = "mlrun_schema_version"
_MIGRATION_LOCK = 7_415_823_011  # pg_advisory_xact_lock key: one upgrader at a time
# ``INSERT INTO t (...) VALUES (?, ...) [ON CONFLICT ...]``: its row, and what surrounds it.
_MULTI_ROW = re.compile(r"(\s*INSERT INTO [^()]+\([^()]*\)\s*VALUES)\s*(\([^()]*\))(.*)", re.S)
_ROWS_PER_STATEMENT = 1000
# ``INSERT INTO t (a, b) VALUES (?, ?)`` and nothing else: what COPY can do instead.
_PLAIN_INSERT = re.compile(r"\s*INSERT INTO (\w+) \(([\w ,]+)\)\s*VALUES\s*\([?, ]+\)\s*")
_COPY_FROM = 100
# How long a statement waits for a database that dropped the connection (a restart) to return.
RECONNECT_SECONDS = 30.0


def _driver() -> Any:
    try:
        import psycopg
    except ImportError:
        raise StoreError(
            "a postgresql:// tracking store needs the PostgreSQL driver, which is not installed",
            hint="pip install 'mlrun-cli[postgres]'",
        ) from None
    return psycopg


class ConnectionLostError(StoreError):
    """The database dropped the connection during a transaction or a write: it was rolled
    back (or its outcome is unknown), and doing it again is safe (writes are idempotent)."""


class _NoRows:
    """The cursor of a statement that had nothing to do (a rollback of a lost connection)."""

    rowcount = 0

    def fetchone(self) -> Any:
        return None

    def fetchall(self) -> list[Any]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class PgConnection:
    """A psycopg connection speaking the store's SQL (``?`` placeholders, MlrunErrors).

    It outlives the database's restarts: a connection the server dropped is reopened (waiting
    up to :data:`RECONNECT_SECONDS` for the database to come back) before the next transaction
    or standalone read, which are then simply run again. A transaction the drop interrupted is
    lost with it (PostgreSQL rolled it back): its statement fails, so nothing it wrote was
    acknowledged, and the caller's retry is safe (every write is idempotent).
    """

    def __init__(self, uri: str, setup: Sequence[tuple[str, Sequence[object]]] = ()) -> None:
        self._psycopg = _driver()
        self._uri = uri
        self.label = redacted(uri)
        self._setup = list(setup)  # session settings, applied again after a reconnect
        self._in_transaction = False
        try:
            self._raw = self._connect()
        except self._psycopg.Error as exc:
            raise StoreError(
                f"tracking store {self.label}: cannot connect: {_first(exc)}"
            ) from None

    def _connect(self) -> Any:
        # Client-side binding: values are sent as literals, typed by the statement, as SQLite
        # does (an untyped ``? IS NULL`` is fine). Autocommit: the store writes explicit
        # BEGIN/COMMIT.
        raw = self._psycopg.connect(
            self._uri, autocommit=True, cursor_factory=self._psycopg.ClientCursor
        )
        for sql, params in self._setup:
            raw.execute(POSTGRESQL.placeholders(sql), list(params))
        return raw

    def add_setup(self, sql: str, params: Sequence[object] = ()) -> None:
        """Run a session statement now and after every reconnect."""
        self._setup.append((sql, params))
        self.execute(sql, params)

    def _usable(self) -> Any:
        """The connection, reopened if the database dropped it."""
        if not self._raw.closed:
            return self._raw
        deadline = time.monotonic() + RECONNECT_SECONDS
        delay = 0.05
        while True:
            try:
                self._raw = self._connect()
                return self._raw
            except self._psycopg.Error as exc:
                if time.monotonic() + delay > deadline:
                    raise StoreError(
                        f"tracking store {self.label}: connection lost and not back after "
                        f"{RECONNECT_SECONDS:g}s: {_first(exc)}"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        params = list(parameters)
        verb = sql.lstrip()[:8].split(None, 1)[0].upper() if sql.strip() else ""
        if verb == "ROLLBACK" and self._raw.closed:
            self._in_transaction = False
            return _NoRows()  # the transaction ended with the connection
        for attempt in range(2):
            raw = self._usable()
            try:
                if params:
                    cursor = raw.execute(POSTGRESQL.placeholders(sql), params)
                else:
                    cursor = raw.execute(sql)
            except self._psycopg.Error as exc:
                retried = not self._in_transaction and verb in ("BEGIN", "SELECT")
                message = f"tracking store {self.label}: {_first(exc)}"
                if raw.closed:
                    self._in_transaction = False
                    if retried and attempt == 0:
                        continue  # a dropped idle connection: run it on a new one
                    raise ConnectionLostError(message) from None
                raise StoreError(message) from None
            if verb == "BEGIN":
                self._in_transaction = True
            elif verb in ("COMMIT", "ROLLBACK"):
                self._in_transaction = False
            return cursor
        raise AssertionError("unreachable")  # pragma: no cover

    def executemany(self, sql: str, seq: Iterable[Any], /) -> Any:
        rows = [list(row) for row in seq]
        raw = self._usable()
        try:
            cursor = raw.cursor()
            plain = _PLAIN_INSERT.fullmatch(sql)
            many = _MULTI_ROW.match(sql)
            if plain is not None and len(rows) >= _COPY_FROM:
                # A plain INSERT of many rows (a run's metric points) is a COPY: the same
                # rows and constraints, without a statement to plan per thousand rows.
                with cursor.copy(f"COPY {plain[1]} ({plain[2]}) FROM STDIN") as copy:
                    for item in rows:
                        copy.write_row(item)
            elif (
                many is not None and "?" not in many[1] + many[3] and "DO UPDATE" not in sql.upper()
            ):
                # One statement per row costs a round trip and a parse each (180 us a metric
                # point): insert many rows per statement, with PostgreSQL's own $n
                # placeholders (RawCursor: psycopg parses nothing). Not for DO UPDATE, which
                # may not touch one row twice in a statement.
                head, row, tail = many.groups()
                cursor = self._psycopg.RawCursor(raw)
                for start in range(0, len(rows), _ROWS_PER_STATEMENT):
                    chunk = rows[start : start + _ROWS_PER_STATEMENT]
                    values = _numbered_rows(row, len(chunk))
                    cursor.execute(f"{head} {values} {tail}", [v for item in chunk for v in item])
            elif rows:
                cursor.executemany(POSTGRESQL.placeholders(sql), rows)
        except self._psycopg.Error as exc:
            message = f"tracking store {self.label}: {_first(exc)}"
            if raw.closed:
                self._in_transaction = False
                raise ConnectionLostError(message) from None
            raise StoreError(message) from None
        return cursor

    def close(self) -> None:
        self._raw.close()


@functools.lru_cache(maxsize=64)
def _numbered_rows(row: str, count: int) -> str:
    """``count`` copies of a ``(?, ?)`` row template, numbered ``($1, $2), ($3, $4)``..."""
    parts = row.split("?")
    width = len(parts) - 1
    return ", ".join(
        parts[0] + "".join(f"${n * width + i + 1}{tail}" for i, tail in enumerate(parts[1:]))
        for n in range(count)
    )


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
    """A TrackingStore in a PostgreSQL database (``postgresql://user@host:port/db``).

    Given a bare URI, the artifacts are this machine's folder for the database
    (tracking/store.py ``postgres_location``) unless ``artifact_root`` names one.
    """

    def __init__(self, where: StoreLocation | str, artifact_root: Path | None = None) -> None:
        from mlrun_cli.tracking.store import postgres_location

        if isinstance(where, str):
            where = postgres_location(where, "--tracking-uri", artifact_root)
        assert where.database is not None  # noqa: S101 - a PostgreSQL location
        self.location = where
        self.uri = where.database
        self.dialect = POSTGRESQL
        self.artifact_root = where.artifact_root.absolute()
        self._conn = PgConnection(self.uri)
        self.label = self._conn.label
        try:
            check_version(self.label, stored_version(self._conn),
                          upgrade_hint=UPGRADE_COMMAND.replace("URI", self.label))  # fmt: skip
            # The filter attribute artifact_uri is derived from this setting.
            self._conn.add_setup(
                "SELECT set_config('mlrun.artifact_root', ?, false)", (str(self.artifact_root),)
            )
        except BaseException:
            self._conn.close()
            raise
