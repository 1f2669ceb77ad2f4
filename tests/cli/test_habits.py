"""Habits: MLflow's CLI names, click's usage errors in mlrun's shape, --help with metavars and
examples, shell completion from the store and the project, the line after every run."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.helpers import mlrun, record_run
from tests.conftest import mlrun_argv, run_mlrun, write_project


@pytest.fixture
def two_runs() -> list[str]:
    return [
        record_run("wine", "first", {"alpha": "0.5"}, {"rmse": [0.7]}),
        record_run("wine", "second", {"alpha": "0.1"}, {"rmse": [0.6]}),
    ]


def test_mlflow_run_commands(two_runs: list[str]) -> None:
    _, out, _ = mlrun("runs", "list", "--experiment-id", "1", "--json")
    assert {r["run_id"] for r in json.loads(out)["runs"]} == set(two_runs)
    _, out, _ = mlrun("runs", "describe", "--run-id", two_runs[0], "--json")
    assert json.loads(out)["run_id"] == two_runs[0]
    _, out, _ = mlrun("runs", "show", "--run-id", two_runs[0][:8])
    assert "name:        first" in out
    code, _, err = mlrun("runs", "show", two_runs[0], "--run-id", two_runs[1])
    assert code == 2
    assert "expected one run id" in err
    assert mlrun("runs", "delete", "--run-id", two_runs[0])[0] == 0
    _, out, _ = mlrun("runs", "search", "--view", "deleted_only", "--json")
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [two_runs[0]]
    _, out, _ = mlrun("runs", "list", "-x", "1", "--view", "active_only", "--json")
    assert [r["run_id"] for r in json.loads(out)["runs"]] == [two_runs[1]]
    assert mlrun("runs", "restore", "--run-id", two_runs[0])[0] == 0
    _, out, _ = mlrun("runs", "tag", "--run-id", two_runs[1], "team=a")
    assert out == f"Tagged run {two_runs[1]}: team=a\n"


def test_mlflow_experiment_commands(two_runs: list[str], tmp_path: Path) -> None:
    mlrun("experiments", "create", "-n", "beer")
    _, out, _ = mlrun("experiments", "search", "--max-results", "2", "--json")
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["Default", "wine"]
    _, out, _ = mlrun("experiments", "search", "--view", "all", "--json")
    assert len(json.loads(out)["experiments"]) == 3
    _, out, _ = mlrun("experiments", "csv", "--experiment-id", "1")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][:2] == ["run_id", "run_name"]
    assert "params.alpha" in rows[0]
    assert {row[0] for row in rows[1:]} == set(two_runs)
    target = tmp_path / "wine.csv"
    mlrun("experiments", "csv", "-n", "wine", "--filename", str(target))
    assert target.read_text() == out


def test_usage_errors_look_like_mlrun_errors() -> None:
    result = run_mlrun("run")
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == "error: Missing argument 'URI'."
    assert "hint: mlrun run --help" in result.stderr
    result = run_mlrun("runs", "search", "--nope")
    assert result.returncode == 2
    assert result.stderr.startswith("error: No such option: --nope")
    result = run_mlrun("runs", "serch")
    assert result.stderr.startswith("error: No such command 'serch'. Did you mean 'search'?")
    result = run_mlrun("runs", "search", "--max-results", "x")
    assert result.returncode == 2
    assert result.stderr.startswith("error: Invalid value for '--max-results'")
    assert "Traceback" not in result.stderr
    result = run_mlrun("runs")
    assert result.returncode == 0  # a group alone prints its help
    assert "Commands:" in result.stdout + result.stderr


def test_backend(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    ok = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "local")
    assert ok.returncode == 0, ok.stderr
    bad = run_mlrun("run", str(project), "--env-manager", "local", "--backend", "kubernetes")
    assert bad.returncode == 2
    assert "error: --backend 'kubernetes': expected one of local, ray, slurm" in bad.stderr
    assert len(json.loads(run_mlrun("runs", "search", "--json").stdout)["runs"]) == 1


def test_line_after_every_run_and_store_in_not_found(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    # The first run creates the store and says so (a run from a subfolder starts its own).
    assert result.stderr.strip().endswith(" (sqlite, new) · mlrun runs show " + result.stderr
                                          .strip()[-8:])  # fmt: skip
    result = run_mlrun("run", str(project), "--env-manager", "local")
    match = re.search(r"recorded in \./mlruns \(sqlite\) · mlrun runs show ([0-9a-f]{8})$",
                      result.stderr.strip())  # fmt: skip
    assert match
    assert run_mlrun("runs", "show", match.group(1)).returncode == 0
    missing = run_mlrun("runs", "show", "deadbeef")
    assert missing.returncode == 2
    db = Path.cwd() / "mlruns" / "mlrun.db"
    assert f"error: no run with id 'deadbeef' in {db}" in missing.stderr
    other = tmp_path / "store"
    result = run_mlrun("run", str(project), "--env-manager", "local", "--tracking-uri", str(other))
    assert f"recorded in {other} (sqlite, new)" in result.stderr
    unknown = run_mlrun("experiments", "get", "-x", "9")
    assert unknown.returncode == 2
    assert f"error: no experiment with id 9 in {db}" in unknown.stderr


def test_line_after_a_run_repeats_only_a_tracking_uri_given_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    store = tmp_path / "store"
    given = run_mlrun("run", str(project), "--env-manager", "local", "--tracking-uri", str(store))
    assert given.returncode == 0, given.stderr
    line = given.stderr.strip().splitlines()[-1]
    assert line.endswith(f" --tracking-uri {store}"), line  # as typed
    # From MLRUN_TRACKING_URI, still set in the user's shell: the suggestion needs no option.
    monkeypatch.setenv("MLRUN_TRACKING_URI", str(store))
    from_env = run_mlrun("run", str(project), "--env-manager", "local")
    assert from_env.returncode == 0, from_env.stderr
    line = from_env.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"mlrun: recorded in {re.escape(str(store))} \(sqlite\) · mlrun runs show "
                        r"[0-9a-f]{8}", line), line  # fmt: skip
    shown = run_mlrun("runs", "show", line.rsplit(" ", 1)[1])
    assert shown.returncode == 0, shown.stderr


def test_python_version_warning_of_a_local_run_fits_80_columns(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        "python_env: python_env.yaml\nentry_points:\n  main:\n    command: python -c pass\n",
    )
    (project / "python_env.yaml").write_text('python: ">=3.99"\ndependencies: []\n')
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "asks for Python" in line)
    assert warning.startswith("warning: python_env.yaml asks for Python >=3.99; ")
    assert len(warning) <= 80, warning


def test_help_has_metavars_choices_and_examples() -> None:
    run_help = run_mlrun("run", "--help").stdout
    for text in ("URI", "NAME=VALUE", "-v, --version REV", "[uv|virtualenv|local]",
                 "[snapshot|refuse|allow]", "Examples:", "mlrun run example_project"):  # fmt: skip
        assert text in run_help
    assert "Examples:" in run_mlrun("runs", "search", "--help").stdout
    assert "Examples:" in run_mlrun("reproduce", "--help").stdout
    assert "[active|deleted|all]" in run_mlrun("experiments", "search", "--help").stdout
    for group in ([], ["runs"], ["experiments"], ["env"]):
        out = run_mlrun(*group, "--help").stdout
        commands = out.split("Commands:")[1].splitlines()[1:]
        assert all(re.match(r"^  \S", line) for line in commands if line), out  # one line each
        assert max(len(line) for line in out.splitlines()) <= 80


def complete(words: str, cwd: Path | None = None) -> list[str]:
    env = {**os.environ, "_MLRUN_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}  # fmt: skip
    out = subprocess.run(mlrun_argv(), env=env, capture_output=True, text=True, check=False,
                         cwd=cwd or Path.cwd())  # fmt: skip
    return out.stdout.split()


def test_completion(two_runs: list[str], tmp_path: Path) -> None:
    assert set(complete("mlrun runs show ")) == {r[:8] for r in two_runs}
    assert complete(f"mlrun runs compare {two_runs[0][:8]} {two_runs[1][:3]}") == [two_runs[1][:8]]
    assert complete("mlrun reproduce --run-id ") != []
    assert complete("mlrun runs search --experiment-name w") == ["wine"]
    project = write_project(
        tmp_path / "proj",
        "entry_points:\n  main:\n    command: x\n  train:\n    command: y\n",
    )
    assert complete(f"mlrun run {project} -e ") == ["main", "train"]
    assert complete("mlrun run . -e t", cwd=project) == ["train"]
    assert complete("mlrun ru") == ["run", "runs"]
    assert complete("mlrun run . --env-manager ") == ["uv", "virtualenv", "local"]
    assert complete("mlrun run . --dirty r") == ["refuse"]
    assert complete("mlrun runs search --format c") == ["csv"]
    env = {**os.environ, "_MLRUN_COMPLETE": "source_bash"}  # as the README says; no detection
    shown = subprocess.run([*mlrun_argv()], env=env,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert "_MLRUN_COMPLETE" in shown.stdout


def test_completion_without_a_store_completes_nothing() -> None:
    assert complete("mlrun runs show ") == []
    assert not (Path.cwd() / "mlruns").exists()


def test_completion_on_a_corrupt_store_completes_nothing() -> None:
    store = Path.cwd() / "mlruns"
    store.mkdir()
    (store / "mlrun.db").write_bytes(b"not a database" * 100)
    assert complete("mlrun runs show ") == []
    assert complete("mlrun runs search --experiment-name ") == []
