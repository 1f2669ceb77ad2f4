"""A RUNNING run's output log reaches the team server as it grows (tracking/log_ship.py and
``PUT .../artifacts/{path}?offset=N``, server/run_files.py), over SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.models import CodeVersion, RunCreate
from mlrun_cli.tracking.stores.rest import RestStore
from tests.conftest import mlrun_argv, write_project
from tests.server.process import running_server

if TYPE_CHECKING:
    from pathlib import Path

    from tests.server.backends import Backend

pytestmark = pytest.mark.integration

LOG = "_mlrun/output.log"


def test_appends_are_idempotent_and_only_for_a_running_run(
    isolated: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        experiment = store.get_or_create_experiment("live")
        spec = RunCreate(experiment.experiment_id, "r", "main", "c", CodeVersion("local", "/p"))
        run_id = store.create_run(spec).run_id
        files = store.artifacts(run_id)
        assert files.append(LOG, 0, b"a\n") == 2
        assert files.append(LOG, 0, b"a\n") == 2  # a retry: not written twice
        assert files.append(LOG, 2, b"b\n") == 4
        assert files.append(LOG, 0, b"a\nb\nc\n") == 6  # overlap compared, the rest appended
        assert files.append(LOG, 10, b"z") == 6  # a gap: the server says where it is
        with pytest.raises(StoreError, match="differ from what it has"):
            files.append(LOG, 0, b"X")
        # Another machine reads it while the run is RUNNING.
        monkeypatch.setenv("MLRUN_HOME", str(isolated / "reader"))
        reader = RestStore(server.url)
        assert reader.artifacts(run_id).read_bytes(LOG) == b"a\nb\nc\n"
        assert store.finish_run(run_id, "FINISHED", 0)
        with pytest.raises(StoreError, match="only a RUNNING run's files grow"):
            files.append(LOG, 6, b"late\n")
        assert reader.artifacts(run_id).read_bytes(LOG) == b"a\nb\nc\n"
        reader.close()
        store.close()


TRAIN = """\
import os, pathlib, sys, time
release = pathlib.Path(sys.argv[1])
release.with_name("run-id").write_text(os.environ["MLRUN_RUN_ID"])
print("first line", flush=True)
deadline = time.time() + 120
while not release.exists() and time.time() < deadline:
    time.sleep(0.05)
print("last line", flush=True)
"""


def test_runs_logs_on_another_machine_shows_a_running_runs_output(
    isolated: Path, backend: Backend
) -> None:
    project = write_project(
        isolated / "p",
        "entry_points:\n  main:\n    parameters:\n      release: string\n"
        "    command: python train.py {release}\n",
        {"train.py": TRAIN},
    )
    release = isolated / "release"
    with running_server(backend, "--no-auth") as server:
        runner = subprocess.Popen(
            mlrun_argv("run", str(project), "--env-manager", "local", "--tracking-uri",
                       server.url, "-P", f"release={release}", "--experiment-name", "live"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            reader_env = {**os.environ, "MLRUN_HOME": str(isolated / "reader")}
            store = RestStore(server.url)
            run_id, shown = "", ""
            deadline = time.monotonic() + 90
            while "first line" not in shown and time.monotonic() < deadline:
                time.sleep(0.2)
                if not run_id:
                    named = isolated / "run-id"
                    run_id = named.read_text() if named.exists() else ""
                    continue
                logs = subprocess.run(
                    mlrun_argv("runs", "logs", run_id, "--tracking-uri", server.url),
                    env=reader_env, capture_output=True, text=True, timeout=60, check=True,
                )  # fmt: skip
                shown = logs.stdout
            assert "first line" in shown, (shown, runner.poll())
            assert store.get_run(run_id).status == "RUNNING"
            assert "last line" not in shown
        finally:
            release.write_text("go")
            _, err = runner.communicate(timeout=120)
        assert runner.returncode == 0, err
        logs = subprocess.run(
            mlrun_argv("runs", "logs", run_id, "--tracking-uri", server.url),
            env=reader_env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert logs.stdout == "first line\nlast line\n"
        run = store.get_run(run_id)
        assert run.status == "FINISHED"
        recorded = {a.path: a for a in run.artifacts}
        assert recorded[LOG].size == len(logs.stdout)
        store.close()
