from __future__ import annotations

import dataclasses
import math
import os
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import NotFoundError, StoreError, UsageError
from mlrun_cli.tracking.ingest import reap_orphans
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.schema import SCHEMA_VERSION
from mlrun_cli.tracking.sql.store import SqlStore
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import open_store, resolve_location
from tests.unit.tracking.conftest import BACKENDS, open_backend

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """The same tests on every SQL backend."""
    opened = open_backend(request.param, request, tmp_path / "store")
    yield opened
    opened.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> SqliteStore:
    opened = open_store(str(tmp_path / "store"))
    assert isinstance(opened, SqliteStore)
    return opened


def new_run(store: SqlStore, experiment_id: str = "0", **changes: object) -> str:
    spec = RunCreate(
        experiment_id=experiment_id,
        name="r",
        entry_point="main",
        command="python x.py",
        code=CodeVersion("local", "/p", content_hash="h"),
        params=(Param("alpha", "0.5", "float"),),
        **changes,  # type: ignore[arg-type]
    )
    return store.create_run(spec).run_id


def test_location_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_location().db_path == Path.cwd() / "mlruns" / "mlrun.db"
    monkeypatch.setenv("MLRUN_TRACKING_URI", str(tmp_path / "t"))
    env = resolve_location()
    assert (env.db_path, env.source) == (tmp_path / "t" / "mlrun.db", "MLRUN_TRACKING_URI")
    cli = resolve_location(f"sqlite:///{tmp_path}/x.db")
    assert (cli.db_path, cli.artifact_root, cli.source) == (
        tmp_path / "x.db", tmp_path / "artifacts", "--tracking-uri",
    )  # fmt: skip
    assert resolve_location(f"file://{tmp_path}/f").db_path == tmp_path / "f" / "mlrun.db"
    with pytest.raises(StoreError, match="unsupported tracking URI scheme 'mysql'"):
        resolve_location("mysql://host/db")
    assert resolve_location("postgresql://host/db").database == "postgresql://host/db"


def test_schema_is_versioned_and_wal(sqlite_store: SqliteStore) -> None:
    conn = sqlite3.connect(sqlite_store.location.db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused(sqlite_store: SqliteStore) -> None:
    conn = sqlite3.connect(sqlite_store.location.db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this mlrun understands"):
        SqliteStore(sqlite_store.location)


def test_experiments_lifecycle(store: SqlStore) -> None:
    assert store.get_experiment("0").name == "Default"
    wine = store.create_experiment("wine")
    assert wine.experiment_id == "1"
    with pytest.raises(UsageError, match="already exists with id 1"):
        store.create_experiment("wine")
    assert store.get_or_create_experiment("wine") == wine
    renamed = store.rename_experiment("1", "red-wine")
    assert renamed.name == "red-wine"
    store.set_experiment_stage("1", "deleted")
    assert [e.name for e in store.search_experiments("active")] == ["Default"]
    assert [e.name for e in store.search_experiments("deleted")] == ["red-wine"]
    assert len(store.search_experiments("all")) == 2
    with pytest.raises(UsageError, match=r"already exists \(deleted\)"):
        store.create_experiment("red-wine")
    store.set_experiment_stage("1", "active")
    assert len(store.search_experiments("active")) == 2
    with pytest.raises(UsageError, match="Default experiment"):
        store.set_experiment_stage("0", "deleted")
    with pytest.raises(NotFoundError, match="no experiment with id 42"):
        store.get_experiment("42")


def test_run_round_trip_and_latest_metric_semantics(store: SqlStore) -> None:
    run_id = new_run(store)
    store.log_batch(
        run_id,
        EventBatch(
            metrics=(
                Metric("loss", 3.0, 0, 100),
                Metric("loss", 1.0, 2, 50),
                Metric("loss", 2.0, 1, 200),
                Metric("nan", math.nan, 0, 1),
                Metric("inf", math.inf, 0, 1),
            ),
            tags=(("t", "1"),),
        ),
    )
    store.log_batch(run_id, EventBatch(metrics=(Metric("loss", 9.0, 1, 999),)))
    run = store.get_run(run_id)
    assert run.metrics["loss"].value == 1.0  # highest step wins, not the newest write
    assert math.isnan(run.metrics["nan"].value)
    assert run.metrics["inf"].value == math.inf
    assert [m.value for m in store.metric_history(run_id, "loss")] == [3.0, 2.0, 9.0, 1.0]
    assert run.tags == {"t": "1"}
    assert run.params == (Param("alpha", "0.5", "float"),)
    assert run.status == "RUNNING"


def test_param_conflicts_keep_the_first_value(store: SqlStore) -> None:
    run_id = new_run(store)
    warnings = store.log_batch(run_id, EventBatch(params=(Param("alpha", "0.7"), Param("b", "1"))))
    assert warnings == ["param 'alpha' was logged as '0.7' but is already '0.5'; kept '0.5'"]
    assert {p.key: p.value for p in store.get_run(run_id).params} == {"alpha": "0.5", "b": "1"}


def test_finish_is_final(store: SqlStore) -> None:
    run_id = new_run(store)
    store.finish_run(run_id, "FAILED", 3, "boom")
    store.finish_run(run_id, "FINISHED", 0)
    run = store.get_run(run_id)
    assert (run.status, run.exit_code, run.status_reason) == ("FAILED", 3, "boom")
    assert run.end_time is not None


def test_rename_run(store: SqlStore) -> None:
    run_id = new_run(store)
    store.rename_run(run_id, "renamed")
    store.rename_run(run_id, "renamed")  # idempotent
    assert store.get_run(run_id).name == "renamed"
    with pytest.raises(UsageError):
        store.rename_run(run_id, "  ")
    with pytest.raises(NotFoundError):
        store.rename_run("f" * 32, "x")


def test_resolve_run_id_prefix(store: SqlStore) -> None:
    run_id = new_run(store)
    assert store.resolve_run_id(run_id[:6]) == run_id
    with pytest.raises(NotFoundError):
        store.resolve_run_id("zzzz")


def test_reap_orphans_marks_dead_runs_failed_and_ingests_their_events(
    store: SqlStore, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text('{"t":"metric","k":"m","v":1.5,"s":0,"ts":1}\n{"t":"metric"')
    dead_pid = 2**22 + 12345  # above Linux's default pid_max: never a live process
    orphan = new_run(store, host="h", pid=dead_pid, events_path=str(events))
    alive = new_run(store, host="h", pid=os.getpid())
    elsewhere = new_run(store, host="other", pid=dead_pid)
    assert reap_orphans(store, "h") == [orphan]
    run = store.get_run(orphan)
    assert run.status == "FAILED"
    assert run.status_reason is not None
    assert "disappeared" in run.status_reason
    assert run.metrics["m"].value == 1.5
    assert store.get_run(alive).status == "RUNNING"
    assert store.get_run(elsewhere).status == "RUNNING"


def test_loaded_runs_are_whole_records(store: SqlStore) -> None:
    """Runs are loaded through fast paths (``checked_metric``): each record must still carry
    every field, and equal the one its constructor builds."""
    run_id = new_run(store, tags=(("team", "a"),))
    store.log_batch(run_id, EventBatch(metrics=(Metric("nan", math.nan, 0, 1),
                                                Metric("r2", 0.5, 3, 7))))  # fmt: skip
    run = store.get_runs([run_id])[0]
    records = [run, run.code, *run.params, *run.metrics.values()]
    for record in records:
        names = {f.name for f in dataclasses.fields(record)}  # type: ignore[arg-type]
        values = {name: getattr(record, name) for name in names}
        assert type(record)(**values) == record or record is run.metrics["nan"]
    assert run.metrics["r2"] == Metric("r2", 0.5, 3, 7)
    assert run.tags == {"team": "a"}


@pytest.mark.parametrize("descending", [True, False])
def test_an_order_by_start_time_walks_its_index(store: SqlStore, descending: bool) -> None:
    """Both directions on both dialects: the NULLS placement of a column without NULLs is
    the one its index yields (PostgreSQL sorted every run for ``start_time DESC NULLS
    LAST``)."""
    from mlrun_cli.tracking.run_search import RunQuery, page_sql, parse_order_by

    direction = "DESC" if descending else "ASC"
    query = RunQuery((0,), "active", None, (parse_order_by(f"start_time {direction}"),))
    sql, args = page_sql(query, store.dialect)[0]
    conn = store._conn
    if store.dialect.name == "postgresql":
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET enable_sort = off")  # an incremental sort of ties stays allowed
        plan = [row[0] for row in conn.execute(f"EXPLAIN {sql} LIMIT 10", args).fetchall()]
    else:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()]
    # Only the ties (same start time) are sorted: an incremental sort, the right part.
    whole_sorts = [line for line in plan if re.match(r"\s*(->\s+)?Sort\s+\(", line)
                   or "TEMP B-TREE FOR ORDER BY" in line]  # fmt: skip
    assert not whole_sorts, plan
