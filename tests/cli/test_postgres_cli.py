"""The CLI on a PostgreSQL store: the commands users run, in real processes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.cli.test_lazy_imports import heavy, imported
from tests.conftest import run_mlrun

if TYPE_CHECKING:
    from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_experiments_and_runs_commands_on_postgresql(postgres_server: PostgresServer) -> None:
    uri = postgres_server.new_database()
    created = run_mlrun("experiments", "create", "-n", "wine", "--tracking-uri", uri)
    assert created.returncode == 0, created.stderr
    found = run_mlrun("experiments", "search", "--filter", "name LIKE 'wi%'", "--json",
                      "--tracking-uri", uri)  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert [e["name"] for e in json.loads(found.stdout)["experiments"]] == ["wine"]
    runs = run_mlrun("runs", "search", "--experiment-name", "wine", "--tracking-uri", uri)
    assert runs.returncode == 0, runs.stderr
    modules = imported("runs", "search", "--tracking-uri", uri)
    assert "psycopg" in heavy(modules)


def test_an_unmigrated_database_is_one_error_line(postgres_server: PostgresServer) -> None:
    uri = postgres_server.new_database(migrated=False)
    result = run_mlrun("experiments", "search", "--tracking-uri", uri)
    assert result.returncode != 0
    assert result.stderr.startswith("error: tracking store postgresql://"), result.stderr
    assert "has no mlrun schema" in result.stderr
    assert "mlrun server db upgrade" in result.stderr
    assert "Traceback" not in result.stderr
