"""Team server speed targets (issue 14), side by side with `mlflow server` in one invocation.

    python benchmarks/bench_server.py [--runs 5] [--calls 1000] [--search-runs 100000]
                                      [--skip-mlflow] [--postgres postgresql://.../postgres]

With --postgres (a PostgreSQL server's admin URI) our server's stores are fresh databases
created there (and upgraded before the clock starts) instead of SQLite files.

- `mlrun server` start to the first `/health` 200: <= 2 s (median of --runs fresh starts;
  `mlflow server` measured the same way);
- 100,000 metric points from one run's events journal ingested through the server (the
  runner's own ingest, batched by byte range): <= 2 s;
- `mlflow.log_metric` per call (unchanged MLflow code, mlflow-skinny) through our server and
  through `mlflow server` on SQLite: the ratio;
- `mlrun runs search --tracking-uri http://...` whole process over --search-runs runs
  (benchmarks/make_runs.py): <= 0.4 s (median).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _timing import ensure_bytecode, median_wall, mlrun_exe, report
from bench_mlflow import LOG_METRICS, MLFLOW_CLIENT, MLFLOW_SERVER, _client, _free_port

# MLflow's first start builds its database (over a minute on a busy machine).
MLFLOW_WAIT = 900.0

INGEST_PROBE = """
import json, os, sys, time
from pathlib import Path
from mlrun_cli.tracking.ingest import ingest_available
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.stores.rest import RestStore
store = RestStore(sys.argv[1])
run = store.create_run(RunCreate(experiment_id="0", name="b", entry_point="main", command="c",
                                 code=CodeVersion("local", "/p", content_hash="h")))
events = Path(sys.argv[2])
with events.open("w") as out:
    for i in range(int(sys.argv[3])):
        out.write(json.dumps({"t": "metric", "k": "loss", "v": i * 0.001, "s": i,
                              "ts": 1700000000000 + i}) + "\\n")
start = time.perf_counter()
ingest_available(store, run.run_id, events, final=True)
elapsed = time.perf_counter() - start
points = len(store.metric_history(run.run_id, "loss"))
print(json.dumps({"seconds": elapsed, "points": points}))
"""


def wait_health(url: str, proc: subprocess.Popen[bytes], seconds: float = 180) -> float:
    """Seconds until /health answers 200 (from now)."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.01)
    sys.exit(f"{url} did not answer /health in time")


def backend_options(db: Path, postgres: str | None) -> list[str]:
    """``mlrun server`` options for a fresh store: the SQLite file ``db``, or (``postgres``: an
    admin URI) a new, upgraded database with its artifacts beside ``db``."""
    if not postgres:
        return ["--backend-store-uri", f"sqlite:///{db}"]
    return ["--backend-store-uri", new_database(postgres),
            "--artifacts-destination", str(db.parent / "artifacts")]  # fmt: skip


def new_database(postgres: str) -> str:
    """A new database on the PostgreSQL server of the admin URI, upgraded: its URI."""
    import uuid

    import psycopg

    from mlrun_cli.tracking.sql.migrate import upgrade_database

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    uri = postgres.rsplit("/", 1)[0] + "/" + name
    upgrade_database(uri)
    return uri


def start_mlrun(mlrun: str, options: list[str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [mlrun, "server", *options, "--port", str(port), "--no-auth"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def start_mlflow(venv: Path, db: Path, port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root",
         str(db.parent / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=60)


def startup(
    start: object, base: Path, runs: int, seconds: float = 180, prepare: object = None
) -> float:
    """Median seconds from spawning a server on a fresh store to its first /health 200
    (``prepare(db)`` makes the store's options before the clock starts)."""
    times = []
    for i in range(runs):
        port = _free_port()
        folder = base / f"start{i}"
        folder.mkdir()
        store = prepare(folder / "s.db") if prepare else folder / "s.db"  # type: ignore[operator]
        began = time.perf_counter()
        proc = start(store, port)  # type: ignore[operator]
        wait_health(f"http://127.0.0.1:{port}", proc, seconds)
        times.append(time.perf_counter() - began)
        stop(proc)
    return statistics.median(times)


def venv_with(base: Path, name: str, package: str) -> Path:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    venv = base / name
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), package],
                   check=True)  # fmt: skip
    return venv


def main() -> int:  # noqa: PLR0915 - one linear script: set up, measure, report
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--search-runs", type=int, default=100_000)
    parser.add_argument("--skip-mlflow", action="store_true", help="no mlflow server side")
    parser.add_argument("--postgres", metavar="ADMIN_URI", help="our stores on PostgreSQL")
    args = parser.parse_args()
    on = " (PostgreSQL)" if args.postgres else ""
    ensure_bytecode()
    mlrun = mlrun_exe()
    rows: list[tuple[str, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        ours_start = startup(
            lambda options, port: start_mlrun(mlrun, options, port), base, args.runs,
            prepare=lambda db: backend_options(db, args.postgres),
        )  # fmt: skip
        rows.append((f"mlrun server{on}: start to first /health 200", ours_start, 2.0, ""))

        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        (base / "main").mkdir()
        server = start_mlrun(mlrun, backend_options(base / "main" / "s.db", args.postgres), port)
        try:
            wait_health(url, server)
            probe_argv = [sys.executable, "-c", INGEST_PROBE, url, str(base / "ev.jsonl"),
                          str(args.points)]  # fmt: skip
            out = subprocess.run(probe_argv, capture_output=True, text=True, check=True)
            probe = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((f"{args.points:,} points ingested through the server{on}",
                         probe["seconds"], 2.0, f"({probe['points']:,} stored)"))  # fmt: skip
            if not args.skip_mlflow:
                client = venv_with(base, "client", MLFLOW_CLIENT) / "bin" / "python"
                script = base / "log_metrics.py"
                script.write_text(LOG_METRICS)
                ours_call = _client(str(client), script, args.calls, url, base / "ours.json")
        finally:
            stop(server)

        if not args.skip_mlflow:
            mlflow_venv = venv_with(base, "mlflow", MLFLOW_SERVER)
            (base / "m").mkdir()
            theirs_start = startup(lambda db, port: start_mlflow(mlflow_venv, db, port),
                                   base / "m", 1, MLFLOW_WAIT)  # fmt: skip
            rows.append(("mlflow server: start to first /health 200", theirs_start, None, ""))
            port = _free_port()
            (base / "mf").mkdir()
            server = start_mlflow(mlflow_venv, base / "mf" / "s.db", port)
            try:
                wait_health(f"http://127.0.0.1:{port}", server, MLFLOW_WAIT)
                theirs_call = _client(str(client), script, args.calls, f"http://127.0.0.1:{port}",
                                      base / "theirs.json")  # fmt: skip
            finally:
                stop(server)
            ratio = (f"({ours_call:.2f} ms; mlflow server {theirs_call:.2f} ms; "
                     f"ratio {ours_call / theirs_call:.2f})")  # fmt: skip
            rows.append(("mlflow.log_metric per call, mlrun server", ours_call / 1000, None, ratio))

        store = base / "search"
        options = backend_options(store / "mlrun.db", args.postgres)
        target = options[1] if args.postgres else str(store)
        make = [sys.executable, str(Path(__file__).parent / "make_runs.py"), target,
                "--runs", str(args.search_runs)]  # fmt: skip
        subprocess.run(make, check=True, stdout=subprocess.DEVNULL)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_mlrun(mlrun, options, port)
        try:
            wait_health(url, server)
            env = {**os.environ, "MLRUN_TRACKING_URI": url}
            search = median_wall([mlrun, "runs", "search", "--max-results", "100"], base,
                                 args.runs, env)  # fmt: skip
            rows.append((f"runs search --tracking-uri over {args.search_runs:,} runs{on}", search,
                         0.4, "(whole process, 100 rows)"))  # fmt: skip
        finally:
            stop(server)
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
