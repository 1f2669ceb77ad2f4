"""Unchanged MLflow code under ``mlrun run``: real mlflow-skinny from PyPI in the run's env.

The environments are built once per session into a shared cache (uv's cache too), so only the
first test pays for the install.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import run_mlrun, sh

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

MLFLOW = "mlflow-skinny==3.17.2"

TRAIN = """\
import os, sys, tempfile, requests, mlflow
from mlflow import MlflowClient
alpha = sys.argv[1]
with mlflow.start_run(run_name="wine-train") as run:  # the context form: the mlrun run
    assert run.info.run_id == os.environ["MLRUN_RUN_ID"]
    mlflow.log_param("alpha", alpha)
    mlflow.log_metric("rmse", 0.25)
    mlflow.log_metrics({"mae": 0.125, "r2": 0.75}, step=1)
    mlflow.set_tag("team", "wine")
    mlflow.log_dict({"alpha": alpha}, "config/params.json")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "notes.txt")
        with open(path, "w") as out:
            out.write("hello")
        mlflow.log_artifact(path, "docs")
    with mlflow.start_run(nested=True, run_name="inner") as inner:
        mlflow.log_metric("inner_loss", 3.0)
    uri, run_id = mlflow.get_tracking_uri(), run.info.run_id
    body = {"run_id": run_id, "key": "retried", "value": 1.5, "timestamp": 1234, "step": 0}
    auth = {"Authorization": "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]}
    for _ in range(2):                                 # a client retrying the same POST
        requests.post(f"{uri}/api/2.0/mlflow/runs/log-metric", json=body,
                      headers=auth).raise_for_status()
    found = mlflow.search_runs(output_format="list", filter_string="metrics.rmse < 1")
    assert run_id in [r.info.run_id for r in found], found
    history = MlflowClient().get_metric_history(run_id, "retried")
    assert len(history) == 1, history
    made_up = requests.get(f"{uri}/api/2.0/mlflow/made-up", headers=auth)
    assert made_up.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert requests.get(f"{uri}/api/2.0/mlflow/runs/get?run_id={run_id}").status_code == 401
print("inner", inner.info.run_id)
"""
FAIL = """\
import mlflow
with mlflow.start_run():
    mlflow.log_metric("before", 1.0)
    raise RuntimeError("boom")
"""
CONFLICT = """\
import os, mlflow
mlflow.log_metric("ok", 1.0)                          # bare calls resume the mlrun run
assert mlflow.active_run().info.run_id == os.environ["MLRUN_RUN_ID"]
mlflow.log_param("alpha", "0.5")                      # the same value: fine
mlflow.log_param("alpha", "0.9")
"""
OTHER = "import mlflow\nmlflow.set_experiment('other')\nmlflow.log_metric('x', 1.0)\n"
EMPTY = "import mlflow\nprint(mlflow.get_tracking_uri())\n"
RESUME = """\
import sys, mlflow
from mlflow import MlflowClient
print("read", MlflowClient().get_run(sys.argv[1]).info.status)   # reading works
with mlflow.start_run(run_id=sys.argv[1]):                        # resuming it does not
    mlflow.log_metric("late", 1.0)
"""
MLPROJECT = """\
name: wine
python_env: python_env.yaml
entry_points:
  main:
    parameters: {alpha: {type: float, default: 0.5}}
    command: python train.py {alpha}
  fail: {command: python fail.py}
  conflict:
    parameters: {alpha: {type: float, default: 0.5}}
    command: python conflict.py
  other: {command: python other.py}
  empty: {command: python empty.py}
  resume:
    parameters: {earlier: {type: string}}
    command: python resume.py {earlier}
"""


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment cache (and uv cache) for every test of this module."""
    return tmp_path_factory.mktemp("mlflow-cache")


@pytest.fixture(autouse=True)
def _shared_envs(
    isolated: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("MLRUN_CACHE_DIR", str(shared_cache / "mlrun"))
    monkeypatch.setenv("UV_CACHE_DIR", str(shared_cache / "uv"))
    for name in (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_RUN_ID",
        "MLFLOW_EXPERIMENT_ID",
        "MLFLOW_EXPERIMENT_NAME",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    yield


def git_project(folder: Path, files: dict[str, str]) -> Path:
    """A committed project with the store ignored, as MLflow users lay it out."""
    folder.mkdir(parents=True)
    for name, text in {**files, ".gitignore": "mlruns/\n"}.items():
        (folder / name).write_text(text)
    sh(folder, "git", "init", "-q", "-b", "main")
    sh(folder, "git", "add", "-A")
    sh(folder, "git", "commit", "-q", "-m", "project")
    return folder


@pytest.fixture
def project(isolated: Path) -> Path:
    return git_project(isolated / "wine", {
        "MLproject": MLPROJECT, "python_env.yaml": f"python: '3.11'\ndependencies:\n  - {MLFLOW}\n",
        "train.py": TRAIN, "fail.py": FAIL, "conflict.py": CONFLICT, "other.py": OTHER,
        "empty.py": EMPTY, "resume.py": RESUME,
    })  # fmt: skip


def show(run_id: str) -> dict[str, object]:
    result = run_mlrun("runs", "show", run_id, "--json")
    assert result.returncode == 0, result.stderr
    loaded: dict[str, object] = json.loads(result.stdout)
    return loaded


def run_json(project: Path, *args: str) -> tuple[int, dict[str, object], str]:
    result = run_mlrun("run", str(project), "--json", *args, timeout=600)
    return result.returncode, json.loads(result.stdout), result.stderr


def untracked(project: Path) -> list[str]:
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
                         cwd=project, capture_output=True, text=True, check=True).stdout  # fmt: skip
    return [line for line in out.splitlines() if not line[3:].startswith("mlruns/")]


def test_mlflow_calls_record_into_the_mlrun_run(project: Path, isolated: Path) -> None:
    code, run, stderr = run_json(project, "-P", "alpha=0.5")
    assert code == 0, stderr
    assert run["status"] == "FINISHED"
    assert run["run_name"] == "wine-train"  # start_run(run_name=...) renamed the mlrun run
    assert show(str(run["run_id"]))["run_name"] == "wine-train"
    listed = run_mlrun("runs", "search", "--filter", "attributes.run_name = 'wine-train'",
                       "--json")  # fmt: skip
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [run["run_id"]]
    assert run["params"] == {"alpha": "0.5"}
    assert run["metrics"] == {"rmse": 0.25, "mae": 0.125, "r2": 0.75, "retried": 1.5}
    assert run["tags"]["team"] == "wine"  # type: ignore[index]
    paths = {a["path"] for a in run["artifacts"]}  # type: ignore[attr-defined]
    assert {"config/params.json", "docs/notes.txt"} <= paths
    assert "1 MLflow call(s) to endpoints mlrun does not implement" in stderr
    assert "made-up" in stderr
    # The nested run is a child of the mlrun run, ended by the code.
    children = run_mlrun("runs", "search", "--filter", f"parent_run_id = '{run['run_id']}'",
                         "--json")  # fmt: skip
    found = json.loads(children.stdout)["runs"]
    assert [(c["run_name"], c["status"], c["metrics"]) for c in found] == [
        ("inner", "FINISHED", {"inner_loss": 3.0})
    ]
    assert found[0]["tags"]["mlflow.parentRunId"] == run["run_id"]
    # Nothing of MLflow's in the project: the next run is clean.
    assert untracked(project) == []
    assert not (isolated / "mlflow.db").exists()
    assert not (isolated / "mlruns" / "0").exists()
    again, rerun, _ = run_json(project, "-P", "alpha=0.5", "--reuse")
    assert again == 0
    assert rerun.get("reused") is True
    verify = run_mlrun("reproduce", str(run["run_id"]), "--verify", "--json", timeout=600)
    assert verify.returncode == 0, verify.stderr
    assert json.loads(verify.stdout)["verified"] is True


def test_exception_fails_the_run(project: Path) -> None:
    code, run, stderr = run_json(project, "-e", "fail")
    assert code == 1, stderr
    assert run["status"] == "FAILED"
    assert run["metrics"] == {"before": 1.0}
    assert "RuntimeError: boom" in stderr


def test_params_given_with_p_are_immutable(project: Path) -> None:
    code, run, stderr = run_json(project, "-e", "conflict", "-P", "alpha=0.5")
    assert code == 1
    assert run["status"] == "FAILED"
    assert "INVALID_PARAMETER_VALUE" in stderr
    assert "Changing param values is not allowed" in stderr
    assert run["params"] == {"alpha": "0.5"}
    assert run["metrics"] == {"ok": 1.0}


def test_set_experiment_to_another_is_refused_and_creates_nothing(project: Path) -> None:
    code, run, stderr = run_json(project, "-e", "other", "--experiment-name", "wine")
    assert code == 1
    assert run["status"] == "FAILED"
    assert "INVALID_PARAMETER_VALUE: experiment 'other': under `mlrun run`" in stderr
    assert "mlrun run --experiment-name other" in stderr
    assert run["metrics"] == {}
    listed = run_mlrun("experiments", "search", "--view", "all", "--json")
    assert listed.returncode == 0, listed.stderr
    names = {e["name"] for e in json.loads(listed.stdout)["experiments"]}
    assert names == {"Default", "wine"}
    # An experiment that exists is refused by MLflow itself (the run's id does not match).
    assert run_mlrun("experiments", "create", "-n", "other").returncode == 0
    code, run, stderr = run_json(project, "-e", "other", "--experiment-name", "wine")
    assert code == 1
    assert "does not match environment run ID" in stderr
    # With the experiment chosen on mlrun's command line, set_experiment("other") is a no-op.
    code, run, stderr = run_json(project, "-e", "other", "--experiment-name", "other")
    assert code == 0, stderr
    assert run["metrics"] == {"x": 1.0}


def test_verify_of_a_run_that_logged_nothing(project: Path) -> None:
    code, run, stderr = run_json(project, "-e", "empty")
    assert code == 0, stderr
    empty = run_mlrun("reproduce", str(run["run_id"]), "--verify", timeout=600)
    assert empty.returncode == 6
    assert "nothing to compare" in empty.stderr
    allowed = run_mlrun("reproduce", str(run["run_id"]), "--verify", "--allow-empty", timeout=600)
    assert allowed.returncode == 0, allowed.stderr


def test_an_earlier_run_cannot_be_resumed_into(project: Path) -> None:
    code, earlier, stderr = run_json(project, "-e", "empty")
    assert code == 0, stderr
    code, resumed, stderr = run_json(project, "-e", "resume", "-P", f"earlier={earlier['run_id']}")
    assert (code, resumed["status"]) == (1, "FAILED")
    assert "read FINISHED" in stderr  # the entry point's output
    assert f"run {earlier['run_id']} is read-only here" in stderr
    after = show(str(earlier["run_id"]))
    assert (after["status"], after["metrics"]) == ("FINISHED", {})


SKLEARN = """\
import mlflow, mlflow.sklearn
from sklearn.linear_model import LinearRegression
mlflow.sklearn.autolog()
X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 2.0, 4.0, 6.0]
with mlflow.start_run():
    LinearRegression().fit(X, y)                      # autolog: params, metrics, models/model
    # An autologged estimator carries its run id (_mlflow_run_id): pickled by hand, it would
    # differ in every run. Log one fitted without autolog, as a reproducible model.
    mlflow.sklearn.autolog(disable=True)
    model = LinearRegression().fit(X, y)
    info = mlflow.sklearn.log_model(model, name="regressor", serialization_format="cloudpickle")
    version = mlflow.register_model(info.model_uri, "wine-model")
assert version.version == "1", version
assert mlflow.sklearn.load_model(info.model_uri).predict([[4.0]])[0] == 8.0
"""

LOAD = """\
import sys, mlflow.sklearn
run_id, model_id = sys.argv[1], sys.argv[2]
for uri in (f"runs:/{run_id}/regressor", f"models:/{model_id}"):  # logged by an earlier run
    assert mlflow.sklearn.load_model(uri).predict([[4.0]])[0] == 8.0, uri
    print("loaded", uri)
"""


def test_sklearn_autolog_log_model_and_register(isolated: Path) -> None:
    project = git_project(isolated / "sk", {
        "MLproject": "name: sk\npython_env: python_env.yaml\nentry_points:\n"
                     "  main: {command: python train.py}\n"
                     "  load:\n    parameters: {run: {type: string}, model: {type: string}}\n"
                     "    command: python load.py {run} {model}\n",
        "python_env.yaml": f"python: '3.11'\ndependencies:\n  - {MLFLOW}\n"
                           "  - scikit-learn==1.7.2\n  - pandas==2.3.3\n",
        "train.py": SKLEARN, "load.py": LOAD,
    })  # fmt: skip
    code, run, stderr = run_json(project)
    assert code == 0, stderr
    assert run["params"]["fit_intercept"] == "True"  # type: ignore[index]
    assert run["metrics"]["training_r2_score"] == 1.0  # type: ignore[index]
    paths = {a["path"] for a in run["artifacts"]}  # type: ignore[attr-defined]
    assert {"models/model/MLmodel", "models/model/model.pkl", "models/regressor/MLmodel"} <= paths
    tags = run["tags"]
    assert tags["mlrun.mlflow.registry.wine-model.v1"].startswith("models:/m-")  # type: ignore[index]
    assert untracked(project) == []
    verify = run_mlrun("reproduce", str(run["run_id"]), "--verify", "--json", timeout=600)
    checks = json.loads(verify.stdout)["checks"]
    assert verify.returncode == 0, [c for c in checks if not c["match"]]
    assert any(c["key"] == "models/regressor/MLmodel" and c["match"] for c in checks)
    # A later run loads the models the first one logged (runs:/ and models:/ URIs).
    model_id = str(tags["mlrun.mlflow.model.regressor"])  # type: ignore[index]
    code, _, stderr = run_json(project, "-e", "load", "-P", f"run={run['run_id']}",
                               "-P", f"model={model_id}")  # fmt: skip
    assert code == 0, stderr
    assert f"loaded runs:/{run['run_id']}/regressor" in stderr
    assert f"loaded models:/{model_id}" in stderr
