"""Unchanged MLflow code, run *without* mlrun, logging to ``mlrun server`` (mlflow-skinny from
PyPI in a real environment, built once per session as test_mlflow_compat.py does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import run_mlrun, write_project
from tests.integration.test_mlflow_compat import MLFLOW
from tests.server.process import running_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.server.backends import Backend

pytestmark = pytest.mark.integration

TRAIN = """\
import json, sys, mlflow
from mlflow import MlflowClient
mlflow.set_experiment("team")
with mlflow.start_run(run_name="plain") as run:
    mlflow.log_param("alpha", "0.5")
    for step in range(20):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({"r2": 0.75, "mae": 0.1})
    mlflow.set_tag("team", "wine")
    mlflow.log_dict({"a": 1}, "config/params.json")
got = MlflowClient().get_run(run.info.run_id)
assert got.data.params == {"alpha": "0.5"}, got.data.params
assert got.data.metrics["r2"] == 0.75
history = MlflowClient().get_metric_history(run.info.run_id, "loss")
assert len(history) == 20, len(history)
found = mlflow.search_runs(search_all_experiments=True, output_format="list",
                           filter_string="metrics.r2 > 0.5")
ids = sorted(r.info.run_id for r in found)
recorded = MlflowClient().get_run(sys.argv[1])          # a run `mlrun run` recorded
print(json.dumps({"run_id": run.info.run_id, "found": ids,
                  "recorded": recorded.data.metrics}))
"""


@pytest.fixture(scope="session")
def mlflow_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The environment and uv caches of this module's environments."""
    return tmp_path_factory.mktemp("server-mlflow")


@pytest.fixture(scope="session")
def mlflow_python(mlflow_cache: Path) -> Iterator[Path]:
    """A real environment with mlflow-skinny, built by ``mlrun env build`` into a shared cache."""
    root = mlflow_cache
    project = write_project(root / "p", "name: p\npython_env: python_env.yaml\nentry_points:\n"
                            "  main: {command: python -c pass}\n",
                            {"python_env.yaml": f"python: '3.11'\ndependencies:\n  - {MLFLOW}\n"})  # fmt: skip
    env = {**os.environ, "MLRUN_CACHE_DIR": str(root / "cache"),
           "UV_CACHE_DIR": str(root / "uv"), "HOME": str(root)}  # fmt: skip
    argv = [sys.executable, "-m", "mlrun_cli", "env", "build", str(project), "--json"]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    yield Path(json.loads(out.stdout)["path"]) / "bin" / "python"


def test_unchanged_mlflow_code_logs_searches_and_reads(
    isolated: Path, backend: Backend, mlflow_python: Path
) -> None:
    project = write_project(isolated / "proj", "name: p\nentry_points:\n  main:\n"
                            "    command: python t.py\n",
                            {"t.py": "import mlrun_cli as m\nm.log_metric('r2', 0.9)\n"})  # fmt: skip
    recorded = run_mlrun("run", str(project), "--env-manager", "local", "--json",
                         "--tracking-uri", backend.uri)  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    recorded_id = json.loads(recorded.stdout)["run_id"]
    (isolated / "train.py").write_text(TRAIN)
    with running_server(backend, "--no-auth") as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLRUN_"))}
        env["MLFLOW_TRACKING_URI"] = server.url
        out = subprocess.run([str(mlflow_python), "train.py", recorded_id], cwd=isolated,
                             env=env, capture_output=True, text=True, check=False, timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout.splitlines()[-1])
        assert sorted([result["run_id"], recorded_id]) == result["found"]
        assert result["recorded"] == {"r2": 0.9}
        status, ours = server.call("GET", f"/api/v1/runs/{result['run_id']}")
    assert status == 200
    run = ours["run"]
    assert run["params"] == [{"key": "alpha", "value": "0.5", "type": None}]
    assert [a["path"] for a in run["artifacts"]] == ["config/params.json"]
    assert backend.artifacts.is_dir()


RENAMED = """\
import os, mlflow
with mlflow.start_run(run_name="renamed"):
    mlflow.log_metric("loss", 0.5)
    with open("weights.bin", "wb") as out:
        out.write(bytes(range(256)) * 8192)               # 2 MiB: streamed to the endpoint
    mlflow.log_artifact("weights.bin", "model")
    os.remove("weights.bin")
"""


def test_mlrun_run_against_the_server_renames_through_the_api(
    isolated: Path,
    backend: Backend,
    mlflow_cache: Path,
    mlflow_python: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MLflow code under ``mlrun run --tracking-uri http://server``: the loopback endpoint's
    store is the REST store, so the rename goes through ``/api/v1/runs/{id}/name``."""
    monkeypatch.setenv("MLRUN_CACHE_DIR", str(mlflow_cache / "cache"))
    monkeypatch.setenv("UV_CACHE_DIR", str(mlflow_cache / "uv"))
    project = write_project(isolated / "proj", "name: p\npython_env: python_env.yaml\n"
                            "entry_points:\n  main: {command: python train.py}\n",
                            {"python_env.yaml": f"python: '3.11'\ndependencies:\n  - {MLFLOW}\n",
                             "train.py": RENAMED})  # fmt: skip
    with running_server(backend, "--no-auth") as server:
        done = run_mlrun("run", str(project), "--json", "--tracking-uri", server.url,
                         timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stderr
        run_id = json.loads(done.stdout)["run_id"]
        status, ours = server.call("GET", f"/api/v1/runs/{run_id}")
        found = run_mlrun("runs", "search", "--filter", "attributes.run_name = 'renamed'",
                          "--json", "--tracking-uri", server.url)  # fmt: skip
    assert status == 200
    run = ours["run"]
    assert run["name"] == "renamed"
    assert [r["run_id"] for r in json.loads(found.stdout)["runs"]] == [run_id]
    assert {a["path"]: a["size"] for a in run["artifacts"]}["model/weights.bin"] == 2 << 20
    assert (backend.artifacts / run_id / "model" / "weights.bin").stat().st_size == 2 << 20
