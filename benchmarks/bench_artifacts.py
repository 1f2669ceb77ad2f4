"""Listing a run's files: 20,000 of them, against a plain ``os.walk`` in the same invocation.

    python benchmarks/bench_artifacts.py [--files 20000] [--runs 5]

In process: ``FolderArtifacts.list`` (the whole run, and one 1,000-file folder) and
``entries`` (one level, what MLflow's listing shows) over the same folder an ``os.walk`` +
``stat`` lists. Through a real ``mlrun server`` (SQLite): ``GET /api/v1/runs/R/artifacts``,
``?prefix=`` of one folder, and MLflow's ``GET /api/2.0/mlflow-artifacts/artifacts?path=R``.
Each figure is the median of --runs; the ratio to ``os.walk`` is what to compare across
machines (timings here are noisy), no target is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from _timing import mlrun_exe
from bench_mlflow import _free_port

if TYPE_CHECKING:
    from collections.abc import Callable


def median(runs: int, work: Callable[[], object]) -> float:
    work()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def plain_walk(top: Path) -> list[tuple[str, int]]:
    found = []
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)  # noqa: PTH118 - the baseline is plain os
            found.append((path, os.stat(path).st_size))  # noqa: PTH116
    return found


def make_files(folder: Path, count: int) -> None:
    per = 1000
    for i in range(count):
        sub = folder / "many" / f"d{i // per}"
        if i % per == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i}.txt").write_bytes(b"x" * (i % 7))


def get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=600) as answer:  # noqa: S310 - loopback
        answer.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from mlrun_cli.artifacts.run import FolderArtifacts
    from mlrun_cli.tracking.models import CodeVersion, RunCreate
    from mlrun_cli.tracking.stores.rest import RestStore

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["MLRUN_HOME"] = str(root / "home")
        port = _free_port()
        db = root / "srv" / "mlrun.db"
        db.parent.mkdir()
        server = subprocess.Popen(
            [mlrun_exe(), "server", "--backend-store-uri", f"sqlite:///{db}", "--port",
             str(port), "--no-auth"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(600):
                try:
                    get(url + "/health")
                    break
                except OSError:
                    time.sleep(0.1)
            store = RestStore(url)
            experiment = store.get_or_create_experiment("bench")
            spec = RunCreate(experiment.experiment_id, "b", "main", "c", CodeVersion("local", "/p"))
            run_id = store.create_run(spec).run_id
            store.close()
            folder = db.parent / "artifacts" / run_id
            make_files(folder, args.files)
            files = FolderArtifacts(run_id, folder)
            base = median(args.runs, lambda: plain_walk(folder))
            sub = median(args.runs, lambda: plain_walk(folder / "many" / "d3"))
            rows = [
                (f"os.walk + stat, {args.files} files", base, base),
                ("FolderArtifacts.list(), whole run", median(args.runs, files.list), base),
                ("os.walk + stat, one 1,000-file folder", sub, sub),
                ("FolderArtifacts.list('many/d3')",
                 median(args.runs, lambda: files.list("many/d3")), sub),
                *(
                    [("FolderArtifacts.entries('many/d3'), one level",
                      median(args.runs, lambda: files.entries("many/d3")), sub)]
                    if hasattr(files, "entries") else []  # an older mlrun: no such method
                ),
                ("GET /api/v1/.../artifacts, whole run",
                 median(args.runs, lambda: get(f"{url}/api/v1/runs/{run_id}/artifacts")), base),
                ("GET /api/v1/.../artifacts?prefix=many/d3",
                 median(args.runs, lambda: get(
                     f"{url}/api/v1/runs/{run_id}/artifacts?prefix=many/d3")), sub),
                ("MLflow listing ?path=RUN (one level)",
                 median(args.runs, lambda: get(
                     f"{url}/api/2.0/mlflow-artifacts/artifacts?path={run_id}")), sub),
                ("MLflow listing ?path=RUN/many/d3",
                 median(args.runs, lambda: get(
                     f"{url}/api/2.0/mlflow-artifacts/artifacts?path={run_id}/many/d3")), sub),
            ]  # fmt: skip
        finally:
            server.terminate()
            server.wait(timeout=60)
    print(f"median of {args.runs} runs; ratio against the plain os.walk of the same files")
    for name, seconds, baseline in rows:
        print(f"{name:<48} {seconds:8.4f}s  x{seconds / baseline:6.2f}")


if __name__ == "__main__":
    sys.exit(main())
