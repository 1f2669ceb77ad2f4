"""A run's files through a real ``mlrun server`` (over SQLite and PostgreSQL): the REST
store's ``artifacts`` (tracking/stores/rest_artifacts.py), the server's endpoints, and the
readers (``runs logs``, ``reproduce --verify``) on a machine that staged nothing."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import subprocess
from typing import TYPE_CHECKING, Any

import pytest

from mlrun_cli.artifacts.run import ArtifactInfo
from mlrun_cli.errors import NotFoundError, StoreError, UsageError
from mlrun_cli.tracking.models import Artifact, CodeVersion, EventBatch, RunCreate
from mlrun_cli.tracking.stores.rest import RestStore
from tests.conftest import mlrun_argv, sh
from tests.integration.test_server import add_user
from tests.server.process import running_server

if TYPE_CHECKING:
    from pathlib import Path

    from tests.server.backends import Backend
    from tests.server.process import ServerProcess

pytestmark = pytest.mark.integration

LOG = b"epoch 1\nepoch 2\n"


def _new_run(store: RestStore) -> str:
    experiment = store.get_or_create_experiment("files")
    spec = RunCreate(experiment.experiment_id, "r", "main", "python train.py",
                     CodeVersion("local", "/p"))  # fmt: skip
    return store.create_run(spec).run_id


def _raw_get(server: ServerProcess, path: str) -> int:
    """A GET sent as written (urllib would normalize ``..`` away)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_files_staged_here_then_read_from_another_machine(
    isolated: Path, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        run_id = _new_run(store)
        staged = store.location.staging_dir(run_id)
        (staged / "_mlrun").mkdir(parents=True)
        (staged / "_mlrun" / "output.log").write_bytes(LOG)
        (staged / "model").mkdir()
        (staged / "model" / "w.bin").write_bytes(b"\x00\x01weights")
        files = store.artifacts(run_id)
        assert files.read_bytes("_mlrun/output.log") == LOG  # staged, not uploaded yet
        assert store.finish_run(run_id, "FINISHED", 0)  # uploads the staged files
        store.close()

        # Another machine: its own MLRUN_HOME, another working directory, nothing staged.
        monkeypatch.setenv("MLRUN_HOME", str(isolated / "elsewhere"))
        monkeypatch.chdir(isolated.parent)
        other = RestStore(server.url)
        assert not other.location.staging_dir(run_id).exists()
        remote = other.artifacts(run_id)
        assert remote.list() == [ArtifactInfo("_mlrun/output.log", len(LOG)),
                                 ArtifactInfo("model/w.bin", 9)]  # fmt: skip
        assert remote.list("model") == [ArtifactInfo("model/w.bin", 9)]
        assert remote.list("nothing/here") == []
        assert remote.info("model/w.bin") == ArtifactInfo("model/w.bin", 9)
        assert remote.info("model") is None  # a folder is not a file
        assert remote.info("absent.txt") is None
        assert remote.read_bytes("model/w.bin") == b"\x00\x01weights"
        assert remote.read_bytes("_mlrun/output.log", offset=8) == b"epoch 2\n"
        assert remote.read_bytes("_mlrun/output.log", offset=8, limit=5) == b"epoch"
        assert remote.read_bytes("_mlrun/output.log", offset=99) == b""
        with pytest.raises(NotFoundError, match="has no artifact"):
            remote.read_bytes("absent.txt")
        source = isolated / "notes.txt"
        source.write_text("hello")
        running = _new_run(other)  # (an ended run receives only the files it recorded)
        other.artifacts(running).put("notes/notes.txt", source)
        other.artifacts(running).put("notes/notes.txt", source)  # a retry: the same file
        assert other.artifacts(running).read_bytes("notes/notes.txt") == b"hello"
        assert (backend.artifacts / running / "notes" / "notes.txt").read_text() == "hello"
        assert not other.location.staging_dir(running).exists()  # put goes to the server
        for bad in ("../x", "/etc/passwd", "a\\b"):
            with pytest.raises(UsageError):
                remote.read_bytes(bad)
        with pytest.raises(NotFoundError):
            other.artifacts("f" * 32).read_bytes("model/w.bin")
        other.close()

        # The server checks paths itself, whatever a client sends.
        base = f"/api/v1/runs/{run_id}/artifacts"
        outside = backend.root / "outside.txt"
        outside.write_text("top secret")
        (backend.artifacts / run_id / "leak.txt").symlink_to(outside)
        assert _raw_get(server, f"{base}/model/../../{run_id}/model/w.bin") == 400
        assert _raw_get(server, f"{base}/%2E%2E/%2E%2E/mlrun.db") == 400
        assert _raw_get(server, f"{base}/leak.txt") == 404
        assert _raw_get(server, f"{base}/model/w.bin?offset=-1") == 400
        assert _raw_get(server, f"{base}/model/w.bin?limit=x") == 400
        status, listed = server.call("GET", base)
        assert status == 200
        assert "leak.txt" not in [f["path"] for f in listed["files"]]
        assert server.call("GET", f"{base}?prefix=../..")[0] == 400


def test_reading_a_runs_files_needs_the_read_role(isolated: Path, backend: Backend,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    admin = add_user(backend, "admin", "admin")
    with running_server(backend) as server:
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", admin)
        store = RestStore(server.url)
        run_id = _new_run(store)
        source = isolated / "model.txt"
        source.write_text("weights")
        store.artifacts(run_id).put("model.txt", source)
        store.close()
        # A reader of another experiment only (the run's is 1, the first one created).
        stranger = add_user(backend, "eve", "read", "999")
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", stranger)
        denied = RestStore(server.url)
        with pytest.raises(StoreError, match="no read role"):
            denied.artifacts(run_id).read_bytes("model.txt")
        with pytest.raises(StoreError, match="no write role"):
            denied.artifacts(run_id).put("model.txt", source)
        denied.close()
        monkeypatch.delenv("MLRUN_TRACKING_TOKEN")
        anonymous = RestStore(server.url)
        with pytest.raises(StoreError, match="token"):
            anonymous.artifacts(run_id).list()
        anonymous.close()
        reader = add_user(backend, "ana", "read")
        monkeypatch.setenv("MLRUN_TRACKING_TOKEN", reader)
        allowed = RestStore(server.url)
        assert allowed.artifacts(run_id).read_bytes("model.txt") == b"weights"
        allowed.close()


MLPROJECT = """\
name: p
entry_points:
  main:
    command: python train.py
"""
TRAIN = """\
import os, zipfile, mlrun_cli as m
from weights import WEIGHT
print("training with", WEIGHT)
m.log_metric("score", WEIGHT)
# A model archive whose member carries a timestamp of its own (one per run, as if it were
# the moment it was written): the same content, other bytes.
n = int(os.environ["MLRUN_RUN_ID"], 16)
with zipfile.ZipFile("model.zip", "w") as z:
    z.writestr(zipfile.ZipInfo("w.txt", (2026, 1 + n % 12, 1 + n % 28, n % 24, n % 60, 0)),
               str(WEIGHT))
m.log_artifact("model.zip")
"""


def test_runs_logs_and_reproduce_verify_from_a_machine_that_staged_nothing(
    isolated: Path, backend: Backend
) -> None:
    repo = isolated / "repo"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "MLproject").write_text(MLPROJECT)
    (repo / "train.py").write_text(TRAIN)
    (repo / "weights.py").write_text("WEIGHT = 2.0\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    (repo / "weights.py").write_text("WEIGHT = 3.0\n")  # dirty: reproduce needs the snapshot
    with running_server(backend, "--no-auth") as server:

        def mlrun(*args: str, home: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "MLRUN_HOME": str(home)}
            argv = mlrun_argv(*args, "--tracking-uri", server.url)
            return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                                  timeout=300, check=False)  # fmt: skip

        here = isolated / "home-a"
        ran = mlrun("run", str(repo), "--env-manager", "local", "--json", home=here, cwd=repo)
        assert ran.returncode == 0, ran.stderr
        run_id = json.loads(ran.stdout)["run_id"]

        elsewhere, other_cwd = isolated / "home-b", isolated / "other"
        other_cwd.mkdir()
        logs = mlrun("runs", "logs", run_id[:8], home=elsewhere, cwd=other_cwd)
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout == "training with 3.0\n"
        assert not (elsewhere / "servers").exists() or not any(
            (elsewhere / "servers").rglob(run_id)
        )
        again = mlrun("reproduce", run_id, "--verify", "--json", home=elsewhere, cwd=other_cwd)
        assert again.returncode == 0, again.stderr
        result = json.loads(again.stdout)
        checks = {c["key"]: c for c in result["checks"]}
        assert checks["score"]["match"]
        assert checks["model.zip"]["match"]
        assert "zip timestamps aside" in checks["model.zip"]["reproduced"]


def _raw(
    server: ServerProcess, method: str, path: str, body: bytes | None = None
) -> tuple[int, Any]:
    """One request with raw bytes; (status, parsed JSON or the bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw)
    except ValueError:
        return response.status, raw


def test_writes_never_follow_a_symlink_out_of_the_run(isolated: Path, backend: Backend) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        run_id, other_id = _new_run(store), _new_run(store)
        store.close()
        folder, theirs = backend.artifacts / run_id, backend.artifacts / other_id
        folder.mkdir(parents=True, exist_ok=True)
        theirs.mkdir(parents=True, exist_ok=True)
        (theirs / "model.txt").write_text("theirs")
        outside = isolated / "outside"
        (folder / "ldir").symlink_to(outside)  # dangling: a write would create it
        (folder / "other").symlink_to(f"../{other_id}")
        for path in ("ldir/secret.txt", "other/model.txt"):
            status, answer = _raw(server, "PUT", f"/api/v1/runs/{run_id}/artifacts/{path}", b"x")
            assert status == 400, answer
            assert "leads out of the run's folder" in answer["error"]["message"]
            status, answer = _raw(server, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/"
                                  f"{run_id}/{path}", b"x")  # fmt: skip
            assert status == 400, answer
        assert not outside.exists()
        assert (theirs / "model.txt").read_text() == "theirs"
        assert not (folder / "_mlrun").exists()  # refused before anything was received


def test_bad_names_and_ranges_get_one_error(isolated: Path, backend: Backend) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        run_id = _new_run(store)
        store.close()
        base = f"/api/v1/runs/{run_id}/artifacts"
        assert _raw(server, "PUT", f"{base}/model.txt", b"weights")[0] == 200
        assert _raw(server, "PUT", f"{base}/sub/a.txt", b"a")[0] == 200
        long = "x" * 300
        for path in (f"{base}/{long}", f"{base}?prefix={long}", f"{base}?path={long}",
                     f"/api/2.0/mlflow-artifacts/artifacts?path={run_id}/{long}"):  # fmt: skip
            status, answer = _raw(server, "GET", path)
            assert status == 400, (path, answer)
            message = answer["error"]["message"] if "error" in answer else answer["message"]
            assert "at most 255 bytes" in message
        huge = "99999999999999999999"
        assert _raw(server, "GET", f"{base}/model.txt?limit={huge}")[0] == 400
        assert _raw(server, "GET", f"{base}/model.txt?offset={huge}")[0] == 400
        assert _raw(server, "GET", f"{base}/model.txt?limit=9223372036854775807") == (
            200, b"weights")  # fmt: skip
        assert _raw(server, "GET", f"{base}/model.txt?offset=9223372036854775807") == (200, b"")
        for path, expected in (("sub", "is a folder"), ("model.txt/x", "is a file"),
                               (long, "at most 255 bytes")):  # fmt: skip
            status, answer = _raw(server, "PUT", f"{base}/{path}", b"new")
            assert status == 400, answer
            assert expected in answer["error"]["message"]
            assert "Traceback" not in json.dumps(answer)
        folder = backend.artifacts / run_id
        assert sorted(p.name for p in folder.iterdir()) == ["_mlrun", "model.txt", "sub"]
        assert not list((folder / "_mlrun" / ".partial").iterdir())
        assert (folder / "model.txt").read_text() == "weights"
        if _ui_installed():
            for kind in ("files", "raw"):
                status = _raw_get(server, f"/ui/runs/{run_id}/{kind}/{long}")
                assert status == 404, kind


def _ui_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("jinja2") is not None


def test_a_finished_runs_files_are_not_replaced(isolated: Path, backend: Backend) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        run_id = _new_run(store)
        base = f"/api/v1/runs/{run_id}/artifacts"
        mlflow = f"/api/2.0/mlflow-artifacts/artifacts/{run_id}"
        assert _raw(server, "PUT", f"{base}/model.txt", b"v1")[0] == 200
        assert _raw(server, "PUT", f"{base}/model.txt", b"v2")[0] == 200  # RUNNING: replaced
        assert _raw(server, "PUT", f"{mlflow}/plot.png", b"p1")[0] == 200
        assert _raw(server, "PUT", f"{mlflow}/plot.png", b"p2")[0] == 200
        first = hashlib.sha256(b"first").hexdigest()
        store.log_batch(run_id, EventBatch(artifacts=(Artifact("_mlrun/output.log", 5, first),)))
        assert store.finish_run(run_id, "FINISHED", 0)
        status, answer = _raw(server, "PUT", f"{base}/model.txt", b"forged")
        assert status == 409, answer
        assert "FINISHED" in answer["error"]["message"]
        status, answer = _raw(server, "PUT", f"{base}/_mlrun/output.log", b"first")
        assert status == 200, answer  # a file it recorded and did not have yet: an upload late
        assert _raw(server, "PUT", f"{base}/_mlrun/output.log", b"forged")[0] == 409
        status, answer = _raw(server, "PUT", f"{base}/new.bin", b"unrecorded")
        assert status == 409, answer  # an ended run receives no file it did not record
        assert "only the files it recorded" in answer["error"]["message"]
        assert _raw(server, "PUT", f"{base}/model.txt", b"v2")[0] == 200  # a retry
        status, answer = _raw(server, "PUT", f"{mlflow}/plot.png", b"forged")
        assert status == 400, answer
        assert "FINISHED" in answer["message"]
        assert _raw(server, "PUT", f"{mlflow}/plot.png", b"p2")[0] == 200
        assert _raw(server, "GET", f"{base}/model.txt") == (200, b"v2")
        assert _raw(server, "GET", f"{base}/_mlrun/output.log") == (200, b"first")
        assert _raw(server, "GET", f"{mlflow}/plot.png") == (200, b"p2")
        forged = isolated / "forged.txt"
        forged.write_text("forged")
        with pytest.raises(StoreError, match="not replaced"):
            store.artifacts(run_id).put("model.txt", forged)
        store.close()


def test_every_staged_name_is_uploaded_and_outside_links_are_named(
    isolated: Path, backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        run_id = _new_run(store)
        staged = store.location.staging_dir(run_id)
        staged.mkdir(parents=True)
        (staged / ".w.upload").write_bytes(b"logged")  # looks like a partial: is not one
        (staged / ".m.bin.download").write_bytes(b"logged too")
        (staged / "model.bin").write_bytes(b"weights")
        (staged / "alias.bin").symlink_to("model.bin")  # inside: its bytes are uploaded
        elsewhere = isolated / "data.csv"
        elsewhere.write_text("a,b\n")
        (staged / "data.csv").symlink_to(elsewhere)  # outside: named, not uploaded
        assert store.finish_run(run_id, "FINISHED", 0)
        listed = {a.path: a.size for a in store.artifacts(run_id)._remote(prefix="")}
        store.close()
        assert listed == {".w.upload": 6, ".m.bin.download": 10, "model.bin": 7, "alias.bin": 7}
        err = capsys.readouterr().err
        assert "'data.csv' is a symlink leading out of the run's artifact folder" in err


def test_runs_logs_says_why_there_is_no_output_and_show_names_the_server(
    isolated: Path, backend: Backend
) -> None:
    from tests.server.process import free_port

    with running_server(backend, "--no-auth") as server:
        store = RestStore(server.url)
        experiment = store.get_or_create_experiment("logs")
        spec = RunCreate(experiment.experiment_id, "r", "main", "c", CodeVersion("local", "/p"),
                         host="gpu-box-7")  # fmt: skip
        run_id = store.create_run(spec).run_id

        def logs(*args: str, uri: str = server.url) -> subprocess.CompletedProcess[str]:
            env = {**os.environ, "MLRUN_HOME": str(isolated / "reader"),
                   "MLRUN_TRACKING_RETRY_SECONDS": "0"}  # fmt: skip
            argv = mlrun_argv("runs", "logs", *args, "--tracking-uri", uri)
            return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                                  check=False)  # fmt: skip

        shown = logs(run_id)
        assert (shown.returncode, shown.stdout) == (0, "")
        assert shown.stderr.strip() == (f"mlrun: run {run_id[:8]} has printed nothing yet "
                                        "(RUNNING on gpu-box-7)")  # fmt: skip
        assert store.finish_run(run_id, "FAILED", 1)
        shown = logs(run_id, "--follow")
        assert (shown.returncode, shown.stdout) == (0, "")
        assert f"run {run_id[:8]} has no output log (FAILED" in shown.stderr
        store.close()
        env = {**os.environ, "MLRUN_HOME": str(isolated / "reader")}
        argv = mlrun_argv("runs", "show", run_id, "--tracking-uri", server.url)
        show = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120,
                              check=True)  # fmt: skip
        line = next(x for x in show.stdout.splitlines() if x.startswith("artifacts:"))
        assert line.split()[-1] == f"{server.url}/api/v1/runs/{run_id}/artifacts"
        assert str(backend.root) not in show.stdout  # the server's own folder
    gone = logs(run_id, uri=f"http://127.0.0.1:{free_port()}")
    assert gone.returncode != 0
    assert "unreachable" in gone.stderr
    assert "mlrun sync" not in gone.stderr
