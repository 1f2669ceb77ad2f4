"""Build a tracking store with many runs, for search benchmarks.

    python benchmarks/make_runs.py STORE_DIR|postgresql://... [--runs 100000] [--seed 0]

Each run: 5 params (alpha, l1_ratio, epochs, optimizer, seed), 5 metrics with 10-step
histories (rmse, mae, r2, loss, accuracy; one chunk each, tracking/sql/points.py), 3 tags,
spread over 10 experiments. Rows go in with bulk inserts through the store's own schema
(created by mlrun), 10,000 runs per transaction; on PostgreSQL (migrated first) with COPY.
Secondary indexes are built after the load unless ``--arrival-order`` (every index grows
row by row, as a live server's do: a larger store).
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from typing import Any

from mlrun_cli.tracking.sql.migrate import upgrade_database
from mlrun_cli.tracking.sql.points import chunk_row
from mlrun_cli.tracking.sql.store import SqlStore
from mlrun_cli.tracking.store import open_store

ALPHAS = ("0.01", "0.05", "0.1", "0.5", "1.0")
OPTIMIZERS = ("sgd", "adam", "lbfgs")
BATCH = 10_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--arrival-order", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)  # noqa: S311 - synthetic data, not security
    started = time.perf_counter()
    upgrade_database(args.store)
    store = open_store(args.store)
    assert isinstance(store, SqlStore)
    experiments = [store.get_or_create_experiment(f"bench-{i}").experiment_id for i in range(10)]
    conn = store._conn
    postgres = store.dialect.name == "postgresql"
    insert = _copier(conn) if postgres else _inserter(conn)
    # Secondary indexes are dropped for the load and built again after it (one sort each
    # instead of a random B-tree insert per row): the schema ends exactly as mlrun made it.
    indexes = [] if args.arrival_order else _drop_indexes(conn, postgres)
    if not postgres:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -500000")  # 500 MB
    base_time = 1_700_000_000_000
    # runs.run_key in creation order (PostgreSQL's COPY writes given identity values)
    next_key = int(conn.execute("SELECT COALESCE(MAX(run_key), 0) + 1 FROM runs").fetchone()[0])
    for first in range(0, args.runs, BATCH):
        runs, params, tags, history, latest = [], [], [], [], []
        for index in range(first, min(first + BATCH, args.runs)):
            run_id = uuid.UUID(int=rng.getrandbits(128)).hex
            key_of_run, next_key = next_key, next_key + 1
            start = base_time + index * 1000
            runs.append((run_id, key_of_run, int(rng.choice(experiments)), f"run-{index}",
                         "FINISHED", start, start + 500, "bench", "host", "local", "/p", "main",
                         "python x.py", 0))  # fmt: skip
            params += [
                (key_of_run, "alpha", rng.choice(ALPHAS)),
                (key_of_run, "l1_ratio", f"{rng.random():.2f}"),
                (key_of_run, "epochs", str(rng.randint(1, 100))),
                (key_of_run, "optimizer", rng.choice(OPTIMIZERS)),
                (key_of_run, "seed", str(index)),
            ]
            for key, value in (("team", rng.choice(("a", "b", "c"))), ("model", "enet"),
                               ("stage", rng.choice(("dev", "prod")))):  # fmt: skip
                tags.append((key_of_run, key, value))
            for key in ("rmse", "mae", "r2", "loss", "accuracy"):
                value = rng.random() * 2
                points = []
                for step in range(10):
                    value *= 0.95
                    points.append((step, start + step, value))
                history.append(chunk_row(key_of_run, key, 0, points))
                latest.append((key_of_run, key, value, 9, start + 9))
        conn.execute("BEGIN")
        insert("runs", "run_id, run_key, experiment_id, name, status, start_time, end_time, "
               "user_id, host, source_kind, source_uri, entry_point, command, exit_code",
               runs)  # fmt: skip
        insert("params", "run_key, key, value", params)
        insert("tags", "run_key, key, value", tags)
        insert("metric_chunks", "run_key, key, seq, max_step, data", history)
        insert("latest_metrics", "run_key, key, value, step, timestamp", latest)
        conn.execute("COMMIT")
    if postgres:  # the identity continues after the keys written here
        conn.execute("SELECT setval(pg_get_serial_sequence('runs', 'run_key'), "
                     "(SELECT MAX(run_key) FROM runs))")  # fmt: skip
    conn.execute("BEGIN")
    for sql in indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    store.close()
    print(f"{args.runs} runs in {time.perf_counter() - started:.1f}s -> {args.store}")
    return 0


def _drop_indexes(conn: Any, postgres: bool) -> list[str]:
    """Drop the run tables' secondary indexes; return the statements that rebuild them."""
    tables = "'runs', 'params', 'tags', 'latest_metrics'"
    if postgres:
        rows = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            f"AND tablename IN ({tables}) AND indexname NOT LIKE '%pkey' "
            "AND indexname <> 'runs_by_key'"  # the side tables' foreign keys need it
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({tables}) AND name <> 'runs_by_key'"
        ).fetchall()
    for name, _ in rows:
        conn.execute(f"DROP INDEX {name}")
    return [sql for _, sql in rows]


def _inserter(conn: Any) -> Any:
    def insert(table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
        marks = ", ".join("?" for _ in columns.split(","))
        conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)

    return insert


def _copier(conn: Any) -> Any:
    def insert(table: str, columns: str, rows: list[tuple[object, ...]]) -> None:
        with conn._raw.cursor().copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    return insert


if __name__ == "__main__":
    raise SystemExit(main())
