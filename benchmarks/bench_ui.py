"""Web UI speed targets (issue 15), against a real `mlrun ui` and headless Chromium.

    python benchmarks/bench_ui.py [--work DIR] [--repeat 5] [--mlflow-venv DIR]

- runs page over 10,000 and 100,000 runs (stores from make_runs.py): server time <= 0.2 s
  (one HTTP GET of the whole page, median), first contentful paint in headless Chromium <= 1 s;
- compare page with 500 runs x 1,000 steps of one metric: <= 1 s from navigation to the
  drawn chart;
- MLflow's UI (`mlflow server`, from a separate venv given by --mlflow-venv with mlflow
  installed) on the same 10,000 runs, bulk-copied into its own SQLite schema: time to a rendered
  runs table, against ours; the ratio is reported.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
CHROMIUM = "/usr/bin/chromium"
FILTER = "params.alpha = '0.5' and metrics.rmse < 0.8"  # bench_search.py's query
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit(f"nothing listening on port {port} after {seconds}s")


def serve(argv: list[str], port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A server in its own process group (mlflow server starts several children)."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env or dict(os.environ), start_new_session=True)  # fmt: skip
    wait_listening(port, proc)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def mlrun_ui(store: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    argv = [sys.executable, "-m", "mlrun_cli", "ui", "--tracking-uri", str(store), "--port",
            str(port)]  # fmt: skip
    return f"http://127.0.0.1:{port}", serve(argv, port)


def server_time(url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat + 1):
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 - loopback
            response.read()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first request warms the page cache


def build_store(path: Path, runs: int) -> None:
    if not (path / "mlrun.db").exists():
        subprocess.run([sys.executable, str(HERE / "make_runs.py"), str(path), "--runs",
                        str(runs)], check=True)  # fmt: skip


def build_compare_store(path: Path, runs: int = 500, steps: int = 1000) -> list[str]:
    """``runs`` runs with a ``steps``-step history of one metric (loss), bulk inserted."""
    from mlrun_cli.tracking.sql.points import CHUNK, chunk_row
    from mlrun_cli.tracking.sqlite import SqliteStore
    from mlrun_cli.tracking.store import resolve_location

    store = SqliteStore(resolve_location(str(path)))
    conn = store._conn
    existing = [r[0] for r in conn.execute("SELECT run_id FROM runs ORDER BY name")]
    if len(existing) == runs:
        store.close()
        return existing
    experiment = store.get_or_create_experiment("curves").experiment_id
    rng = random.Random(0)  # noqa: S311 - synthetic data
    ids, rows, history, latest = [], [], [], []
    for index in range(runs):
        run_id = uuid.UUID(int=rng.getrandbits(128)).hex
        ids.append(run_id)
        run_key = index + 1
        start = 1_700_000_000_000 + index * 1000
        rows.append(
            (
                run_id,
                run_key,
                int(experiment),
                f"trial-{index:03d}",
                "FINISHED",
                start,
                start + 500,
                "bench",
                "host",
                "local",
                "/p",
                "main",
                "python x.py",
                0,
            )
        )
        value, rate = 2.0 + rng.random(), 0.995 - rng.random() * 0.004
        points: list[tuple[int, int, float]] = []
        for step in range(steps):
            value = value * rate + rng.gauss(0, 0.004)
            points.append((step, start + step, value))
        history.extend(chunk_row(run_key, "loss", seq, points[first : first + CHUNK])
                       for seq, first in enumerate(range(0, steps, CHUNK)))  # fmt: skip
        latest.append((run_key, "loss", value, steps - 1, start + steps))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO runs (run_id, run_key, experiment_id, name, status, start_time, end_time, "
        "user_id, host, source_kind, source_uri, entry_point, command, exit_code) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.executemany("INSERT INTO metric_chunks (run_key, key, seq, max_step, data) "
                     "VALUES (?, ?, ?, ?, ?)", history)  # fmt: skip
    conn.executemany("INSERT INTO latest_metrics (run_key, key, value, step, timestamp) "
                     "VALUES (?, ?, ?, ?, ?)", latest)  # fmt: skip
    conn.execute("COMMIT")
    store.close()
    return ids


MLFLOW_IMPORT = r"""
import array, itertools, sqlite3, sys, time
def points(data):  # mlrun's metric chunks (tracking/sql/points.py encode)
    if data[0] == 2:
        n = (len(data) - 1) // 24
        q = array.array("q", data[1:1 + 16 * n])
        return zip(q[:n], q[n:], array.array("d", data[1 + 16 * n:]))
    sc, tc = chr(data[1]), chr(data[2])
    sw, tw = array.array(sc).itemsize, array.array(tc).itemsize
    s0, t0 = array.array("q", data[3:19])
    n = (len(data) - 19 + sw + tw) // (sw + tw + 8)
    at = 19 + (n - 1) * sw
    steps = itertools.accumulate(array.array(sc, data[19:at]), initial=s0)
    stamps = itertools.accumulate(array.array(tc, data[at:at + (n - 1) * tw]), initial=t0)
    return zip(steps, stamps, array.array("d", data[at + (n - 1) * tw:]))
source, target, artifacts = sys.argv[1:4]
store = SqlAlchemyStore(f"sqlite:///{target}", artifacts)
experiment_id = store.create_experiment("bench")
src = sqlite3.connect(source)
dst = sqlite3.connect(target)
runs = src.execute("SELECT run_id, name, start_time, end_time FROM runs").fetchall()
ID = "(SELECT run_id FROM runs r WHERE r.run_key = x.run_key)"
dst.execute("BEGIN")
dst.executemany(
    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, "
    "status, start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
    "VALUES (?, ?, 'LOCAL', '', 'main', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)",
    [(r, n, s, e, f"{artifacts}/{r}", int(experiment_id)) for r, n, s, e in runs])
dst.executemany("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)",
    [(k, v, r) for r, k, v in src.execute(f"SELECT {ID}, key, value FROM params x")])
dst.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
    [(k, v, r) for r, k, v in src.execute(f"SELECT {ID}, key, value FROM tags x")]
    + [("mlflow.runName", n, r) for r, n, _, _ in runs])
dst.executemany(
    "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, ?, ?, ?, 0)",
    [(k, v, t, r, s) for r, k, data in src.execute(f"SELECT {ID}, key, data FROM metric_chunks x")
     for s, t, v in points(data)])
dst.executemany(
    "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
    "VALUES (?, ?, ?, ?, 0, ?)",
    [(k, v, t, s, r) for r, k, v, s, t in
     src.execute(f"SELECT {ID}, key, value, step, timestamp FROM latest_metrics x")])
# MLflow 3 opens GenAI experiments on an overview page: this one is classic model training.
dst.execute("INSERT INTO experiment_tags (key, value, experiment_id) VALUES "
            "('mlflow.experimentKind', 'custom_model_development', ?)", (int(experiment_id),))
dst.execute("COMMIT")
print(experiment_id)
"""


def mlflow_server(venv: Path, source_db: Path, work: Path) -> tuple[str, subprocess.Popen[bytes]]:
    target = work / "mlflow.db"
    artifacts = work / "mlflow-artifacts"
    marker = work / "mlflow-experiment"
    python = str(venv / "bin" / "python")
    if not marker.exists():
        target.unlink(missing_ok=True)
        out = subprocess.run(
            [python, "-c", MLFLOW_IMPORT, str(source_db), str(target), str(artifacts)],
            check=True,
            capture_output=True,
            text=True,
        )
        marker.write_text(out.stdout.strip().splitlines()[-1])
    experiment_id = marker.read_text().strip()
    port = free_port()
    argv = [str(venv / "bin" / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{target}",
            "--default-artifact-root", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1"]  # fmt: skip
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    return f"http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs", serve(argv, port, env)


def browser_times(context: Any, url: str, selector: str, repeat: int) -> list[float]:
    """Seconds from navigation start until ``selector`` shows, one fresh tab each time."""
    times = []
    for _ in range(repeat):
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url, wait_until="commit", timeout=300_000)
        page.wait_for_selector(selector, timeout=300_000)
        times.append(time.perf_counter() - start)
        page.close()
    return times


def first_paint(context: Any, url: str, repeat: int) -> tuple[float, float]:
    """Median first contentful paint and time to the runs table, in seconds."""
    paints, tables = [], []
    for _ in range(repeat):
        page = context.new_page()
        page.goto(url, wait_until="load", timeout=120_000)
        page.wait_for_selector("table.runs tbody tr[data-run]")
        entry = page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
        )
        paints.append(entry / 1000)
        tables.append(page.evaluate("performance.timing.domContentLoadedEventEnd - "
                                    "performance.timing.navigationStart") / 1000)  # fmt: skip
        page.close()
    return statistics.median(paints), statistics.median(tables)


def compare_time(context: Any, url: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        page = context.new_page()
        page.goto(url, timeout=120_000)
        page.wait_for_selector("#curves[data-drawn-ms]", timeout=120_000)
        times.append(float(page.get_attribute("#curves", "data-drawn-ms") or 0) / 1000)
        page.close()
    return statistics.median(times)


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", type=Path, help="keep stores here between invocations")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mlflow-venv", type=Path, help="a venv with mlflow installed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on SIGTERM too

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ui-"))
    work.mkdir(parents=True, exist_ok=True)
    figures: dict[str, float] = {}
    servers: list[subprocess.Popen[bytes]] = []
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                str(work / "profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
                viewport={"width": 1400, "height": 900},
            )  # fmt: skip
            for runs in (10_000, 100_000):
                store = work / f"runs-{runs}"
                build_store(store, runs)
                base, proc = mlrun_ui(store)
                servers.append(proc)
                server = server_time(f"{base}/runs", args.repeat)
                query = urllib.parse.urlencode({"filter": FILTER, "order": "metric:rmse"})
                filtered = server_time(f"{base}/runs?{query}", args.repeat)
                figures[f"runs_{runs}_filtered_server_s"] = filtered
                paint, loaded = first_paint(context, f"{base}/runs", args.repeat)
                figures[f"runs_{runs}_server_s"] = server
                figures[f"runs_{runs}_first_paint_s"] = paint
                print(f"runs page, {runs:,} runs: server {server:.3f}s "
                      f"({verdict(server, 0.2)}, target 0.2), first paint {paint:.3f}s "
                      f"({verdict(paint, 1.0)}, target 1), DOM ready {loaded:.3f}s; "
                      f"filtered + sorted by a metric: server {filtered:.3f}s "
                      f"({verdict(filtered, 0.2)})")  # fmt: skip
                if runs == 10_000:
                    ours = browser_times(context, f"{base}/runs", "table.runs tbody tr[data-run]",
                                         args.repeat)  # fmt: skip
                    figures["mlrun_table_10000_s"] = statistics.median(ours)
            ids = build_compare_store(work / "compare", 500, 1000)
            base, proc = mlrun_ui(work / "compare")
            servers.append(proc)
            drawn = compare_time(context, f"{base}/compare?runs={','.join(ids)}", args.repeat)
            figures["compare_500x1000_drawn_s"] = drawn
            print(f"compare page, 500 runs x 1,000 steps: chart drawn at {drawn:.3f}s "
                  f"({verdict(drawn, 1.0)}, target 1)")  # fmt: skip
            if args.mlflow_venv:
                url, proc = mlflow_server(args.mlflow_venv, work / "runs-10000" / "mlrun.db", work)
                servers.append(proc)
                # MLflow's runs table is an ag-grid; a run's link appears once it renders.
                theirs = browser_times(context, url, ".ag-cell-value a[href*='/runs/']",
                                       args.repeat)  # fmt: skip
                figures["mlflow_table_10000_s"] = statistics.median(theirs)
                ratio = figures["mlflow_table_10000_s"] / figures["mlrun_table_10000_s"]
                figures["mlflow_over_mlrun"] = ratio
                print(
                    f"runs table, 10,000 runs: mlrun {figures['mlrun_table_10000_s']:.3f}s, "
                    f"MLflow {figures['mlflow_table_10000_s']:.3f}s: MLflow/mlrun = {ratio:.1f}x"
                )
            context.close()
    finally:
        for proc in servers:
            stop(proc)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
