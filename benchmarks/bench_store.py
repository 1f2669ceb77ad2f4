"""Store speed targets (issue 14), on SQLite and PostgreSQL stores built by make_runs.py.

    python benchmarks/bench_store.py STORE_DIR|postgresql://... [--repeat 5]
    python benchmarks/bench_store.py --postgres N [--arrival-order]   # a temporary PostgreSQL

Inside the process, median of --repeat: a page of 1,000 runs (search + load: <= 0.05 s); the
first page ordered by ``tags.team, metrics.r2`` (<= 0.1 s at 1,000,000 runs); the orphan check
run before every store command (``running_runs_on``: <= 0.5 ms); ``runs search`` as the
issue-6 query (<= 0.1 s); a page halfway down the store by keyset token, beside the same
page by offset; and the store's size per run (<= 3 KB). The store must exist
(make_runs.py STORE --runs N builds it); ``--postgres N`` starts a throwaway PostgreSQL server
the way the tests do (tests/postgres.py: Debian's binaries, initdb into a temp folder) and
builds N runs in it first (the build time is reported).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from mlrun_cli.tracking.queries import experiment_ids_for, search_runs
from mlrun_cli.tracking.run_search import (
    DEFAULT_ORDER,
    RunQuery,
    encode_keyset_token,
    encode_page_token,
    order_signature,
    parse_order_by,
)
from mlrun_cli.tracking.sql.store import SqlStore
from mlrun_cli.tracking.store import open_store


def median_s(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def store_bytes(store: SqlStore, location: str) -> int:
    """The store's bytes: its files (SQLite), or every table with its indexes and TOAST
    (PostgreSQL, pg_total_relation_size: the database's own catalogs left out)."""
    if store.dialect.name == "postgresql":
        return int(store._conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).fetchone()[0])  # fmt: skip
    return sum(p.stat().st_size for p in Path(location).glob("mlrun.db*"))


def largest_relations(store: SqlStore, runs: int) -> str:
    """PostgreSQL: the relations that hold most of a run's bytes (what to shrink next)."""
    if store.dialect.name != "postgresql":
        return ""
    rows = store._conn.execute(
        "SELECT c.relname, pg_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
        "ORDER BY 2 DESC LIMIT 8"
    ).fetchall()
    return "  " + ", ".join(f"{name} {size / runs:.0f}" for name, size in rows) + " (bytes/run)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store", nargs="?")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", type=int, metavar="N", help="a temporary PostgreSQL store")
    parser.add_argument("--arrival-order", action="store_true",
                        help="--postgres: indexes grow row by row, as a server's")  # fmt: skip
    args = parser.parse_args()
    if args.postgres is None:
        return measure(args.store, args.repeat)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.postgres import start_server

    server = start_server()
    if server is None:
        sys.exit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        uri = server.new_database(migrated=False)
        order = ["--arrival-order"] if args.arrival_order else []
        make = [sys.executable, str(Path(__file__).parent / "make_runs.py"), uri, "--runs",
                str(args.postgres), *order]  # fmt: skip
        subprocess.run(make, check=True)
        return measure(uri, args.repeat)
    finally:
        server.stop()


def measure(location: str, repeat: int) -> int:
    """Print the figures of the store at ``location``."""
    store = open_store(location, create=False)
    assert isinstance(store, SqlStore)
    runs = int(store._conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    ids = experiment_ids_for(store, [], [])
    # A page halfway down, by keyset token and by offset (what a page token was before).
    query = RunQuery(tuple(int(i) for i in ids), "active", None, (parse_order_by(DEFAULT_ORDER),))
    middle = store.search_run_ids(query, 1, runs // 2)[0]
    values, run_id = store.run_position(query, middle)
    keyset = encode_keyset_token(values, run_id, order_signature(query.order))
    offset = encode_page_token(runs // 2)
    figures = {
        # how busy the machine is (compare invocations by it): pure Python, no store
        "calibration, 200,000 squares summed in Python (s)": median_s(
            lambda: sum(i * i for i in range(200_000)), repeat),
        "page of 1,000 runs (s)": median_s(lambda: search_runs(store, ids, max_results=1000),
                                           repeat),
        "order by tags.team, metrics.r2, 100 runs (s)": median_s(
            lambda: search_runs(store, ids, order_by=["tags.team", "metrics.r2"],
                                max_results=100), repeat),
        "runs search, issue-6 query (s)": median_s(
            lambda: search_runs(store, ids, "params.alpha = '0.5' and metrics.rmse < 0.8",
                                ["metrics.rmse ASC"], 100), repeat),
        "100 runs halfway down, keyset token (s)": median_s(
            lambda: search_runs(store, ids, max_results=100, page_token=keyset), repeat),
        "100 runs halfway down, offset token (s)": median_s(
            lambda: search_runs(store, ids, max_results=100, page_token=offset), repeat),
        "orphan check (ms)": 1000 * median_s(lambda: store.running_runs_on("host"), repeat),
    }  # fmt: skip
    print(f"{store.dialect.name} store, {runs} runs: {store_bytes(store, location) / runs:.0f} "
          "bytes per run")  # fmt: skip
    if detail := largest_relations(store, runs):
        print(detail)
    for name, value in figures.items():
        print(f"  {name}: {value:.4f}")
    store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
