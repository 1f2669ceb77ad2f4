"""Search speed targets (issue 6) on a store with 100,000 runs.

    python benchmarks/bench_search.py [--store DIR] [--runs 100000] [--repeat 10]

Builds the store with make_runs.py unless --store names an existing one (target: < 2 minutes),
then times the issue's query: --filter "params.alpha = '0.5' and metrics.rmse < 0.8"
--order-by "metrics.rmse ASC" --max-results 100:
- inside Python (store open, mlrun_cli.tracking.queries.search_runs): <= 0.1 s, median;
- as a whole `mlrun runs search` process: <= 0.4 s, median, against `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report

FILTER = "params.alpha = '0.5' and metrics.rmse < 0.8"
ORDER = "metrics.rmse ASC"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    with tempfile.TemporaryDirectory() as tmp:
        store_dir = args.store or Path(tmp) / "store"
        build_time = None
        if not (store_dir / "mlrun.db").exists():
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, str(Path(__file__).parent / "make_runs.py"), str(store_dir),
                 "--runs", str(args.runs)], check=True,
            )  # fmt: skip
            build_time = time.perf_counter() - started
        from mlrun_cli.tracking.queries import experiment_ids_for, search_runs
        from mlrun_cli.tracking.store import open_store

        store = open_store(str(store_dir), create=False)
        ids = experiment_ids_for(store, [], [])
        times = []
        for _ in range(args.repeat + 1):
            started = time.perf_counter()
            page = search_runs(store, ids, FILTER, [ORDER], 100)
            times.append(time.perf_counter() - started)
        in_python = statistics.median(times[1:])
        assert len(page.runs) == 100
        env = {**os.environ, "MLRUN_TRACKING_URI": str(store_dir)}
        argv = [mlrun, "runs", "search", "--filter", FILTER, "--order-by", ORDER,
                "--max-results", "100"]  # fmt: skip
        process = median_wall(argv, Path(tmp), args.repeat, env)
        baseline = median_wall([sys.executable, "-c", "pass"], Path(tmp), args.repeat, env)
    rows: list[tuple[str, float, float | None, str]] = []
    if build_time is not None:
        rows.append((f"generate {args.runs} runs", build_time, 120.0, ""))
    rows += [
        ("search, inside Python", in_python, 0.1, f"median of {args.repeat}"),
        ("mlrun runs search process", process, 0.4, f"{process / baseline:.1f}x python -c pass"),
    ]
    return 0 if report(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
