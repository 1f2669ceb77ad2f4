"""The backend stores the server suite runs on: a SQLite file, and a fresh database of the
session's real PostgreSQL (tests/postgres.py); the fixtures ``backend`` (both, in turn) and
``postgres_backend`` are in tests/conftest.py."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.postgres import PostgresServer


@dataclass(frozen=True)
class Backend:
    """One backend store: its URI, the server's artifact folder, the PostgreSQL it lives on."""

    name: str  # sqlite | postgresql
    uri: str
    root: Path  # the test's server folder (logs, artifacts)
    postgres: PostgresServer | None = None

    @property
    def artifacts(self) -> Path:
        """Where the server keeps artifacts (SQLite's default; PostgreSQL's is given)."""
        return self.root / "artifacts"

    def server_args(self, args: tuple[str, ...]) -> tuple[str, ...]:
        """``mlrun server`` options for this backend, around the test's own ``args``."""
        given = "--artifacts-destination" in args
        extra = (
            ()
            if self.postgres is None or given
            else ("--artifacts-destination", str(self.artifacts))
        )
        return ("--backend-store-uri", self.uri, *extra, *args)

    def dump(self) -> str:
        """Every row of every table, as text (to prove what is never stored)."""
        if self.postgres is None:
            return "\n".join(sqlite3.connect(self.uri[len("sqlite:///") :]).iterdump())
        import psycopg

        lines = []
        with psycopg.connect(self.uri, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            ).fetchall()
            for (table,) in tables:
                lines += [repr(row) for row in conn.execute(f'SELECT * FROM "{table}"')]
        return "\n".join(lines)


def sqlite_backend(root: Path) -> Backend:
    """A SQLite backend in ``root`` (created on the server's first start)."""
    root.mkdir()
    return Backend("sqlite", f"sqlite:///{root / 'mlrun.db'}", root)


def postgres_backend_in(root: Path, server: PostgresServer) -> Backend:
    """A fresh, migrated database of the session's PostgreSQL."""
    root.mkdir()
    return Backend("postgresql", server.new_database(), root, server)
