"""Training-code client and ingest targets (issue 14), measured side by side in one invocation.

    python benchmarks/bench_client.py [--runs 5] [--points 100000] [--postgres]

- ``log_metric`` per call in the training code (a child process logging --points points to
  an events file as under ``mlrun run``): <= 5 us; beside it the same loop calling a function
  that does nothing (the loop's own cost);
- seconds from the child's last line to ``mlrun run``'s exit, for --points points: <= 0.3 s;
  beside it ``mlrun run`` of an entry point that logs nothing (the run's own cost after the
  child exits);
- ``log_batch`` of --points points into a store (SQLite; with --postgres also a throwaway
  PostgreSQL server started as the tests start theirs).
Each figure is the median of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import ensure_bytecode, mlrun_exe, report

PER_CALL = """
import os, sys, time
import mlrun_cli
n = int(sys.argv[1])
mlrun_cli.log_metric("loss", 0.5, step=0)  # the first call opens the events file
def nothing(key, value, step=None):
    pass
start = time.perf_counter()
for i in range(n):
    nothing("loss", 1.0 / (i + 1), step=i)
empty = time.perf_counter() - start
start = time.perf_counter()
for i in range(n):
    mlrun_cli.log_metric("loss", 1.0 / (i + 1), step=i)
calls = time.perf_counter() - start
print(calls / n * 1e6, empty / n * 1e6)
"""

MANY = """\
import sys, time, pathlib, mlrun_cli
for i in range(int(sys.argv[2])):
    mlrun_cli.log_metric("loss", 1.0 / (i + 1), step=i)
pathlib.Path(sys.argv[1]).write_text(repr(time.time()))
"""

STORE_PROBE = """
import json, sys, time
from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, RunCreate
from mlrun_cli.tracking.store import open_store
store = open_store(sys.argv[1])
n, runs = int(sys.argv[2]), int(sys.argv[3])
batch = EventBatch(metrics=tuple(Metric("loss", 1.0 / (i + 1), i, 1700000000000 + i // 10)
                                 for i in range(n)))
times = []
for _ in range(runs):
    run = store.create_run(RunCreate("0", "b", "main", "c", CodeVersion("local", "/p")))
    start = time.perf_counter()
    store.log_batch(run.run_id, batch)
    times.append(time.perf_counter() - start)
assert len(store.metric_history(run.run_id, "loss")) == n
print(json.dumps(sorted(times)[len(times) // 2]))
"""


def per_call(work: Path, points: int) -> tuple[float, float]:
    events = work / "calls.jsonl"
    events.touch()
    env = {**os.environ, "MLRUN_EVENTS": str(events), "MLRUN_ARTIFACT_DIR": str(work / "a")}
    out = subprocess.run([sys.executable, "-c", PER_CALL, str(points)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()  # fmt: skip
    events.unlink()
    return float(out[0]), float(out[1])


def after_exit(work: Path, points: int, index: int) -> float:
    """Seconds between the child's last line and mlrun's exit."""
    project = work / f"many{index}"
    project.mkdir()
    done = project / "done"
    (project / "MLproject").write_text(
        f"entry_points:\n  main:\n    command: python many.py {done} {points}\n"
    )
    (project / "many.py").write_text(MANY)
    subprocess.run([mlrun_exe(), "run", str(project), "--env-manager", "local"], cwd=work,
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return time.time() - float(done.read_text())


def store_batch(location: str, points: int, runs: int) -> float:
    out = subprocess.run([sys.executable, "-c", STORE_PROBE, location, str(points), str(runs)],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return float(json.loads(out.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    ensure_bytecode()
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["MLRUN_TRACKING_URI"] = str(work / "store")
        calls = [per_call(work, args.points) for _ in range(args.runs)]
        call = statistics.median(c[0] for c in calls)
        empty = statistics.median(c[1] for c in calls)
        rows.append(("log_metric per call (us, not s)", call, 5.0,
                     f"(the loop calling a no-op: {empty:.2f} us)"))  # fmt: skip
        ingest = statistics.median(after_exit(work, args.points, i) for i in range(args.runs))
        none = statistics.median(after_exit(work, 0, args.runs + i) for i in range(args.runs))
        rows.append((f"{args.points:,} points: child exit to mlrun exit", ingest, 0.3,
                     f"(no points: {none:.3f}s)"))  # fmt: skip
        sqlite = store_batch(str(work / "batch"), args.points, args.runs)
        rows.append((f"log_batch of {args.points:,} points, SQLite", sqlite, None, ""))
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
            from tests.postgres import start_server

            server = start_server()
            if server is None:
                sys.exit("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
            try:
                pg = store_batch(server.new_database(), args.points, args.runs)
            finally:
                server.stop()
            rows.append((f"log_batch of {args.points:,} points, PostgreSQL", pg, None, ""))
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
