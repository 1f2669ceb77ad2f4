"""MLflow endpoint speed targets (issue 13), side by side in one invocation.

    python benchmarks/bench_mlflow.py [--runs 20] [--calls 1000] [--skip-server]

- deciding whether to serve the loopback endpoint and starting it: <= 5 ms added to
  `mlrun run` (measured in a fresh process that has already imported what `mlrun run` imports:
  import of the endpoint's modules + decision from the lock + bind + thread start; median);
- 1,000 `mlflow.log_metric` calls, one HTTP request each, from unchanged MLflow code under
  `mlrun run`: per-call latency, target <= 1 ms; beside the same script against a real
  `mlflow server` on SQLite (full `mlflow` installed into a benchmark venv with uv), same client,
  same machine, same invocation: the ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _timing import ensure_bytecode, mlrun_exe

MLFLOW_CLIENT = "mlflow-skinny==3.17.2"
MLFLOW_SERVER = "mlflow==3.17.2"

LOG_METRICS = """\
import json, sys, time, mlflow
calls, out = int(sys.argv[1]), sys.argv[2]
with mlflow.start_run():
    mlflow.log_metric("warm", 0.0)
    start = time.perf_counter()
    for i in range(calls):
        mlflow.log_metric("loss", i * 0.001, step=i)
    elapsed = time.perf_counter() - start
with open(out, "w") as handle:
    json.dump({"per_call_ms": elapsed / calls * 1000}, handle)
"""

# The floor: the same client against a server that does nothing (canned answers, stdlib).
NULL_SERVER = """
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
INFO = {"run_id": "0" * 32, "run_uuid": "0" * 32, "experiment_id": "0", "status": "RUNNING",
        "start_time": 1, "artifact_uri": "mlflow-artifacts:/x", "lifecycle_stage": "active",
        "run_name": "null"}
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms to every keep-alive call
    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        run = "runs/create" in self.path or "runs/get" in self.path
        body = json.dumps({"run": {"info": INFO, "data": {}}} if run else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

START_PROBE = """
import json, sys, time
from pathlib import Path
import mlrun_cli.execution.runner, mlrun_cli.execution.process, mlrun_cli.tracking.ingest
import mlrun_cli.tracking.names, mlrun_cli.tracking.sqlite  # imported by every `mlrun run`
from mlrun_cli.envs.base import Env
from mlrun_cli.envs.lock import EnvLock
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.store import open_store
store = open_store(sys.argv[1])
run = store.create_run(RunCreate(experiment_id="0", name="b", entry_point="main", command="c",
                                 code=CodeVersion("local", "/p", content_hash="h")))
packages = tuple((f"pkg{i}", "1.0") for i in range(60)) + ((sys.argv[2], "3.0"),)
env = Env("uv", Path(sys.executable), Path(sys.executable).parent, "3.11",
          EnvLock("3.11.7", "cpython", "linux-x86_64", packages))
start = time.perf_counter()
from mlrun_cli.mlflow_compat import serve_mlflow
endpoint = serve_mlflow(store, run, env)
started = time.perf_counter() - start
if endpoint is not None:
    endpoint.child_environment({})
    start = time.perf_counter()
    endpoint.close()
    closed = time.perf_counter() - start
else:
    closed = 0.0
print(json.dumps({"start_ms": started * 1000, "close_ms": closed * 1000}))
"""


def _probe(store: Path, package: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", START_PROBE, str(store), package],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def start_cost(runs: int, base: Path) -> tuple[float, float, float]:
    """Median ms: decide + start with MLflow in the lock, its close, and decide without."""
    with_mlflow = [_probe(base / f"s{i}", "mlflow-skinny") for i in range(runs)]
    without = [_probe(base / f"n{i}", "numpy") for i in range(runs)]
    return (
        statistics.median(p["start_ms"] for p in with_mlflow),
        statistics.median(p["close_ms"] for p in with_mlflow),
        statistics.median(p["start_ms"] for p in without),
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"mlflow server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - loopback
                return
        except OSError:
            time.sleep(0.5)
    sys.exit("mlflow server did not answer /health in time")


def server_per_call(base: Path, python: str, script: Path, calls: int) -> float:
    """Per-call ms of the same script against a real `mlflow server` on SQLite."""
    venv = base / "mlflow-server"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    subprocess.run([uv, "venv", "-q", "-p", "3.11", str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"),
                    MLFLOW_SERVER], check=True)  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(venv / "bin" / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{base / 'server.db'}",
         "--default-artifact-root", str(base / "server-artifacts"), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_ready(url, server)
        return _client(python, script, calls, url, base / "server.json")
    finally:
        server.terminate()
        server.wait(timeout=30)


def _client(python: str, script: Path, calls: int, url: str, out: Path) -> float:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url,
           "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}  # fmt: skip
    subprocess.run([python, str(script), str(calls), str(out)], cwd=out.parent, env=env,
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    per_call: float = json.loads(out.read_text())["per_call_ms"]
    return per_call


def null_per_call(base: Path, python: str, script: Path, calls: int) -> float:
    """Per-call ms of the script against a server that does nothing: the client's own cost."""
    server = subprocess.Popen([python, "-c", NULL_SERVER], stdout=subprocess.PIPE)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        runs = [_client(python, script, calls, f"http://127.0.0.1:{port}", base / f"null{i}.json")
                for i in range(3)]  # fmt: skip
        return statistics.median(runs)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--skip-server", action="store_true", help="no real mlflow server")
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        started, closed, undecided = start_cost(args.runs, base)
        proj = base / "proj"
        proj.mkdir()
        (proj / "MLproject").write_text(
            "entry_points:\n  main:\n    command: python log_metrics.py {calls} {out}\n"
            "    parameters: {calls: {type: int}, out: {type: string}}\n"
        )
        (proj / "python_env.yaml").write_text(
            f"python: '3.11'\ndependencies:\n  - {MLFLOW_CLIENT}\n"
        )
        (proj / "log_metrics.py").write_text(LOG_METRICS)
        env = {**os.environ, "MLRUN_TRACKING_URI": str(base / "store"),
               "MLRUN_CACHE_DIR": str(base / "cache")}  # fmt: skip
        loopback = []
        for index in range(3):
            out = base / f"loopback{index}.json"
            subprocess.run(
                [mlrun, "run", str(proj), "-P", f"calls={args.calls}", "-P", f"out={out}",
                 "--quiet"], cwd=base, env=env, check=True, capture_output=True,
            )  # fmt: skip
            loopback.append(json.loads(out.read_text())["per_call_ms"])
        per_call = statistics.median(loopback)
        envs = base / "cache" / "envs"
        (env_root,) = [p for p in envs.iterdir() if p.is_dir() and (p / "bin").exists()]
        floor = null_per_call(base, str(env_root / "bin" / "python"), proj / "log_metrics.py",
                              args.calls)  # fmt: skip
        server = None
        if not args.skip_server:
            server = server_per_call(base, str(env_root / "bin" / "python"),
                                     proj / "log_metrics.py", args.calls)  # fmt: skip
    print(f"{'decide + start the endpoint (mlflow in the lock)':<52} {started:7.2f} ms "
          f"(target <= 5 ms: {'ok' if started <= 5 else 'MISSED'})")  # fmt: skip
    print(f"{'decide (no mlflow in the lock)':<52} {undecided:7.3f} ms")
    print(f"{'stop the endpoint at the end of the run':<52} {closed:7.2f} ms")
    print(f"{f'mlflow.log_metric x{args.calls}, loopback, per call':<52} {per_call:7.3f} ms "
          f"(target <= 1 ms: {'ok' if per_call <= 1 else 'MISSED'})")  # fmt: skip
    print(f"{'the same against a do-nothing server (client floor)':<52} {floor:7.3f} ms "
          f"(mlrun's share {per_call - floor:+.3f} ms)")  # fmt: skip
    if server is not None:
        print(f"{'the same against mlflow server (SQLite), per call':<52} {server:7.3f} ms "
              f"(mlrun/mlflow ratio {per_call / server:.2f})")  # fmt: skip
    return 0 if started <= 5 and per_call <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
