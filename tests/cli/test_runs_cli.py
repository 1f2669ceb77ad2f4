from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PROJECT, run_mlrun

pytestmark = pytest.mark.integration


def test_runs_search_table_shows_varying_columns() -> None:
    for alpha in ("0.5", "0.01"):
        result = run_mlrun(
            "run", str(EXAMPLE_PROJECT), "-P", f"alpha={alpha}", "--experiment-name", "wine"
        )
        assert result.returncode == 0, result.stderr
    fitted = run_mlrun("runs", "search", "--experiment-name", "wine")
    assert max(len(line) for line in fitted.stdout.splitlines()) <= 80  # piped: 80 columns
    assert "more column(s): " in fitted.stderr
    out = run_mlrun("runs", "search", "--experiment-name", "wine", "--wide").stdout
    header = out.splitlines()[0]
    assert "params.alpha" in header
    assert "metrics.rmse" in header
    assert "params.seed" not in header  # same in both runs: not a column
    assert out.count("FINISHED") == 2


def test_runs_show_human_and_json() -> None:
    result = run_mlrun("run", str(EXAMPLE_PROJECT), "--quiet")
    run_id = result.stdout.strip()
    assert len(run_id) == 32
    shown = run_mlrun("runs", "show", run_id).stdout
    for text in ("status:      FINISHED", "entry point: main", "alpha = 0.5", "model.json"):
        assert text in shown
    data = json.loads(run_mlrun("runs", "show", run_id, "--json").stdout)
    assert data["run_id"] == run_id
    assert data["command"].startswith("python train.py --alpha 0.5")


def test_undeclared_param_warning_and_strict(tmp_path: Path) -> None:
    result = run_mlrun("run", str(EXAMPLE_PROJECT), "-P", "alpah=1", "--json")
    assert (
        "warning: parameter 'alpah' is not declared by entry point 'main' (did you mean 'alpha'?)"
        in result.stderr
    )
    assert json.loads(result.stdout)["params"]["alpah"] == "1"
    strict = run_mlrun("run", str(EXAMPLE_PROJECT), "-P", "alpah=1", "--strict")
    assert strict.returncode == 2


def test_python_module_entry() -> None:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "mlrun_cli", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("mlrun 0.")
