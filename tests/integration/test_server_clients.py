"""Every command with ``--tracking-uri http://...`` against a real ``mlrun server`` (over
SQLite and over PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import mlrun_argv, run_mlrun, write_project
from tests.integration.test_server import add_user
from tests.server.backends import Backend
from tests.server.process import ServerProcess, free_port, running_server

pytestmark = pytest.mark.integration

MLPROJECT = """\
name: p
entry_points:
  main:
    parameters: {n: {type: float, default: 3}}
    command: python train.py {n}
  slow:
    command: python slow.py
"""
TRAIN = """\
import sys, mlrun_cli as m
m.log_param("alpha", "0.5")
for i in range(int(float(sys.argv[1]))):
    m.log_metric("loss", 1.0 / (i + 1), step=i)
with open("model.txt", "w") as out:
    out.write("weights")
m.log_artifact("model.txt")
"""
SLOW = """\
import time, mlrun_cli as m
for i in range(40):
    m.log_metric("tick", float(i), step=i)
    time.sleep(0.1)
"""


@pytest.fixture
def project(isolated: Path) -> Path:
    return write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN, "slow.py": SLOW})


def run_json(*args: str) -> dict[str, object]:
    result = run_mlrun(*args, "--json")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_a_run_from_the_cli_and_every_read_command(
    project: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = add_user(backend, "ana", "write")
    with running_server(backend) as server:
        monkeypatch.setenv("MLRUN_TRACKING_URI", server.url)
        denied = run_mlrun("runs", "search")
        assert denied.returncode != 0
        assert denied.stderr.startswith("error: tracking server")
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", token)
        run = run_json("run", str(project), "--env-manager", "local", "-P", "n=25",
                       "--experiment-name", "team")  # fmt: skip
        assert run["status"] == "FINISHED"
        run_id = str(run["run_id"])
        found = run_json("runs", "search", "--experiment-name", "team", "--filter",
                         "metrics.loss < 0.1")  # fmt: skip
        assert [r["run_id"] for r in found["runs"]] == [run_id]  # type: ignore[index]
        # No experiment named: the server resolves every active one in the search itself.
        everywhere = run_json("runs", "search", "--filter", "metrics.loss < 0.1")
        assert [r["run_id"] for r in everywhere["runs"]] == [run_id]  # type: ignore[index]
        shown = run_json("runs", "show", run_id[:8])
        assert shown["params"] == {"alpha": "0.5", "n": "25.0"}
        assert sorted(a["path"] for a in shown["artifacts"]) == ["_mlrun/output.log",  # type: ignore[attr-defined]
                                                                 "model.txt"]  # fmt: skip
        history = run_mlrun("runs", "metric", run_id, "loss")
        assert history.returncode == 0, history.stderr
        assert len(history.stdout.strip().splitlines()) >= 25
        experiments = run_mlrun("experiments", "search")
        assert "team" in experiments.stdout
        log_text = (server.log or Path()).read_text()
    stored = backend.artifacts / run_id / "model.txt"
    assert stored.read_text() == "weights"
    for text in (log_text, denied.stderr, denied.stdout):
        assert token not in text


def _points(server: ServerProcess, run_id: str, key: str) -> list[list[object]]:
    status, answer = server.call("GET", f"/api/v1/runs/{run_id}/metrics?key={key}")
    assert status == 200, answer
    return list(answer["metrics"])


def test_eight_concurrent_runs_lose_and_duplicate_nothing(project: Path, backend: Backend) -> None:
    with running_server(backend, "--no-auth") as server:
        argv = mlrun_argv("run", str(project), "--env-manager", "local", "-P", "n=10000",
                          "--json", "--tracking-uri", server.url)  # fmt: skip
        procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ)) for _ in range(8)]  # fmt: skip
        ids = []
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err.decode()
            ids.append(json.loads(out)["run_id"])
        for run_id in ids:
            steps = [p[1] for p in _points(server, run_id, "loss")]
            assert sorted(steps) == list(range(10000))


def test_server_killed_mid_run_then_restarted(project: Path, backend: Backend) -> None:
    port = free_port()
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    argv = mlrun_argv("run", str(project), "-e", "slow", "--env-manager", "local", "--json",
                      "--tracking-uri", server.url)  # fmt: skip
    runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(os.environ))  # fmt: skip
    # Wait until the run exists and has some points, then kill the server hard.
    while not server.call("POST", "/api/v1/runs/search", {})[1]["runs"]:
        time.sleep(0.1)
    server.kill()
    time.sleep(1.5)
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    try:
        out, err = runner.communicate(timeout=300)
        assert runner.returncode == 0, err.decode()
        run_id = json.loads(out)["run_id"]
        assert [p[1] for p in _points(server, run_id, "tick")] == list(range(40))
        assert server.call("GET", f"/api/v1/runs/{run_id}")[1]["run"]["status"] == "FINISHED"
    finally:
        server.stop()


def test_sync_uploads_what_an_unreachable_server_missed(
    project: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    monkeypatch.setenv("MLRUN_TRACKING_RETRY_SECONDS", "1")
    argv = mlrun_argv("run", str(project), "-e", "slow", "--env-manager", "local", "--json",
                      "--tracking-uri", server.url)  # fmt: skip
    runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(os.environ))  # fmt: skip
    while not server.call("POST", "/api/v1/runs/search", {})[1]["runs"]:
        time.sleep(0.1)
    run_id = server.call("POST", "/api/v1/runs/search", {})[1]["runs"][0]["run_id"]
    server.kill()
    _, err = runner.communicate(timeout=300)
    assert runner.returncode != 0
    assert "mlrun sync" in err.decode()
    server = ServerProcess(backend, port, ("--no-auth",)).start()
    try:
        for _ in range(2):  # a second sync uploads nothing twice
            synced = run_mlrun("sync", "--tracking-uri", server.url)
            assert synced.returncode == 0, synced.stderr
        assert [p[1] for p in _points(server, run_id, "tick")] == list(range(40))
        assert server.call("GET", f"/api/v1/runs/{run_id}")[1]["run"]["status"] != "RUNNING"
    finally:
        server.stop()


def test_a_postgresql_restart_under_a_running_server_loses_nothing(
    project: Path, postgres_backend: Backend
) -> None:
    """The server reconnects by itself: a run going on across the restart completes with
    every point, and every batch the server acknowledged is there exactly once."""
    assert postgres_backend.postgres is not None
    with running_server(postgres_backend, "--no-auth") as server:
        argv = mlrun_argv("run", str(project), "-e", "slow", "--env-manager", "local", "--json",
                          "--tracking-uri", server.url)  # fmt: skip
        runner = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=dict(os.environ))  # fmt: skip
        _, created = server.call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "0"})
        direct = created["run"]["info"]["run_id"]
        acknowledged = []
        for i in range(60):
            if i == 20:
                postgres_backend.postgres.restart()
            batch = {"range": [i, i + 1], "metrics": [["m", i, i, i]]}
            status, _ = server.call("POST", f"/api/v1/runs/{direct}/events", batch)
            if status == 200:
                acknowledged.append(i)
        assert acknowledged == list(range(60))  # the restart was invisible to the client
        assert [p[1] for p in _points(server, direct, "m")] == acknowledged
        out, err = runner.communicate(timeout=300)
        assert runner.returncode == 0, err.decode()
        run_id = json.loads(out)["run_id"]
        assert [p[1] for p in _points(server, run_id, "tick")] == list(range(40))
        assert server.call("GET", f"/api/v1/runs/{run_id}")[1]["run"]["status"] == "FINISHED"


def test_a_runs_files_are_served_right_after_a_postgresql_restart(
    postgres_backend: Backend,
) -> None:
    """The run-file endpoints reconnect as the others do: the first request after the
    database restarted is answered, not a 503."""
    assert postgres_backend.postgres is not None
    with running_server(postgres_backend, "--no-auth") as server:
        _, created = server.call("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": "0"})
        run_id = created["run"]["info"]["run_id"]
        postgres_backend.postgres.restart()
        status, answer = server.call("GET", f"/api/v1/runs/{run_id}/artifacts")
        assert (status, answer) == (200, {"files": []})
