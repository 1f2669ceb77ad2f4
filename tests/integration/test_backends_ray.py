"""Runs and sweeps on a real single-node Ray cluster started by the test session.

The head runs in its own process group with its own temp dir and ports; it is stopped by
signalling that group (never ``ray stop``, which stops every Ray process of the host).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import mlrun_argv, run_mlrun, sh, write_project
from tests.integration.remote_checks import (
    EXPERIMENT,
    assert_sweep_recorded,
    files_holding,
    logs_and_cancel_from_elsewhere,
    slow_run,
    submit_slow_run,
    sweep_args,
    team_server,
    wait_until_ended,
)
from tests.integration.test_sweep import MLPROJECT, TRAIN, store_rows

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration
RAY = Path(sys.executable).with_name("ray")
if not RAY.exists():
    RAY = Path(shutil.which("ray") or RAY)
RAY_TEMP = Path("/tmp") / f"mlrun-ray-{os.getpid()}"  # short: Ray's socket paths have a limit


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def own_ports() -> list[str]:
    """Ports Ray would otherwise take fixed (the job agent's 52365: a second head on the host,
    another session's, would leave this one without a job agent)."""
    names = ("dashboard-agent-listen-port", "dashboard-agent-grpc-port", "metrics-export-port",
             "runtime-env-agent-port", "node-manager-port", "object-manager-port")  # fmt: skip
    return [f"--{name}={_free_port()}" for name in names]


def _wait_for_job_agent(address: str, head: subprocess.Popen[bytes], log: Path) -> None:
    """The dashboard answers before the head's job agent has registered (a loaded machine
    takes minutes): submit a no-op job until one is taken."""
    from ray.job_submission import JobSubmissionClient

    client = JobSubmissionClient(address)
    while True:
        if head.poll() is not None:
            pytest.fail(f"ray head exited: {log.read_text()[-2000:]}")
        try:
            job = client.submit_job(entrypoint="true")
            break
        except RuntimeError as exc:
            if "try again later" not in str(exc):
                raise
            time.sleep(1)
    while not client.get_job_status(job).is_terminal():
        time.sleep(0.5)


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Ray head on loopback with 2 CPUs; yields the dashboard (Jobs API) address."""
    if not RAY.exists() or importlib.util.find_spec("ray") is None:  # the command, the client
        pytest.skip("Ray is not installed (pip install 'mlrun-cli[ray]')")
    temp = RAY_TEMP
    dashboard = _free_port()
    log = tmp_path_factory.mktemp("ray") / "head.log"
    argv = [str(RAY), "start", "--head", "--block", f"--port={_free_port()}", "--num-cpus=2",
            "--include-dashboard=true", "--dashboard-host=127.0.0.1",
            f"--dashboard-port={dashboard}", f"--ray-client-server-port={_free_port()}",
            f"--temp-dir={temp}", "--disable-usage-stats", *own_ports()]  # fmt: skip
    with log.open("wb") as out:
        head = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    address = f"http://127.0.0.1:{dashboard}"
    try:
        while True:
            if head.poll() is not None:
                pytest.fail(f"ray head exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{address}/api/version", timeout=2):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.5)
        _wait_for_job_agent(address, head, log)
        yield address
    finally:
        # The head and every process it started share its process group: stop that group.
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(head.pid, signum)
            except ProcessLookupError:
                break
            try:
                head.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def ray_config(ray_head: str, tmp_path: Path) -> Path:
    path = tmp_path / "ray.yaml"
    path.write_text(f"address: {ray_head}\n")
    return path


@pytest.fixture
def project(isolated: Path) -> Path:
    return write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN})


def test_run_on_ray_streams_output_and_records_the_run(project: Path, ray_config: Path) -> None:
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "ray",
                       "--backend-config", str(ray_config), "-P", "x=0.2")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "training x=0.2" in result.stderr
    ((run_id, status),) = store_rows("SELECT run_id, status FROM runs")
    assert status == "FINISHED"
    assert f"submitted to ray as job mlrun-{run_id}" in result.stderr
    assert "training x=0.2" in run_mlrun("runs", "logs", str(run_id)).stdout


WHERE = """\
import os, pathlib, mlrun_cli
mlrun_cli.set_tag("cwd", os.getcwd())
mlrun_cli.set_tag("notes", pathlib.Path("notes.txt").read_text().strip())
"""


def test_a_local_project_runs_from_rays_copy_recorded_as_the_submitters_code(
    isolated: Path, ray_config: Path
) -> None:
    repo = isolated / "repo"
    project = write_project(repo / "proj", "entry_points:\n  main:\n    command: python where.py\n",
                            {"where.py": WHERE, "notes.txt": "committed\n"})  # fmt: skip
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    commit = sh(repo, "git", "rev-parse", "HEAD").strip()
    (project / "notes.txt").write_text("dirty\n")  # recorded as the submitter's snapshot
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "ray",
                       "--backend-config", str(ray_config), "--no-wait", "--json",
                       "--experiment-name", EXPERIMENT)  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = str(json.loads(result.stdout)["run_id"])
    moved = repo.rename(isolated / "moved")  # the worker never needs the submitter's path
    ended = wait_until_ended(None, run_id)
    assert ended["status"] == "FINISHED", run_mlrun("runs", "logs", run_id).stdout
    tags = ended["tags"]
    assert isinstance(tags, dict)
    assert tags["notes"] == "dirty"
    assert not Path(str(tags["cwd"])).is_relative_to(isolated)  # Ray's copy of the project
    ((kind, uri, sub, recorded, dirty, snapshot),) = store_rows(
        "SELECT source_kind, source_uri, subdirectory, commit_sha, dirty, snapshot_sha256 "
        "FROM runs WHERE run_id = ?", run_id)  # fmt: skip
    assert (kind, uri, sub, recorded, dirty) == ("local-git", str(project), "proj", commit, 1)
    assert snapshot is not None
    moved.rename(repo)
    again = subprocess.run(mlrun_argv("reproduce", run_id, "--json"), capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert again.returncode == 0, again.stderr
    reproduced = json.loads(again.stdout)["run"]
    assert reproduced["tags"]["notes"] == "dirty"
    assert reproduced["fingerprint"] == ended["fingerprint"]


NOTES = """\
import pathlib, sys, mlrun_cli
mlrun_cli.set_tag("arg", sys.argv[1])
mlrun_cli.set_tag("notes", pathlib.Path(sys.argv[1]).read_text().strip())
"""


def test_a_path_param_inside_the_project_is_found_in_rays_copy(
    isolated: Path, ray_config: Path
) -> None:
    mlproject = ("entry_points:\n  main:\n    parameters:\n      notes: {type: path}\n"
                 "    command: python notes.py {notes}\n")  # fmt: skip
    project = write_project(isolated / "plain" / "proj", mlproject,
                            {"notes.py": NOTES, "notes.txt": "mine\n"})  # fmt: skip
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "ray",
                       "--backend-config", str(ray_config), "--no-wait", "--json",
                       "--experiment-name", EXPERIMENT, "-P", "notes=plain/proj/notes.txt")  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = str(json.loads(result.stdout)["run_id"])
    moved = project.rename(isolated / "plain" / "moved")  # the submitter's path is gone
    try:
        ended = wait_until_ended(None, run_id)
    finally:
        moved.rename(project)
    assert ended["status"] == "FINISHED", run_mlrun("runs", "logs", run_id).stdout
    tags = ended["tags"]
    assert isinstance(tags, dict)
    assert tags["notes"] == "mine"
    assert not str(tags["arg"]).startswith(str(isolated))
    assert ended["params"] == {"notes": "notes.txt"}


CFG = """\
import pathlib, mlrun_cli
mlrun_cli.set_tag("value", pathlib.Path("cfg/value.txt").read_text().strip())
"""


def test_a_tracked_file_a_gitignore_matches_reaches_ray_as_the_commit_has_it(
    isolated: Path, ray_config: Path
) -> None:
    repo = isolated / "repo"
    project = write_project(repo / "sub", "entry_points:\n  main:\n    command: python cfg.py\n",
                            {"cfg.py": CFG, "cfg/value.txt": "7\n"})  # fmt: skip
    (repo / ".gitignore").write_text("sub/cfg/\n")
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "add", "-f", "sub/cfg/value.txt")
    sh(repo, "git", "commit", "-qm", "v1")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "ray",
                       "--backend-config", str(ray_config), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "FINISHED"
    assert run["tags"]["value"] == "7"
    assert run["source"]["dirty"] is False


def test_no_wait_then_cancel_ends_the_run_killed(
    project: Path, ray_config: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    # The job's environment comes from the cluster and the config, not the submitter's shell.
    env = {"SLOW_FROM": "0", "MARKERS": str(markers)}
    ray_config.write_text(ray_config.read_text() + f"env_vars: {json.dumps(env)}\n")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "ray",
                       "--backend-config", str(ray_config), "-P", "x=0.5", "--no-wait",
                       "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["run_id"]
    while not list(markers.iterdir()):
        logs = run_mlrun("runs", "logs", run_id)
        assert "Traceback" not in logs.stdout, logs.stdout
        time.sleep(0.2)
    cancel = run_mlrun("runs", "cancel", run_id)
    assert cancel.returncode == 0, cancel.stderr
    follow = run_mlrun("runs", "logs", run_id, "--follow")  # returns once the run has ended
    assert follow.returncode == 0, follow.stderr
    assert "training x=0.5" in follow.stdout
    assert store_rows("SELECT status FROM runs WHERE run_id = ?", run_id)[0][0] == "KILLED"


def test_sweep_on_ray(project: Path, ray_config: Path) -> None:
    result = run_mlrun(*sweep_args(project, "ray", ray_config, None))
    assert result.returncode == 0, result.stderr
    assert_sweep_recorded(result.stdout, None)


def _ray_jobs(address: str) -> str:
    with urllib.request.urlopen(f"{address}/api/jobs/", timeout=30) as answer:  # noqa: S310
        return str(answer.read().decode())


def test_sweep_on_ray_reports_to_the_team_server_and_no_file_holds_the_token(
    project: Path,
    ray_head: str,
    ray_config: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with team_server(isolated, monkeypatch) as team:
        result = run_mlrun(*sweep_args(project, "ray", ray_config, team.url))
        assert result.returncode == 0, result.stderr
        recorded = assert_sweep_recorded(result.stdout, team.url)
        assert not (isolated / "mlruns").exists()  # recorded by the server only
        for run in recorded:
            tags = run["tags"]
            assert isinstance(tags, dict)
            assert tags["mlrun.backend"] == "ray"
            assert tags["mlrun.backend.job_id"] == f"mlrun-{run['run_id']}"
        jobs = _ray_jobs(ray_head)  # what anyone reaching the dashboard sees of every job
        leaked = re.findall(r"mlrr_[A-Za-z0-9_-]+", jobs)  # each job's token, scoped to its run
        assert len(set(leaked)) >= 3
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", leaked[0])
        refused = run_mlrun("runs", "search", "--experiment-name", EXPERIMENT,
                            "--tracking-uri", team.url)  # fmt: skip
        assert refused.returncode != 0
        assert "run-scoped token" in refused.stderr
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", team.token)
        shown = run_mlrun("runs", "logs", str(recorded[0]["run_id"]), "--tracking-uri", team.url)
        assert shown.returncode == 0, shown.stderr
        assert "training x=" in shown.stdout
    assert team.token not in jobs + result.stdout + result.stderr
    assert not files_holding(team.token, tmp_path_factory.getbasetemp(), RAY_TEMP, project)


def test_logs_and_cancel_through_the_team_server_from_another_machine(
    project: Path,
    ray_config: Path,
    isolated: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    env = {"SLOW_FROM": "0", "MARKERS": str(markers)}
    ray_config.write_text(ray_config.read_text() + f"env_vars: {json.dumps(env)}\n")
    with team_server(isolated, monkeypatch) as team:
        run_id = submit_slow_run(project, "ray", ray_config, team.url, markers)
        logs_and_cancel_from_elsewhere(team.url, run_id, tmp_path / "elsewhere", monkeypatch,
                                       f"ray job mlrun-{run_id}")  # fmt: skip


def test_a_run_whose_worker_ray_loses_is_marked_failed(
    project: Path, ray_config: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    env = {"SLOW_FROM": "0", "MARKERS": str(markers)}
    ray_config.write_text(ray_config.read_text() + f"env_vars: {json.dumps(env)}\n")
    argv = mlrun_argv("run", str(project), "--env-manager", "local", "--backend", "ray",
                      "--backend-config", str(ray_config), "-P", "x=0.5")  # fmt: skip
    with slow_run(argv, markers) as slow:
        ((run_id, pid, child),) = store_rows("SELECT run_id, pid, child_pid FROM runs")
        # As a dead node would: the worker's mlrun gets no chance to record anything.
        os.kill(int(str(pid)), signal.SIGKILL)
        os.killpg(int(str(child)), signal.SIGKILL)
    assert slow.returncode == 1, slow.err
    ((status, reason),) = store_rows("SELECT status, status_reason FROM runs")
    assert status == "FAILED"
    assert str(reason).startswith(f"ray: job mlrun-{run_id} failed"), reason


def test_a_job_stopped_outside_mlrun_ends_killed_with_rays_word(
    project: Path, ray_head: str, ray_config: Path, tmp_path: Path
) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    env = {"SLOW_FROM": "0", "MARKERS": str(markers)}
    ray_config.write_text(ray_config.read_text() + f"env_vars: {json.dumps(env)}\n")
    argv = mlrun_argv("run", str(project), "--env-manager", "local", "--backend", "ray",
                      "--backend-config", str(ray_config), "-P", "x=0.5")  # fmt: skip
    with slow_run(argv, markers) as slow:
        ((run_id,),) = store_rows("SELECT run_id FROM runs")
        subprocess.run([str(RAY), "job", "stop", "--address", ray_head, f"mlrun-{run_id}"],
                       check=True, capture_output=True)  # fmt: skip
    assert slow.returncode != 0, slow.err
    ((status, why),) = store_rows("SELECT status, status_reason FROM runs")
    assert status == "KILLED", why  # the worker got Ray's SIGTERM and recorded its end
    ((ended,),) = store_rows("SELECT value FROM tags WHERE key = 'mlrun.backend.ended'")
    assert str(ended).startswith(f"ray: job mlrun-{run_id} stopped"), ended
