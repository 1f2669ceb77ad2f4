"""Metric histories packed into chunks (tracking/sql/points.py), on both backends, and
migration 9, which moves a store's per-point rows into chunks."""

from __future__ import annotations

import math
import sqlite3
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from mlrun_cli.tracking.sql import points
from mlrun_cli.tracking.sql.dialect import SQLITE
from mlrun_cli.tracking.sql.migrate import apply_migrations
from tests.unit.tracking.conftest import BACKENDS, open_backend

if TYPE_CHECKING:
    from pathlib import Path

    from tests.postgres import PostgresServer

BEFORE_CHUNKS = 8  # the schema version whose metrics table holds one row a point


def test_chunks_round_trip_every_value_and_extreme_steps() -> None:
    values = [0.0, -0.0, 1.5, math.inf, -math.inf, 1e-300, -2.5e300]
    pts = [(i, 1_700_000_000_000 + i, v) for i, v in enumerate(values)]
    assert points.decode(points.encode(pts)) == pts
    nan = points.decode(points.encode([(0, 0, math.nan)]))
    assert math.isnan(nan[0][2])
    extreme = [(-(2**63), 0, 1.0), (2**63 - 1, 253402300799999, 2.0)]  # deltas overflow int64
    assert points.decode(points.encode(extreme)) == extreme
    widths = [(0, 5, 1.0), (1, 3, 2.0), (40_000, 2**40, 3.0), (2**40, 1, 4.0), (2**40, 2, 5.0)]
    assert points.decode(points.encode(widths)) == widths  # each width, negative differences
    assert points.decode(points.encode([(7, 9, 0.5)])) == [(7, 9, 0.5)]
    # a chunk's count and lowest step come from its head (the table stores neither)
    for sample in (pts, extreme, widths, [(7, 9, 0.5)]):
        assert points.head(points.encode(sample)) == (len(sample), sample[0][0])


def test_ten_points_take_a_few_bytes_each() -> None:
    pts = [(i, 1_700_000_000_000 + i, 0.95**i) for i in range(10)]
    assert len(points.encode(pts)) < 10 * 12


@pytest.mark.parametrize("backend", BACKENDS)
def test_histories_keep_every_distinct_point_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = open_backend(backend, request, tmp_path)
    run_id = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p"))).run_id
    first = tuple(Metric("m", float(i), i, 10 + i) for i in range(0, 3000, 2))
    store.log_batch(run_id, EventBatch(metrics=first))
    store.log_batch(run_id, EventBatch(metrics=first[:10]))  # a retried batch
    # Out of order, a NaN twice, the same step and time with another value, one point at a
    # time (the MLflow client's way): all merged into the chunks, nothing lost or doubled.
    late = [Metric("m", 0.5, 1, 11), Metric("m", math.nan, 3, 1), Metric("m", math.nan, 3, 1),
            Metric("m", 99.0, 0, 10), Metric("m", 7.0, 5000, 1)]  # fmt: skip
    for metric in late:
        store.log_batch(run_id, EventBatch(metrics=(metric,)))
    store.log_batch(run_id, EventBatch(metrics=tuple(late)))  # all of them again
    history = store.metric_history(run_id, "m")
    assert len(history) == len(first) + 4
    assert [(m.step, m.timestamp) for m in history] == sorted((m.step, m.timestamp)
                                                              for m in history)  # fmt: skip
    assert {m.value for m in history if m.step == 0} == {0.0, 99.0}
    assert math.isnan(next(m.value for m in history if m.step == 3))
    assert store.get_run(run_id).metrics["m"].step == 5000
    many = store.metric_histories([run_id, "nope"], "m")
    assert list(many) == [run_id]
    assert [(s, t) for s, t, _ in many[run_id]] == [(m.step, m.timestamp) for m in history]
    store.close()


def _old_sqlite_store(folder: Path) -> Path:
    """A SQLite store at schema 8 with one run, its params, tags and 1,500 points."""
    folder.mkdir()
    db = folder / "mlrun.db"
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    apply_migrations(conn, SQLITE, 0, BEFORE_CHUNKS)
    conn.execute(f"PRAGMA user_version = {BEFORE_CHUNKS}")
    _old_rows(conn)
    conn.execute("COMMIT")
    conn.close()
    return folder


def _old_rows(conn: object) -> None:
    execute = conn.execute  # type: ignore[attr-defined]
    execute("INSERT INTO runs (run_id, experiment_id, name, status, start_time, source_kind, "
            "source_uri, entry_point, command) VALUES ('abcd1234', 0, 'old', 'FINISHED', 1, "
            "'local', '/p', 'main', 'x')")  # fmt: skip
    execute("INSERT INTO params (run_id, key, value) VALUES ('abcd1234', 'alpha', '0.5')")
    execute("INSERT INTO tags (run_id, key, value) VALUES ('abcd1234', 'team', 'a')")
    for i in range(1500):
        nan = int(i == 7)
        execute("INSERT INTO metrics (run_id, key, value, is_nan, step, timestamp) "
                "VALUES ('abcd1234', 'loss', ?, ?, ?, ?)", (None if nan else i / 2, nan, i, 5))  # fmt: skip
    execute("INSERT INTO latest_metrics (run_id, key, value, is_nan, step, timestamp) "
            "VALUES ('abcd1234', 'loss', 749.5, 0, 1499, 5)")  # fmt: skip


def _check_migrated(store: object) -> None:
    from mlrun_cli.tracking.queries import search_runs

    run = store.get_run("abcd1234")  # type: ignore[attr-defined]
    assert run.params == (Param("alpha", "0.5"),)
    assert run.tags == {"team": "a"}
    assert run.metrics["loss"].value == 749.5
    history = store.metric_history("abcd1234", "loss")  # type: ignore[attr-defined]
    assert [m.step for m in history] == list(range(1500))
    assert math.isnan(history[7].value)
    assert history[8].value == 4.0
    page = search_runs(store, ["0"], "params.alpha = '0.5' and tags.team = 'a' and "  # type: ignore[arg-type]
                       "metrics.loss > 1", ["metrics.loss DESC"])  # fmt: skip
    assert [r.run_id for r in page.runs] == ["abcd1234"]
    store.log_batch("abcd1234", EventBatch(metrics=(Metric("loss", 1.0, 1500, 6),)))  # type: ignore[attr-defined]
    assert len(store.metric_history("abcd1234", "loss")) == 1501  # type: ignore[attr-defined]
    # A run created after the migrations gets the next run key; the two never mix.
    new = store.create_run(RunCreate("0", "new", "main", "x", CodeVersion("local", "/p"),  # type: ignore[attr-defined]
                                     params=(Param("alpha", "0.5"),), tags=(("team", "a"),)))  # fmt: skip
    store.log_batch(new.run_id, EventBatch(metrics=(Metric("loss", 2.0, 0, 6),)))  # type: ignore[attr-defined]
    both = search_runs(store, ["0"], "params.alpha = '0.5' and tags.team = 'a'",  # type: ignore[arg-type]
                       ["metrics.loss DESC"])  # fmt: skip
    assert [r.run_id for r in both.runs] == [new.run_id, "abcd1234"]  # loss 2.0, 1.0
    assert [m.value for m in store.metric_history(new.run_id, "loss")] == [2.0]  # type: ignore[attr-defined]
    assert len(store.metric_history("abcd1234", "loss")) == 1501  # type: ignore[attr-defined]


def test_a_sqlite_store_with_metric_rows_is_migrated(tmp_path: Path) -> None:
    from mlrun_cli.tracking.store import open_store

    store = open_store(str(_old_sqlite_store(tmp_path / "s")))
    _check_migrated(store)
    tables = {row[0] for row in store._conn.execute(  # type: ignore[attr-defined]
        "SELECT name FROM sqlite_master WHERE type = 'table'")}  # fmt: skip
    assert "metrics" not in tables
    assert "metric_chunks" in tables
    store.close()


@pytest.mark.integration
def test_a_postgresql_store_with_metric_rows_is_migrated(postgres_server: PostgresServer) -> None:
    from mlrun_cli.tracking.postgres import PgConnection
    from mlrun_cli.tracking.sql.migrate import upgrade_database
    from mlrun_cli.tracking.store import open_store

    uri = postgres_server.new_database(migrated=False)
    upgrade_database(uri, target=BEFORE_CHUNKS)
    conn = PgConnection(uri)
    _old_rows(conn)
    conn.close()
    assert upgrade_database(uri)[0] == BEFORE_CHUNKS
    store = open_store(uri)
    _check_migrated(store)
    store.close()
