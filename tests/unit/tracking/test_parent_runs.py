"""Nested runs in the store (migration 7): parent_run_id recorded, shown, searchable."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, RunCreate
from mlrun_cli.tracking.queries import search_runs
from mlrun_cli.tracking.schema import MIGRATIONS, SCHEMA_VERSION
from mlrun_cli.tracking.sqlite import SqliteStore
from mlrun_cli.tracking.store import open_store, resolve_location


def _spec(**changes: object) -> RunCreate:
    return RunCreate(
        experiment_id="0", name="r", entry_point="main", command="python x.py",
        code=CodeVersion("local", "/p", content_hash="h"), **changes,  # type: ignore[arg-type]
    )  # fmt: skip


def test_parent_is_recorded_and_searchable(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    parent = store.create_run(_spec())
    child = store.create_run(_spec(parent_run_id=parent.run_id))
    assert store.get_run(child.run_id).parent_run_id == parent.run_id
    assert store.get_run(child.run_id).to_json()["parent_run_id"] == parent.run_id
    assert parent.parent_run_id is None
    page = search_runs(store, ["0"], f"attributes.parent_run_id = '{parent.run_id}'")
    assert [r.run_id for r in page.runs] == [child.run_id]


def test_store_of_migration_6_is_upgraded_in_place(tmp_path: Path) -> None:
    location = resolve_location(str(tmp_path / "old"))
    location.db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(location.db_path)
    for statements in MIGRATIONS[:6]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("INSERT INTO experiments VALUES (0, 'Default', 'active', 1, 1)")
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, name, status, start_time, source_kind, "
        "source_uri, entry_point, command) VALUES ('a' , 0, 'old', 'FINISHED', 1, 'local', "
        "'/p', 'main', 'x')"
    )
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    store = SqliteStore(location)
    assert store.get_run("a").parent_run_id is None
    version = sqlite3.connect(location.db_path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION >= 7


def test_identical_metric_points_are_stored_once(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "s"))
    run_id = store.create_run(_spec()).run_id
    point = Metric("loss", 0.5, 3, 1000)
    nan = Metric("loss", float("nan"), 4, 1000)
    for _ in range(2):
        store.log_batch(run_id, EventBatch(metrics=(point, nan)))
    store.log_batch(run_id, EventBatch(metrics=(Metric("loss", 0.5, 3, 1001),)))
    history = store.metric_history(run_id, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(3, 1000), (3, 1001), (4, 1000)]
