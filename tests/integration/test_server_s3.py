"""``--artifacts-destination s3://...`` against moto's standalone S3 server on loopback; the
client has no S3 credentials (uploads are proxied by the server)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from typing import TYPE_CHECKING

import pytest

from tests.conftest import mlrun_argv, write_project
from tests.integration.test_server_clients import MLPROJECT, SLOW, TRAIN
from tests.integration.test_user_layouts import s3_server  # noqa: F401 - a fixture
from tests.server.process import running_server

if TYPE_CHECKING:
    from pathlib import Path

    from tests.server.backends import Backend

pytestmark = pytest.mark.integration


def test_artifacts_go_to_s3_through_the_server(
    isolated: Path,
    backend: Backend,
    s3_server: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from mlrun_cli.server.config import ServerConfig, store_location

    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="team-artifacts")
    project = write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN, "slow.py": SLOW})
    destination = "s3://team-artifacts/mlrun"
    # The folder the server receives files in (SQLite: beside the database; PostgreSQL: under
    # MLRUN_HOME, the server's environment being this test's).
    received = store_location(ServerConfig(backend.uri, destination)).artifact_root
    with running_server(backend, "--no-auth", "--artifacts-destination", destination) as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
        argv = mlrun_argv("run", str(project), "--env-manager", "local", "--json",
                          "--tracking-uri", server.url)  # fmt: skip
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        run_id = json.loads(out.stdout)["run_id"]
        body = client.get_object(Bucket="team-artifacts", Key=f"mlrun/{run_id}/model.txt")
        assert body["Body"].read() == b"weights"
        # A server host without the file fetches it from S3 for MLflow's download.
        shutil.rmtree(received)
        url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{run_id}/model.txt"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            assert response.read() == b"weights"
        # So does our API, for a client that staged nothing (another machine).
        from mlrun_cli.tracking.stores.rest import RestStore

        shutil.rmtree(received)
        monkeypatch.setenv("MLRUN_HOME", str(isolated / "elsewhere"))
        store = RestStore(server.url)
        files = store.artifacts(run_id)
        assert "model.txt" in [a.path for a in files.list()]  # listed from S3
        assert files.read_bytes("model.txt", offset=3) == b"ghts"
        store.close()
        # And MLflow's listing.
        shutil.rmtree(received)
        status, listed = server.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + run_id)
        assert status == 200
        assert {"path": "model.txt", "is_dir": False, "file_size": 7} in listed["files"]
        # And the web UI's pages.
        shutil.rmtree(received, ignore_errors=True)
        status, raw = server.call("GET", f"/ui/runs/{run_id}/raw/model.txt")
        assert (status, raw) == (200, "weights")


def test_first_reads_of_a_file_only_s3_has(
    isolated: Path,
    backend: Backend,
    s3_server: str,  # noqa: F811
) -> None:
    """Parallel first reads with two workers each download into a partial of their own; a
    partial a killed server left behind is neither listed nor served; a symlink out of the
    run's folder gets nothing written through it, even by a read."""
    import concurrent.futures
    import urllib.error

    import boto3

    from mlrun_cli.server.config import ServerConfig, store_location
    from mlrun_cli.tracking.models import CodeVersion, RunCreate
    from mlrun_cli.tracking.stores.rest import RestStore

    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="first-reads")
    destination = "s3://first-reads/mlrun"
    received = store_location(ServerConfig(backend.uri, destination)).artifact_root
    big = os.urandom(1 << 20) * 24
    args = ("--no-auth", "--artifacts-destination", destination, "--workers", "2")
    with running_server(backend, *args) as server:
        store = RestStore(server.url)
        experiment = store.get_or_create_experiment("s3")
        run_id = store.create_run(RunCreate(experiment.experiment_id, "r", "main", "c",
                                            CodeVersion("local", "/p"))).run_id  # fmt: skip
        store.close()
        client.put_object(Bucket="first-reads", Key=f"mlrun/{run_id}/m60.bin", Body=big)
        client.put_object(Bucket="first-reads", Key=f"mlrun/{run_id}/ldir/s.txt", Body=b"s")
        url = f"{server.url}/api/v1/runs/{run_id}/artifacts/m60.bin"

        def read(_: int) -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(url, timeout=120) as response:  # noqa: S310
                    return response.status, response.read()
            except urllib.error.HTTPError as exc:
                return exc.code, exc.read()

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(read, range(4)))
        assert [status for status, _ in answers] == [200] * 4, [a[1][:300] for a in answers]
        assert all(data == big for _, data in answers)
        folder = received / run_id
        # A download the server was killed in the middle of.
        (folder / "_mlrun" / ".partial" / "0123abcd").write_bytes(big[:1000])
        status, listed = server.call("GET", f"/api/v1/runs/{run_id}/artifacts")
        assert status == 200
        assert [f["path"] for f in listed["files"]] == ["ldir/s.txt", "m60.bin"]
        status, _ = server.call("GET", f"/api/v1/runs/{run_id}/artifacts/_mlrun/.partial/0123abcd")
        assert status == 404
        status, listed = server.call("GET", "/api/2.0/mlflow-artifacts/artifacts?path="
                                      f"{run_id}/_mlrun")  # fmt: skip
        assert listed == {}
        # A read of a file only S3 has, through a symlink out of the folder, writes nothing.
        outside = isolated / "outside"
        (folder / "ldir").symlink_to(outside)
        assert server.call("GET", f"/api/v1/runs/{run_id}/artifacts/ldir/s.txt")[0] == 404
        assert not outside.exists()
        # ?path= asks S3 for the size; nothing is downloaded.
        (folder / "m60.bin").unlink()
        status, one = server.call("GET", f"/api/v1/runs/{run_id}/artifacts?path=m60.bin")
        assert (status, one) == (200, {"files": [{"path": "m60.bin", "size": len(big)}]})
        assert not (folder / "m60.bin").exists()
