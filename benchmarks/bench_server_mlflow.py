"""MLflow clients against `mlrun server` and against `mlflow server`, side by side (issue 14).

    python benchmarks/bench_server_mlflow.py [--runs 5] [--calls 1000] [--search-runs 2000]
        [--mlflow-venv DIR] [--client-venv DIR]

One invocation, one machine, both servers on SQLite, the same MLflow client (mlflow-skinny)
running the same scripts:

- server start to the first `/health` 200: `mlrun server` median of --runs fresh starts
  (target <= 2 s); `mlflow server` once on a fresh database (its first start migrates it) and
  once restarted on that database (they take tens of seconds);
- `mlflow.log_metric` per call (one HTTP request each, --calls of them, median of 3 runs)
  through each server: the ratio;
- `MlflowClient().search_runs` over the same --search-runs runs logged into each server by the
  same client (5 params, 5 metrics, 3 tags each): a filtered, ordered page of 100 and every run
  in pages of 1,000; median of 5 calls each, inside the client process.

Full `mlflow` (the server) and `mlflow-skinny` (the client) are installed with uv into
temporary venvs unless --mlflow-venv / --client-venv name existing ones.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import ensure_bytecode, mlrun_exe
from bench_mlflow import LOG_METRICS, MLFLOW_CLIENT, MLFLOW_SERVER, _client, _free_port
from bench_server import start_mlrun, startup, venv_with, wait_health

# MLflow's first start migrates its database (27 s to minutes on a busy 2-core machine).
MLFLOW_WAIT = 900.0

POPULATE = """\
import random, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
count = int(sys.argv[1])
client, rng = MlflowClient(), random.Random(0)
experiment = client.create_experiment("bench")
now = int(time.time() * 1000)
for i in range(count):
    run = client.create_run(experiment, run_name=f"r{i}")
    params = [Param("alpha", rng.choice(["0.01", "0.1", "0.5", "1.0"])),
              Param("l1_ratio", str(rng.random())), Param("epochs", str(rng.randint(1, 50))),
              Param("optimizer", rng.choice(["sgd", "adam", "lbfgs"])), Param("seed", str(i))]
    metrics = [Metric(k, rng.random(), now, 0) for k in ("rmse", "mae", "r2", "loss", "acc")]
    tags = [RunTag("team", rng.choice(["red", "blue", "green"])), RunTag("stage", "dev"),
            RunTag("idx", str(i))]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id)
print(experiment)
"""

SEARCH = """\
import json, statistics, sys, time
from mlflow import MlflowClient
experiment, expected = sys.argv[1], int(sys.argv[2])
client = MlflowClient()
def page():
    return client.search_runs([experiment], "metrics.rmse < 0.5 AND params.optimizer = 'adam'",
                              order_by=["metrics.r2 DESC"], max_results=100)
def everything():
    runs, token = [], None
    while True:
        found = client.search_runs([experiment], max_results=1000, page_token=token)
        runs.extend(found)
        token = found.token
        if not token:
            return runs
def timed(call):
    call()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), len(result)
page_s, page_n = timed(page)
all_s, all_n = timed(everything)
assert all_n == expected, (all_n, expected)
print(json.dumps({"page_s": page_s, "page_n": page_n, "all_s": all_s, "all_n": all_n}))
"""


def start_mlflow(venv: Path, db: Path, port: int) -> subprocess.Popen[bytes]:
    """`mlflow server` in its own process group (its workers are stopped with it)."""
    return subprocess.Popen(
        [str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root",
         str(db.parent / "artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 30 s (a server still starting may ignore SIGTERM); the
    whole process group for `mlflow server` (its own session)."""
    group = os.getpgid(proc.pid) == proc.pid if proc.poll() is None else False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def say(text: str) -> None:
    """One result line, printed at once (a later failure loses nothing measured)."""
    print(text, flush=True)


def _python(venv: Path) -> str:
    return str(venv / "bin" / "python")


def _script(base: Path, name: str, text: str) -> Path:
    path = base / name
    path.write_text(text)
    return path


def _mlflow_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLRUN_"))}
    env.update({"MLFLOW_TRACKING_URI": url, "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"})
    return env


def measure(python: str, base: Path, url: str, args: argparse.Namespace) -> dict[str, float]:
    """log_metric per call (median of 3), then populate and search, against one server."""
    script = _script(base, "log_metrics.py", LOG_METRICS)
    calls = [_client(python, script, args.calls, url, base / f"calls{i}.json") for i in range(3)]
    populate = _script(base, "populate.py", POPULATE)
    made = subprocess.run([python, str(populate), str(args.search_runs)], env=_mlflow_env(url),
                          capture_output=True, text=True, check=True)  # fmt: skip
    experiment = made.stdout.strip().splitlines()[-1]
    search = _script(base, "search.py", SEARCH)
    argv = [python, str(search), experiment, str(args.search_runs)]
    out = subprocess.run(argv, env=_mlflow_env(url), capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    result["per_call_ms"] = statistics.median(calls)
    return result


def compare(label: str, ours: float, theirs: float, unit: str) -> None:
    say(f"{label:<48} mlrun {ours:8.2f} {unit}, mlflow {theirs:8.2f} {unit}, "
        f"ratio {ours / theirs:.2f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--search-runs", type=int, default=1000)
    parser.add_argument("--mlflow-venv", type=Path, help="an existing venv with mlflow")
    parser.add_argument("--client-venv", type=Path, help="an existing venv with mlflow-skinny")
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        client = args.client_venv or venv_with(base, "client", MLFLOW_CLIENT)
        server_venv = args.mlflow_venv or venv_with(base, "mlflow", MLFLOW_SERVER)
        (base / "start").mkdir()
        ours_start = startup(lambda db, port: start_mlrun(mlrun, db, port), base / "start",
                             args.runs)  # fmt: skip
        verdict = "ok" if ours_start <= 2 else "MISSED"
        say(f"{'start to first /health 200, mlrun server':<48} {ours_start:8.2f} s "
            f"(median of {args.runs}; target <= 2 s: {verdict})")  # fmt: skip
        results = {}
        for name in ("mlrun", "mlflow"):
            folder = base / name
            folder.mkdir()
            port = _free_port()
            url = f"http://127.0.0.1:{port}"
            if name == "mlrun":
                server = start_mlrun(mlrun, folder / "s.db", port)
                wait_health(url, server)
            else:
                server = start_mlflow(server_venv, folder / "s.db", port)
                first = wait_health(url, server, MLFLOW_WAIT)
                say(f"{'the same, mlflow server, fresh database':<48} {first:8.2f} s "
                    "(its first start migrates it)")  # fmt: skip
            try:
                results[name] = measure(_python(client), folder, url, args)
            finally:
                stop(server)
        ours, theirs = results["mlrun"], results["mlflow"]
        compare("mlflow.log_metric per call", ours["per_call_ms"], theirs["per_call_ms"], "ms")
        compare(f"search_runs, filtered page of 100, {args.search_runs:,} runs",
                ours["page_s"] * 1000, theirs["page_s"] * 1000, "ms")  # fmt: skip
        compare(f"search_runs, all {args.search_runs:,} in pages of 1,000",
                ours["all_s"] * 1000, theirs["all_s"] * 1000, "ms")  # fmt: skip
        if ours["page_n"] != theirs["page_n"]:
            sys.exit(f"the servers disagree: {ours['page_n']} vs {theirs['page_n']} runs found")
        say(f"(the filtered page found {ours['page_n']:.0f} runs on both servers)")
        port = _free_port()
        server = start_mlflow(server_venv, base / "mlflow" / "s.db", port)
        try:
            again = wait_health(f"http://127.0.0.1:{port}", server, MLFLOW_WAIT)
        finally:
            stop(server)
        say(f"{'the same, mlflow server, restarted on it':<48} {again:8.2f} s")
    return 0 if ours_start <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
