"""Every command straight on a PostgreSQL store (``--tracking-uri postgresql://...``, no
server): the layout users have (a git project, ``mlruns/`` ignored), real processes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.conftest import run_mlrun, sh, write_project

if TYPE_CHECKING:
    from pathlib import Path

    from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration

MLPROJECT = """\
name: p
entry_points:
  main:
    parameters: {x: {type: float, default: 0.5}}
    command: python train.py {x}
"""
TRAIN = """\
import os, sys, tempfile, mlrun_cli as m
x = float(sys.argv[1])
for step in range(5):
    m.log_metric("loss", (x - 0.3) ** 2 + step, step=step)
out = os.path.join(tempfile.mkdtemp(), "model.txt")
with open(out, "w") as f:
    f.write(f"weights {x}")
m.log_artifact(out)
"""


def test_run_reproduce_runs_and_experiments_on_postgresql(
    isolated: Path, postgres_server: PostgresServer
) -> None:
    project = write_project(isolated / "proj", MLPROJECT,
                            {"train.py": TRAIN, ".gitignore": "mlruns/\n"})  # fmt: skip
    sh(project, "git", "init", "-q")
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "init")
    # A password in the URI (trust auth ignores it) must never be shown.
    uri = postgres_server.new_database().replace("postgres@", "postgres:sekret@")
    shown = uri.replace("sekret", "***")
    ran = run_mlrun("run", str(project), "--env-manager", "local", "-P", "x=0.4",
                    "--experiment-name", "wine", "--tracking-uri", uri, cwd=project)  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert f"--tracking-uri '{shown}'" in ran.stderr  # quoted: ``*`` is a shell glob
    outputs = ran.stdout + ran.stderr
    found = run_mlrun(
        "runs", "search", "--experiment-name", "wine", "--json", "--tracking-uri", uri
    )
    assert found.returncode == 0, found.stderr
    (run,) = json.loads(found.stdout)["runs"]
    assert run["status"] == "FINISHED"
    assert run["params"] == {"x": "0.4"}
    shown_run = run_mlrun("runs", "show", run["run_id"][:8], "--json", "--tracking-uri", uri)
    assert shown_run.returncode == 0, shown_run.stderr
    artifacts = {a["path"] for a in json.loads(shown_run.stdout)["artifacts"]}
    assert "model.txt" in artifacts
    history = run_mlrun("runs", "metric", run["run_id"], "loss", "--tracking-uri", uri)
    assert history.returncode == 0, history.stderr
    assert len(history.stdout.strip().splitlines()) >= 5
    again = run_mlrun("reproduce", run["run_id"], "--verify", "--tracking-uri", uri, cwd=project)
    assert again.returncode == 0, again.stderr
    assert "verified" in again.stderr
    experiments = run_mlrun("experiments", "search", "--tracking-uri", uri)
    assert "wine" in experiments.stdout
    outputs += found.stderr + shown_run.stdout + again.stdout + again.stderr
    assert "sekret" not in outputs
    # Nothing was written into the project, and the files are this machine's folder for the
    # database (MLRUN_HOME/postgres/HOST-PORT-DB/artifacts).
    assert not (project / "mlruns").exists()
    assert sh(project, "git", "status", "--porcelain") == ""
    folder = isolated.parent / "home" / "mlrun-home" / "postgres"
    (kept,) = folder.iterdir()
    assert (kept / "artifacts" / run["run_id"] / "model.txt").read_text() == "weights 0.4"


def test_a_sweep_on_postgresql(isolated: Path, postgres_server: PostgresServer) -> None:
    project = write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN})
    uri = postgres_server.new_database()
    swept = run_mlrun("sweep", str(project), "--env-manager", "local", "-P", "x=0.1,0.3",
                      "-j", "2", "--metric", "loss", "--json", "--tracking-uri", uri)  # fmt: skip
    assert swept.returncode == 0, swept.stderr
    found = run_mlrun("runs", "search", "--json", "--tracking-uri", uri)
    runs = json.loads(found.stdout)["runs"]
    assert len(runs) == 3  # the parent and its two trials
    assert {r["status"] for r in runs} == {"FINISHED"}
