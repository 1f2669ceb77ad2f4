"""The tracking tests' stores: every store test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mlrun_cli.tracking.sql.store import SqlStore
from tests.postgres import PostgresServer, start_server

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (skipped when its binaries are missing)."""
    server = start_server()
    if server is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        yield server
    finally:
        server.stop()


def open_backend(backend: str, request: pytest.FixtureRequest, folder: Path) -> SqlStore:
    """A new, empty store of ``backend``: a SQLite folder, or a fresh PostgreSQL database."""
    from mlrun_cli.tracking.postgres import PostgresStore
    from mlrun_cli.tracking.store import open_store

    if backend == "sqlite":
        opened = open_store(str(folder))
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        opened = PostgresStore(server.new_database(), artifact_root=folder / "artifacts")
    assert isinstance(opened, SqlStore)
    return opened
