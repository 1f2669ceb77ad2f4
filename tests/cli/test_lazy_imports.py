"""Startup stays cheap: each command imports only what it needs (checked on sys.modules)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import record_run
from tests.conftest import write_project

HEAVY = ("sqlite3", "yaml", "rich", "dvc", "git", "virtualenv", "psycopg", "psycopg2", "pydantic",
         "plotext", "matplotlib", "numpy", "starlette", "jinja2", "uvicorn", "playwright", "ray",
         "optuna", "fastapi", "anyio", "boto3", "s3fs", "fsspec")  # fmt: skip

# Plain argv and output (no json: the probe must not import what it looks for).
PROBE = """
import sys
before = set(sys.modules)  # what the interpreter's own startup (site, .pth files) brought
heavy, args = sys.argv[1].split(","), sys.argv[2:]
from mlrun_cli.cli import app
sys.argv = ["mlrun", *args]
try:
    app.main()
except SystemExit:
    pass
print(" ".join(sorted(m for m in set(sys.modules) - before
                      if m.split(".")[0] in heavy or m.startswith("mlrun_cli."))))
"""


# Standard-library modules a store command need not pay for (dataclasses imports inspect, ast,
# dis, tokenize: ~12 ms; uuid imports platform; hashlib loads OpenSSL).
COSTLY = ("dataclasses", "inspect", "ast", "uuid", "platform", "hashlib", "base64", "threading",
          "json")  # fmt: skip


def imported(*args: str, cwd: Path | None = None, also: tuple[str, ...] = ()) -> set[str]:
    """The heavy, COSTLY (and ``also``'s) and mlrun_cli modules ``mlrun ARGS`` imported."""
    argv = [sys.executable, "-c", PROBE, ",".join(HEAVY + COSTLY + also), *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=cwd)
    return set(out.stdout.splitlines()[-1].split())


def heavy(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY}


def test_help_imports_nothing_heavy_and_no_command_module() -> None:
    modules = imported("--help")
    assert heavy(modules) == set()
    commands = {
        "run",
        "runs",
        "experiments",
        "env",
        "reproduce",
        "metrics",
        "plot",
        "compare",
        "ui",
        "server",
    }
    assert not {m for m in modules if m.rsplit(".", 1)[-1] in commands}
    assert "mlrun_cli.tracking.models" not in modules
    assert "mlrun_cli.tracking.postgres" not in modules  # nor the PostgreSQL store's code


def test_runs_search_loads_no_plotting_yaml_rich_or_ingest() -> None:
    subprocess.run([sys.executable, "-m", "mlrun_cli", "experiments", "create", "-n", "x"],
                   check=True, capture_output=True)  # fmt: skip
    modules = imported("runs", "search")
    assert heavy(modules) == {"sqlite3"}
    assert "mlrun_cli.tracking.ingest" not in modules  # no run to reap: no ingest code
    assert "mlrun_cli.cli.experiments" not in modules  # only the invoked group is built
    assert "mlrun_cli.tracking.postgres" not in modules  # a SQLite store: no psycopg either
    modules = imported("experiments", "search")
    assert heavy(modules) == {"sqlite3"}
    assert "mlrun_cli.cli.runs" not in modules


def test_search_commands_import_no_dataclasses_nor_the_training_client() -> None:
    record_run("x", "first", {"alpha": "0.5"}, {"rmse": [0.7, 0.6]}, {"team": "a"})
    for args in (("experiments", "search"), ("runs", "search")):
        modules = imported(*args)
        assert not modules & set(COSTLY), args
        assert "mlrun_cli.tracking.client" not in modules, args  # json, threading, ...
        assert "json" not in modules, args  # a table needs no JSON


def test_the_store_alone_imports_no_client_and_the_package_api_still_resolves() -> None:
    probe = (
        "import sys, mlrun_cli.tracking.sqlite; "
        "print('mlrun_cli.tracking.client' in sys.modules, 'dataclasses' in sys.modules); "
        "import mlrun_cli; print(mlrun_cli.log_metric.__module__, mlrun_cli.search_runs.__module__,"
        " mlrun_cli.TrackingClientError.__name__, 'log_param' in dir(mlrun_cli))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == [
        "False", "False", "mlrun_cli.tracking.client", "mlrun_cli.api", "TrackingClientError",
        "True",
    ]  # fmt: skip


def test_only_serving_imports_the_web_framework() -> None:
    modules = imported("server", "--help")
    assert heavy(modules) == set()
    assert not {m for m in modules if m.startswith("mlrun_cli.server")}
    modules = imported("runs", "search", "--tracking-uri", "http://127.0.0.1:9")
    assert not heavy(modules) & {"starlette", "uvicorn", "anyio"}


def test_a_warm_run_imports_no_yaml(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    imported("run", str(project), "--env-manager", "local")
    modules = imported("run", str(project), "--env-manager", "local")
    assert "yaml" not in modules
    assert "plotext" not in modules
    assert "rich" not in modules


def test_training_api_import_is_stdlib_only() -> None:
    probe = "import sys, mlrun_cli; print(sorted(m for m in sys.modules if m.startswith(('typer', 'rich', 'yaml', 'sqlite3'))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_only_mlrun_ui_imports_the_web_stack() -> None:
    web = {"starlette", "jinja2", "uvicorn"}
    subprocess.run([sys.executable, "-m", "mlrun_cli", "experiments", "create", "-n", "x"],
                   check=True, capture_output=True)  # fmt: skip
    for args in (("--help",), ("runs", "search"), ("experiments", "search"), ("ui", "--help")):
        modules = imported(*args)
        assert not heavy(modules) & web, args
        assert not {m for m in modules if m.startswith("mlrun_cli.ui")}, args


def test_a_grid_sweep_imports_neither_optuna_nor_ray(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    modules = imported("sweep", str(project), "--env-manager", "local", "-P", "a=1,2")
    assert not {"optuna", "ray"} & heavy(modules)
    assert "mlrun_cli.backends.remote" not in modules
    assert "mlrun_cli.sweep.controller" not in imported("runs", "search")


# What a warm local run of a plain project or a clean git checkout never needs.
NOT_ON_A_LOCAL_RUN = (
    "mlrun_cli.envs.provision",  # building, caching, locking envs (uv, virtualenv)
    "mlrun_cli.envs.cache",
    "mlrun_cli.envs.interpreters",
    "mlrun_cli.envs.requirements",
    "mlrun_cli.envs.builder_process",
    "mlrun_cli.data.pins",  # DVC: no .dvc/ here
    "mlrun_cli.data.step",
    "mlrun_cli.data.inputs",  # no path parameters
    "mlrun_cli.source.git",  # git URLs and other versions
    "mlrun_cli.source.archive",  # zip archives
    "mlrun_cli.spec.python_env",  # no env file
    "mlrun_cli.spec.conda_env",
    "mlrun_cli.mlflow_compat.loopback",  # only when MLflow is installed in the env
)
# Standard-library modules it need not pay for: the package metadata (the local env's lock is
# cached), shutil (its compression modules), tempfile (a dirty snapshot's), difflib (typo hints),
# dataclasses and inspect (~14 ms: the run's values are records), hashlib (~6 ms loading
# OpenSSL: small inputs are hashed by CPython's own sha256).
STDLIB_NOT_ON_A_LOCAL_RUN = (
    "hashlib",
    "email",
    "csv",
    "zipfile",
    "shutil",
    "tempfile",
    "difflib",
    "dataclasses",
    "inspect",
)


@pytest.mark.parametrize("layout", ["plain", "git"])
def test_a_warm_local_run_imports_no_env_building_dvc_or_other_source_code(
    tmp_path: Path, layout: str
) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    cwd = tmp_path / "work"
    if layout == "git":
        (project / ".gitignore").write_text("mlruns/\n")
        env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}  # fmt: skip
        for argv in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "init"]):
            subprocess.run(["git", *argv], cwd=project, env=env, check=True, capture_output=True)
        cwd = project  # ./mlruns inside the repository, ignored by it
    args = ("run", str(project), "--env-manager", "local")
    for _ in range(2):  # warm: the MLproject parse and the local env's lock are cached
        imported(*args, cwd=cwd)
    modules = imported(*args, cwd=cwd, also=STDLIB_NOT_ON_A_LOCAL_RUN)
    # The local env is this interpreter: the endpoint starts only if it has MLflow.
    has_mlflow = importlib.util.find_spec("mlflow") is not None
    unexpected = set(NOT_ON_A_LOCAL_RUN) - (
        {"mlrun_cli.mlflow_compat.loopback"} if has_mlflow else set()
    )
    assert not modules & unexpected, layout
    assert not {m.split(".")[0] for m in modules} & set(STDLIB_NOT_ON_A_LOCAL_RUN), layout
    if layout == "git":
        assert "mlrun_cli.source.stray" in modules  # the stray-file scan still runs
        assert "mlrun_cli.source.ignore" not in modules  # git ignores: no .mlrunignore rules
