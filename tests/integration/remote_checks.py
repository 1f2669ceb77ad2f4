"""What the Ray and Slurm tests assert alike: a sweep recorded in the store (a local SQLite file
or a team server with auth on), and a token that no file on disk holds."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import run_mlrun
from tests.integration.test_server import add_user
from tests.server.backends import sqlite_backend
from tests.server.process import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

    from tests.server.process import ServerProcess

EXPERIMENT = "team"


@dataclass(frozen=True)
class TeamServer:
    """A running ``mlrun server`` (SQLite backend, auth on) and a write token for it."""

    server: ServerProcess
    token: str
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.contextmanager
def team_server(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamServer]:
    """A server with auth on; this test's commands carry its token in their environment only."""
    backend = sqlite_backend(isolated / "srv")
    token = add_user(backend, "ana", "write")
    with running_server(backend) as server:
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", token)
        yield TeamServer(server, token, backend.root)


@dataclass
class SlowRun:
    """A slow ``mlrun run`` (or sweep) process; its output once the ``with`` block is done."""

    proc: subprocess.Popen[str]
    out: str = ""
    err: str = field(default="", repr=False)

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode


@contextlib.contextmanager
def slow_run(
    argv: list[str], markers: Path, count: int = 1, env: dict[str, str] | None = None
) -> Iterator[SlowRun]:
    """Start ``argv``; enter once ``count`` entry points left their file in ``markers`` (they
    then sleep: act on them in the block); on leaving, wait for the process and keep its
    output (it is killed if the block failed or it outlives two minutes)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    slow = SlowRun(proc)
    try:
        while len(list(markers.iterdir())) < count:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        yield slow
        slow.out, slow.err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def search(uri: str | None, filter_text: str = "") -> list[dict[str, object]]:
    """``mlrun runs search`` over the sweep's experiment, through the CLI."""
    args = ["runs", "search", "--experiment-name", EXPERIMENT, "--json"]
    if filter_text:
        args += ["--filter", filter_text]
    if uri:
        args += ["--tracking-uri", uri]
    result = run_mlrun(*args)
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout)["runs"])


def sweep_args(project: Path, backend: str, config: Path, uri: str | None) -> list[str]:
    """A 3-trial grid with ``-j 2`` on a backend, recorded in the ``team`` experiment."""
    args = ["sweep", str(project), "--env-manager", "local", "--backend", backend,
            "--backend-config", str(config), "-P", "x=0.1,0.3,0.5", "-j", "2", "--metric",
            "loss", "--experiment-name", EXPERIMENT, "--json"]  # fmt: skip
    return [*args, "--tracking-uri", uri] if uri else args


def assert_sweep_recorded(output: str, uri: str | None) -> list[dict[str, object]]:
    """Every trial FINISHED and recorded under the sweep's parent run; nothing RUNNING."""
    data = json.loads(output)
    trials = data["trials"]
    assert [t["status"] for t in trials] == ["FINISHED"] * 3
    parent_id = data["parent"]["run_id"]
    recorded = search(uri, f"tags.mlrun.parent_run_id = '{parent_id}'")
    assert sorted(r["run_id"] for r in recorded) == sorted(t["run_id"] for t in trials)
    assert {r["status"] for r in recorded} == {"FINISHED"}
    assert sorted(r["params"]["x"] for r in recorded) == ["0.1", "0.3", "0.5"]  # type: ignore[index]
    every = search(uri)
    assert [r["status"] for r in every if r["run_id"] == parent_id] == ["FINISHED"]
    assert not [r["run_id"] for r in every if r["status"] == "RUNNING"]
    return recorded


def wait_until_ended(uri: str | None, run_id: str) -> dict[str, object]:
    """The run once it is no longer RUNNING (its worker records the end)."""
    while True:
        found = [r for r in search(uri) if r["run_id"] == run_id]
        if found and found[0]["status"] != "RUNNING":
            return found[0]
        time.sleep(0.5)


def files_holding(secret: str, *roots: Path) -> list[Path]:
    """Every regular file under ``roots`` whose bytes contain ``secret``."""
    needle = secret.encode()
    found: list[Path] = []
    for root in roots:
        if not root.exists():
            continue
        for path in [root] if root.is_file() else root.rglob("*"):
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                    found.append(path)
    return found


def submit_slow_run(
    project: Path, backend: str, config: Path, uri: str, markers: Path, *args: str
) -> str:
    """``mlrun run --no-wait`` of a slow trial against the team server: its run id, once its
    entry point has started (it leaves a file in ``markers``)."""
    result = run_mlrun("run", str(project), "--env-manager", "local", "--backend", backend,
                       "--backend-config", str(config), "-P", "x=0.5", "--no-wait", "--json",
                       "--tracking-uri", uri, "--experiment-name", EXPERIMENT, *args)  # fmt: skip
    assert result.returncode == 0, result.stderr
    run_id = str(json.loads(result.stdout)["run_id"])
    while not list(markers.iterdir()):
        time.sleep(0.2)
    return run_id


def logs_and_cancel_from_elsewhere(
    uri: str, run_id: str, elsewhere: Path, monkeypatch: pytest.MonkeyPatch, cancel_says: str = ""
) -> None:
    """From another machine (none of the submitter's local records, only the server's):
    ``runs logs`` shows the output, ``runs cancel`` stops the job, ``runs logs --follow``
    ends, and the run is KILLED."""
    monkeypatch.setenv("MLRUN_HOME", str(elsewhere))
    logs = run_mlrun("runs", "logs", run_id, "--tracking-uri", uri)
    assert logs.returncode == 0, logs.stderr
    assert "training x=0.5" in logs.stdout
    cancel = run_mlrun("runs", "cancel", run_id, "--tracking-uri", uri)
    assert cancel.returncode == 0, cancel.stderr
    assert cancel_says in cancel.stderr
    follow = run_mlrun("runs", "logs", run_id, "--follow", "--tracking-uri", uri)
    assert follow.returncode == 0, follow.stderr
    ended = wait_until_ended(uri, run_id)
    assert ended["status"] == "KILLED", ended
