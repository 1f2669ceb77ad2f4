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
