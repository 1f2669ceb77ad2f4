"""PostgreSQL schemas are migrated on purpose (``upgrade_database``); SQLite migrates itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.schema import SCHEMA_VERSION
from mlrun_cli.tracking.sql.migrate import upgrade_database
from mlrun_cli.tracking.store import open_store

if TYPE_CHECKING:
    from pathlib import Path

    from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_an_empty_database_is_refused_until_upgraded(postgres_server: PostgresServer) -> None:
    uri = postgres_server.new_database(migrated=False)
    with pytest.raises(StoreError, match="has no mlrun schema; this mlrun needs") as caught:
        open_store(uri)
    assert "mlrun server db upgrade" in str(caught.value.hint)
    assert upgrade_database(uri) == (0, SCHEMA_VERSION)
    assert upgrade_database(uri) == (SCHEMA_VERSION, SCHEMA_VERSION)  # again: nothing to do
    store = open_store(uri)
    assert [e.name for e in store.search_experiments()] == ["Default"]
    store.close()


def test_an_older_schema_with_data_is_upgraded(postgres_server: PostgresServer) -> None:
    uri = postgres_server.new_database(migrated=False)
    assert upgrade_database(uri, target=SCHEMA_VERSION - 1) == (0, SCHEMA_VERSION - 1)
    with pytest.raises(StoreError, match=f"is at schema version {SCHEMA_VERSION - 1}"):
        open_store(uri)
    from mlrun_cli.tracking.postgres import PgConnection

    conn = PgConnection(uri)
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, name, status, start_time, source_kind, "
        "source_uri, entry_point, command) VALUES ('abcd1234', 0, 'old', 'FINISHED', 1, "
        "'local', '/p', 'main', 'x')"
    )
    conn.close()
    assert upgrade_database(uri) == (SCHEMA_VERSION - 1, SCHEMA_VERSION)
    store = open_store(uri)
    assert store.get_run("abcd1234").name == "old"
    store.close()


def test_a_newer_schema_is_refused(postgres_server: PostgresServer) -> None:
    from mlrun_cli.tracking.postgres import PgConnection

    uri = postgres_server.new_database()
    conn = PgConnection(uri)
    conn.execute("UPDATE mlrun_schema_version SET version = version + 1")
    conn.close()
    message = f"schema version {SCHEMA_VERSION + 1} is newer than this mlrun understands"
    with pytest.raises(StoreError, match=message):
        open_store(uri)
    with pytest.raises(StoreError, match=message):
        upgrade_database(uri)


def test_errors_name_the_store_without_its_password(postgres_server: PostgresServer) -> None:
    uri = f"postgresql://postgres:s3cret@127.0.0.1:{postgres_server.port}/no_such_db"
    with pytest.raises(StoreError, match="cannot connect") as caught:
        open_store(uri)
    assert "s3cret" not in str(caught.value)
    assert "postgres:***@127.0.0.1" in str(caught.value)


def test_a_postgresql_store_records_and_searches(postgres_server: PostgresServer) -> None:
    from mlrun_cli.tracking.queries import search_runs

    store = open_store(postgres_server.new_database())
    experiment = store.get_or_create_experiment("e").experiment_id
    spec = RunCreate(experiment, "r", "main", "x", CodeVersion("local", "/p"), (Param("a", "1"),))
    run_id = store.create_run(spec).run_id
    store.log_batch(run_id, EventBatch(metrics=(Metric("m", 0.5, 0, 1), Metric("m", 0.5, 0, 1))))
    store.log_batch(run_id, EventBatch(metrics=(Metric("m", 0.5, 0, 1),)))  # a retry
    assert len(store.metric_history(run_id, "m")) == 1
    page = search_runs(store, [experiment], "metrics.m < 1 and params.a = '1'")
    assert [r.run_id for r in page.runs] == [run_id]
    store.close()


def test_upgrade_database_migrates_a_sqlite_store(tmp_path: Path) -> None:
    assert upgrade_database(str(tmp_path / "s")) == (0, SCHEMA_VERSION)
    assert upgrade_database(str(tmp_path / "s")) == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_concurrent_writers_of_one_run_never_duplicate(postgres_server: PostgresServer) -> None:
    """A shared store's writers are separate connections: retried batches arriving together
    are still one set of points, and racing creations are one experiment."""
    import threading

    from mlrun_cli.tracking.postgres import PostgresStore

    uri = postgres_server.new_database()
    first = PostgresStore(uri)
    run_id = first.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    batch = EventBatch(
        params=(Param("p", "1"),), metrics=tuple(Metric("m", float(i), i, 1) for i in range(200))
    )
    stores = [PostgresStore(uri) for _ in range(6)]
    errors: list[BaseException] = []

    def write(store: PostgresStore) -> None:
        try:
            store.log_batch(run_id, batch)
            store.get_or_create_experiment("shared")
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(first.metric_history(run_id, "m")) == 200
    assert [e.name for e in first.search_experiments()].count("shared") == 1
    for store in [first, *stores]:
        store.close()


def test_without_the_driver_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    with pytest.raises(StoreError, match="needs the PostgreSQL driver") as caught:
        open_store("postgresql://someone@127.0.0.1:1/db")
    assert caught.value.hint == "pip install 'mlrun-cli[postgres]'"
