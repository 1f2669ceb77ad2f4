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
        assert files.append(LOG, 0, b"X") == -1  # other bytes there: 409
        status, answer = store.call_answer("PUT", f"/runs/{run_id}/artifacts/{LOG}?offset=0", b"X")
        assert status == 409
        assert "differ from what it has" in answer["error"]["message"]
        # Another machine reads it while the run is RUNNING.
        monkeypatch.setenv("MLRUN_HOME", str(isolated / "reader"))
        reader = RestStore(server.url)
        assert reader.artifacts(run_id).read_bytes(LOG) == b"a\nb\nc\n"
        assert store.finish_run(run_id, "FINISHED", 0)
        assert files.append(LOG, 6, b"late\n") == -1  # only a RUNNING run's files grow
        assert reader.artifacts(run_id).read_bytes(LOG) == b"a\nb\nc\n"
        reader.close()
        store.close()


def test_pieces_race_resync_and_end_whole(isolated: Path, backend: Backend) -> None:
    """Identical pieces at once are written once; a shipper whose server file was changed
    under it makes it its log again; an ended run still takes the whole log that extends
    what arrived in pieces (its recorded sha256)."""
    import hashlib
    import threading

    from mlrun_cli.errors import UsageError
    from mlrun_cli.tracking.log_ship import LogShipper
    from mlrun_cli.tracking.models import Artifact, EventBatch

    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        experiment = store.get_or_create_experiment("live")
        spec = RunCreate(experiment.experiment_id, "r", "main", "c", CodeVersion("local", "/p"))
        run_id = store.create_run(spec).run_id
        piece = b"x" * 300_000
        answers: list[int] = []

        def send() -> None:
            client = RestStore(server.url)
            answers.append(client.artifacts(run_id).append(LOG, 0, piece))
            client.close()

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == [len(piece)] * 8
        files = store.artifacts(run_id)
        assert files.read_bytes(LOG) == piece
        with pytest.raises(UsageError, match=r"only _mlrun/output\.log is sent in pieces"):
            files.append("other.txt", 0, b"x")
        status, _ = store.call_answer("PUT", f"/runs/{run_id}/artifacts/{LOG}?offset=1_0", b"")
        assert status == 400

        log = isolated / "output.log"
        log.write_bytes(b"line 1\n")
        shipper = LogShipper(run_id, log)
        files.put_bytes(LOG, b"something else\n")  # another writer
        assert shipper.due(0.0)
        shipper.ship(store, 0.0)
        assert files.read_bytes(LOG) == b"line 1\n"  # resynced: the runner's log again
        with log.open("ab") as handle:
            handle.write(b"line 2\n")
        assert not shipper.due(0.5)  # not a second yet
        shipper.ship(store, 1.0)
        assert (shipper.stopped, files.read_bytes(LOG)) == (False, b"line 1\nline 2\n")

        # The run ends (a heartbeat timeout, say) before the runner's final upload.
        whole = b"line 1\nline 2\nline 3\n"
        artifact = Artifact(LOG, len(whole), hashlib.sha256(whole).hexdigest())
        store.log_batch(run_id, EventBatch(artifacts=(artifact,)))
        assert store.finish_run(run_id, "FAILED", None, "no heartbeat")
        files.put_bytes(LOG, whole)
        assert files.read_bytes(LOG) == whole
        with pytest.raises(StoreError, match=r"not replaced|receives only"):
            files.put_bytes(LOG, b"line 1\nsomething else\n")
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
