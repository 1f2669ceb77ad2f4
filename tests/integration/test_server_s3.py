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

pytestmark = pytest.mark.integration


def test_artifacts_go_to_s3_through_the_server(isolated: Path, s3_server: str) -> None:  # noqa: F811
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="team-artifacts")
    project = write_project(isolated / "proj", MLPROJECT, {"train.py": TRAIN, "slow.py": SLOW})
    db = isolated / "srv" / "mlrun.db"
    db.parent.mkdir()
    with running_server(db, "--no-auth", "--artifacts-destination",
                        "s3://team-artifacts/mlrun") as server:  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
        argv = mlrun_argv("run", str(project), "--env-manager", "local", "--json",
                          "--tracking-uri", server.url)  # fmt: skip
        out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, out.stderr
        run_id = json.loads(out.stdout)["run_id"]
        body = client.get_object(Bucket="team-artifacts", Key=f"mlrun/{run_id}/model.txt")
        assert body["Body"].read() == b"weights"
        # A server host without the file fetches it from S3 for MLflow's download.
        shutil.rmtree(db.parent / "artifacts")
        url = f"{server.url}/api/2.0/mlflow-artifacts/artifacts/{run_id}/model.txt"
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310
            assert response.read() == b"weights"
