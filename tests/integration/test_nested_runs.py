"""An entry point that calls ``mlrun run`` records the outer run as its parent."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import run_mlrun, write_project

pytestmark = pytest.mark.integration


def test_inner_mlrun_run_records_its_parent(isolated: Path) -> None:
    inner = write_project(
        isolated / "outer" / "inner",
        "entry_points:\n  main:\n    command: python -c 'import mlrun_cli; mlrun_cli.log_metric(\"m\", 1)'\n",
    )
    mlrun = shlex.join([sys.executable, "-m", "mlrun_cli", "run", str(inner), "--env-manager",
                        "local", "--run-name", "inner-run"])  # fmt: skip
    outer = write_project(isolated / "outer", f"entry_points:\n  main:\n    command: {mlrun}\n")
    result = run_mlrun("run", str(outer), "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    parent_id = json.loads(result.stdout)["run_id"]
    found = run_mlrun("runs", "search", "--filter", f"attributes.parent_run_id = '{parent_id}'",
                      "--json")  # fmt: skip
    children = json.loads(found.stdout)["runs"]
    assert [c["run_name"] for c in children] == ["inner-run"]
    child = children[0]
    assert child["parent_run_id"] == parent_id
    assert child["tags"]["mlflow.parentRunId"] == parent_id
    assert child["metrics"] == {"m": 1}
    table = run_mlrun("runs", "search", "--columns", "run_name,parent_run_id")
    assert ["inner-run", parent_id] in [line.split() for line in table.stdout.splitlines()]
    shown = run_mlrun("runs", "show", child["run_id"])
    assert f"parent run:  {parent_id}" in shown.stdout
    assert (
        json.loads(run_mlrun("runs", "show", parent_id, "--json").stdout)["parent_run_id"] is None
    )


def test_an_inherited_run_id_of_another_store_is_no_parent(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRUN_RUN_ID", "ab" * 16)
    project = write_project(isolated / "p", "entry_points:\n  main:\n    command: 'true'\n")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert run["parent_run_id"] is None
    assert "mlflow.parentRunId" not in run["tags"]
