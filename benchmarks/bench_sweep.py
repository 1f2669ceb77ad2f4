"""Sweep speed (issue 16), side by side in one invocation.

    python benchmarks/bench_sweep.py [--runs 3] [--trials 20] [--ray] [--no-dvc]

- a local sweep of N trials of a trivial entry point with -j 2 (every trial a recorded run):
  overhead per trial over running the same commands by hand, two at a time, <= 0.3 s;
  beside `dvc exp run --queue` x N + `dvc queue start -j 2` on the same project (ratio);
- with --ray: a single-node Ray head is started (stopped by its process group, never
  `ray stop`); per trial, `mlrun run --backend ray` (submit, run, record, wait) beside
  `ray job submit --working-dir . -- python train.py` by hand, and the same mlrun run
  recording into a team server with auth on (the submitter mints a run-scoped token first).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _timing import BIN, ensure_bytecode, mlrun_exe, report, sh

TRAIN = "import sys, mlrun_cli\nmlrun_cli.log_metric('i', float(sys.argv[1]))\n"
MLPROJECT = (
    "entry_points:\n  main:\n    parameters:\n      i: {type: int, default: 0}\n"
    "    command: python train.py {i}\n"
)
DVC_TRAIN = "import yaml\nprint(yaml.safe_load(open('params.yaml'))['i'])\n"


def timed(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


def by_hand(project: Path, trials: int) -> None:
    """The N commands, two at a time, as a shell loop with `xargs -P 2` would."""

    def one(i: int) -> None:
        # As under mlrun: the training API appends to an events file (no store access).
        events = project.parent / f"events-{i}.jsonl"
        events.touch()  # mlrun creates it before the entry point starts; the client expects it
        env = {**os.environ, "MLRUN_EVENTS": str(events)}
        subprocess.run([sys.executable, "train.py", str(i)], cwd=project, check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, range(trials)))


def mlrun_sweep(mlrun: str, project: Path, trials: int, store: Path) -> None:
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([mlrun, "sweep", str(project), "--env-manager", "local", "-P",
                    f"i=range(0,{trials})", "-j", "2", "--tracking-uri", str(store)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def dvc_project(base: Path, dvc: str) -> Path:
    repo = base / "dvcproj"
    repo.mkdir()
    (repo / "train.py").write_text(DVC_TRAIN)
    (repo / "params.yaml").write_text("i: 0\n")
    (repo / "dvc.yaml").write_text("stages:\n  train:\n    cmd: python train.py\n    params: [i]\n")
    sh(repo, "git", "init", "-q")
    sh(repo, dvc, "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "init")
    return repo


def dvc_queue(dvc: str, repo: Path, trials: int) -> None:
    """Queue N experiments, start 2 workers, wait until the queue is empty."""
    for i in range(trials):
        sh(repo, dvc, "exp", "run", "--queue", "-S", f"i={i}")
    sh(repo, dvc, "queue", "start", "-j", "2")
    while True:
        status = sh(repo, dvc, "queue", "status")
        if not any(word in status for word in ("Queued", "Running")):
            break
        time.sleep(0.2)
    sh(repo, dvc, "queue", "stop", "--kill")
    sh(repo, dvc, "queue", "remove", "--all")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ray_rows(
    mlrun: str, project: Path, runs: int, base: Path
) -> list[tuple[str, float, float | None, str]]:
    ray = BIN / "ray"
    if not ray.exists():
        sys.exit("ray is not installed: pip install 'mlrun-cli[ray]'")
    port = free_port()
    argv = [str(ray), "start", "--head", "--block", f"--port={free_port()}", "--num-cpus=2",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={port}",
            f"--ray-client-server-port={free_port()}", f"--temp-dir=/tmp/bench-ray-{os.getpid()}",
            "--disable-usage-stats"]  # fmt: skip
    # Every port of its own: a fixed default (the job agent's 52365) held by another head on
    # this host would leave this one without a job agent.
    for name in ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
                 "runtime-env-agent-port", "node-manager-port", "object-manager-port"):  # fmt: skip
        argv.append(f"--{name}={free_port()}")
    head = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.5)
        config = base / "ray.json"
        config.write_text(f'{{"address": "{address}"}}')
        env = {**os.environ, "RAY_ADDRESS": address}
        store = base / "ray-store"

        def with_mlrun() -> None:
            subprocess.run([mlrun, "run", str(project), "--env-manager", "local", "--backend",
                            "ray", "--backend-config", str(config), "--tracking-uri", str(store),
                            "-P", "i=1"], check=True, capture_output=True)  # fmt: skip

        def by_hand_ray() -> None:
            subprocess.run([str(ray), "job", "submit", "--working-dir", str(project), "--",
                            sys.executable, "train.py", "1"], check=True, capture_output=True,
                           env=env)  # fmt: skip

        with_mlrun()
        by_hand_ray()
        ours = statistics.median(timed(with_mlrun) for _ in range(runs))
        theirs = statistics.median(timed(by_hand_ray) for _ in range(runs))
        served = served_run(mlrun, project, config, base, runs)
    finally:
        # The head and everything it started share its process group (never `ray stop`).
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
    return [
        ("ray: mlrun run --backend ray (per trial)", ours, None, ""),
        ("ray: ray job submit by hand (per trial)", theirs, None, f"ratio {ours / theirs:.2f}x"),
        ("ray: the same, to a team server (run token)", served, None,
         f"{served - ours:+.2f} s beside the SQLite store"),
    ]  # fmt: skip


def served_run(mlrun: str, project: Path, config: Path, base: Path, runs: int) -> float:
    """Median of `mlrun run --backend ray` recording into a real `mlrun server` (auth on):
    the submitter mints the job's run-scoped token, the worker reports over HTTP."""
    uri = f"sqlite:///{base / 'server.db'}"
    sh(base, mlrun, "server", "--backend-store-uri", uri, "users", "add", "bench", "--role",
       "write")  # fmt: skip
    token = sh(base, mlrun, "server", "--backend-store-uri", uri, "tokens", "create",
               "bench").strip()  # fmt: skip
    port = free_port()
    server = subprocess.Popen([mlrun, "server", "--backend-store-uri", uri, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.2)
        env = {**os.environ, "MLRUN_TRACKING_TOKEN": token}

        def one() -> None:
            subprocess.run([mlrun, "run", str(project), "--env-manager", "local", "--backend",
                            "ray", "--backend-config", str(config), "--tracking-uri", url,
                            "-P", "i=1"], check=True, capture_output=True, env=env)  # fmt: skip

        one()
        return statistics.median(timed(one) for _ in range(runs))
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--ray", action="store_true")
    parser.add_argument("--no-dvc", action="store_true")
    args = parser.parse_args()
    ensure_bytecode()
    mlrun = mlrun_exe()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        project = base / "proj"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "train.py").write_text(TRAIN)
        store = base / "store"
        n = args.trials
        mlrun_sweep(mlrun, project, n, store)  # warm-up
        by_hand(project, n)
        ours = statistics.median(timed(lambda: mlrun_sweep(mlrun, project, n, store))
                                 for _ in range(args.runs))  # fmt: skip
        hand = statistics.median(timed(lambda: by_hand(project, n)) for _ in range(args.runs))
        per_trial = (ours - hand) / n
        rows: list[tuple[str, float, float | None, str]] = [
            (f"sweep {n} trials -j 2 (mlrun sweep)", ours, None, ""),
            (f"sweep {n} trials -j 2 (by hand)", hand, None, ""),
            ("overhead per trial", per_trial, 0.3, ""),
        ]
        dvc = shutil.which("dvc", path=str(BIN)) or shutil.which("dvc")
        if dvc is not None and not args.no_dvc:
            repo = dvc_project(base, dvc)
            queued = statistics.median(timed(lambda: dvc_queue(dvc, repo, n))
                                       for _ in range(max(1, args.runs - 2)))  # fmt: skip
            rows.append((f"sweep {n} trials -j 2 (dvc exp --queue)", queued, None,
                         f"mlrun is {queued / ours:.1f}x faster"))  # fmt: skip
        if args.ray:
            rows += ray_rows(mlrun, project, args.runs, base)
    return 0 if report(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
