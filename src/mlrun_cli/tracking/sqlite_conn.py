"""Opening the SQLite store safely, and its failures as one clear ``error:`` line: a connection
class whose every statement and fetch turns sqlite3's exceptions into StoreError / UsageError.

One place instead of a try/except per query: a full disk, a malformed or truncated file, a
read-only store, a dropped table, an integer beyond 64 bits or text that is not valid Unicode
all end as an MlrunError naming the store, never as a traceback.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mlrun_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

CORRUPT_HINT = (
    "restore it from a backup, or move it aside to start a new store "
    "(`sqlite3 FILE .recover` may save its data)"
)


def store_error(db_path: Path | str, exc: BaseException) -> StoreError | UsageError:
    """The MlrunError a low-level failure of the store at ``db_path`` stands for."""
    text = str(exc)
    where = f"tracking store {db_path}"
    if isinstance(exc, OverflowError):
        return UsageError(f"{where}: a number is out of range (the store holds 64-bit integers)")
    if isinstance(exc, UnicodeError):
        return UsageError(f"{where}: a value is not valid Unicode text ({exc})")
    if "disk is full" in text or "disk I/O error" in text:
        return StoreError(
            f"{where}: {text}",
            hint="free some space and run again; runs left RUNNING are finished by the next "
            "mlrun command on this store",
        )
    if (
        "malformed" in text
        or "not a database" in text
        or "no such table" in text
        or ("no such column" in text)
    ):
        return StoreError(f"{where} is damaged: {text}", hint=CORRUPT_HINT)
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"{where} is read-only: {text}",
            hint="read commands still work; record runs in a writable store (--tracking-uri)",
        )
    return StoreError(f"{where}: {text}")


@contextlib.contextmanager
def _translated(connection: sqlite3.Connection) -> Iterator[None]:
    try:
        yield
    except (sqlite3.Error, OverflowError, UnicodeError) as exc:
        raise store_error(getattr(connection, "db_path", "?"), exc) from exc


class GuardedCursor(sqlite3.Cursor):
    """A cursor whose statements and fetches raise MlrunErrors."""

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        with _translated(self.connection):
            super().execute(sql, parameters)
        return self

    def executemany(self, sql: str, seq: Iterable[Any], /) -> GuardedCursor:
        with _translated(self.connection):
            super().executemany(sql, seq)
        return self

    def fetchone(self) -> Any:
        with _translated(self.connection):
            return super().fetchone()

    def fetchall(self) -> list[Any]:
        with _translated(self.connection):
            return super().fetchall()

    def __next__(self) -> Any:
        with _translated(self.connection):
            return super().__next__()


class GuardedConnection(sqlite3.Connection):
    """``sqlite3.connect(..., factory=GuardedConnection)``; set ``db_path`` for messages."""

    db_path: Path | str = "?"

    def cursor(self, factory: Any = GuardedCursor) -> Any:
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> GuardedCursor:
        cursor: GuardedCursor = self.cursor()
        return cursor.execute(sql, parameters)

    def executemany(self, sql: str, seq: Iterable[Any], /) -> GuardedCursor:
        cursor: GuardedCursor = self.cursor()
        return cursor.executemany(sql, seq)


def writable(db_path: Path) -> bool:
    """Whether this process may write the store (a new store: its folder must be creatable)."""
    if db_path.exists():
        return os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK)
    parent = db_path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return os.access(parent, os.W_OK)


def connect(db_path: Path, read_only: bool, timeout: float) -> sqlite3.Connection:
    """A guarded connection (errors become MlrunErrors). Read-only: ``mode=ro``, or
    ``immutable=1`` when even the WAL index cannot be opened (a read-only folder)."""

    # One connection may serve several threads (the direct-mode API serializes calls).
    def open_guarded(target: str | Path, uri: bool) -> GuardedConnection:
        conn = sqlite3.connect(
            target, timeout=timeout, isolation_level=None, check_same_thread=False,
            factory=GuardedConnection, uri=uri,
        )  # fmt: skip
        assert isinstance(conn, GuardedConnection)  # noqa: S101 - the factory above
        conn.db_path = db_path
        return conn

    if not read_only:
        return open_guarded(db_path, uri=False)
    for mode in ("mode=ro", "immutable=1"):
        conn = open_guarded(f"file:{quote(str(db_path))}?{mode}", uri=True)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except StoreError:
            conn.close()
            continue
        return conn
    raise StoreError(f"tracking store {db_path}: cannot open it read-only")


def refuse_truncated(db: Path, root: Path) -> None:
    """A zero-length database beside recorded runs was truncated, not new: refuse to start
    over in it (a store being created is zero-length only for an instant, with no runs)."""
    try:
        empty = db.stat().st_size == 0
    except OSError:
        return
    if empty and root.is_dir() and any(root.iterdir()):
        raise StoreError(
            f"tracking store {db} is empty (0 bytes) while {root} holds recorded runs: the "
            "database was truncated",
            hint=CORRUPT_HINT,
        )
