"""``mlrun server db upgrade`` and the schema checks a server makes before it listens."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.tracking.schema import SCHEMA_VERSION
from tests.conftest import mlrun_argv, run_mlrun

if TYPE_CHECKING:
    from tests.postgres import PostgresServer
    from tests.server.backends import Backend

pytestmark = pytest.mark.integration


def test_db_upgrade_prints_before_and_after_and_is_idempotent(backend: Backend) -> None:
    uri = backend.uri
    if backend.postgres is not None:
        uri = backend.postgres.new_database(migrated=False)
    first = run_mlrun("server", "--backend-store-uri", uri, "db", "upgrade")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith(f"schema version 0 -> {SCHEMA_VERSION} (upgraded)")
    again = run_mlrun("server", "db", "upgrade", "--backend-store-uri", uri)  # either order
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(
        f"schema version {SCHEMA_VERSION} -> {SCHEMA_VERSION} (already current)"
    )
    # The upgraded store is usable by the admin commands.
    added = run_mlrun("server", "--backend-store-uri", uri, "users", "add", "ana", "--role", "read")
    assert added.returncode == 0, added.stderr


def test_concurrent_upgrades_apply_the_migrations_once(postgres_server: PostgresServer) -> None:
    uri = postgres_server.new_database(migrated=False)
    argv = mlrun_argv("server", "--backend-store-uri", uri, "db", "upgrade")
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]  # fmt: skip
    outs = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outs.append(out.strip().split(": ", 1)[1])
    upgraded = f"schema version 0 -> {SCHEMA_VERSION} (upgraded)"
    current = f"schema version {SCHEMA_VERSION} -> {SCHEMA_VERSION} (already current)"
    assert sorted(outs) == sorted([upgraded] + [current] * 3)


def test_a_never_upgraded_database_is_refused_before_listening(
    postgres_server: PostgresServer, postgres_backend: Backend
) -> None:
    backend = postgres_backend
    uri = postgres_server.new_database(migrated=False)
    for args in (("--artifacts-destination", str(backend.artifacts), "--no-auth"),
                 ("users", "add", "ana", "--role", "read")):  # fmt: skip
        result = run_mlrun("server", "--backend-store-uri", uri, *args)
        assert result.returncode == 2, result.stderr
        error, hint = result.stderr.splitlines()
        assert error.startswith("error: tracking store postgresql://")
        assert "has no mlrun schema" in error
        assert hint == f"hint: mlrun server db upgrade --backend-store-uri {uri}"
    assert not backend.artifacts.exists()
    # The hint, as printed, is the command that fixes it.
    fixed = run_mlrun(*hint.split()[2:])
    assert fixed.returncode == 0, fixed.stderr
    listed = run_mlrun("server", "users", "list", "--backend-store-uri", uri)
    assert (listed.returncode, listed.stdout) == (0, "")


def test_a_server_older_than_the_schema_refuses_to_start(postgres_server: PostgresServer) -> None:
    import psycopg

    uri = postgres_server.new_database()
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute("UPDATE mlrun_schema_version SET version = version + 1")
    for args in (("--artifacts-destination", "art", "--no-auth"), ("db", "upgrade")):
        result = run_mlrun("server", "--backend-store-uri", uri, *args)
        assert result.returncode == 2
        assert result.stderr.startswith("error: tracking store postgresql://"), result.stderr
        assert f"schema version {SCHEMA_VERSION + 1} is newer than this mlrun" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_postgresql_server_needs_an_artifacts_destination(
    postgres_server: PostgresServer,
) -> None:
    uri = postgres_server.new_database()
    result = run_mlrun("server", "--backend-store-uri", uri, "--no-auth")
    assert result.returncode == 2
    expected = (
        f"error: --backend-store-uri {uri}: a PostgreSQL backend needs --artifacts-destination "
        "DIR or s3://bucket/prefix"
    )
    assert result.stderr.splitlines() == [expected]


def test_a_password_in_the_uri_never_appears_in_errors(postgres_server: PostgresServer) -> None:
    uri = postgres_server.uri("no_such_db").replace("postgres@", "postgres:sekret@")
    for args in (("--artifacts-destination", "art", "--no-auth"), ("db", "upgrade"),
                 ("tokens", "create", "ana")):  # fmt: skip
        result = run_mlrun("server", "--backend-store-uri", uri, *args)
        assert result.returncode == 2
        assert result.stderr.startswith("error: tracking store postgresql://postgres:***@")
        assert "sekret" not in result.stderr + result.stdout
