"""The tracking tests' stores: every store test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mlrun_cli.tracking.sql.store import SqlStore

if TYPE_CHECKING:
    from pathlib import Path

    from tests.postgres import PostgresServer

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)]


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
