from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlrun_cli.cli.app import app

runner = CliRunner()


def mlrun(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_create_search_get_rename_delete_restore() -> None:
    code, out, _ = mlrun("experiments", "create", "--experiment-name", "wine")
    assert (code, out) == (0, "Created experiment 'wine' with id 1\n")
    code, out, _ = mlrun("experiments", "create", "-n", "beer", "--json")
    assert json.loads(out)["experiment_id"] == "2"
    code, out, _ = mlrun("experiments", "search", "--json")
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["Default", "wine", "beer"]
    code, out, _ = mlrun("experiments", "search")
    assert "wine" in out
    assert "Default" in out
    code, out, _ = mlrun("experiments", "get", "--experiment-name", "wine", "--json")
    assert json.loads(out)["lifecycle_stage"] == "active"
    code, out, _ = mlrun("experiments", "rename", "-x", "1", "--new-name", "red")
    assert out == "Renamed experiment 'wine' to 'red'\n"
    code, out, _ = mlrun("experiments", "delete", "--experiment-name", "red")
    assert out == "Deleted experiment 'red' (id 1)\n"
    code, out, _ = mlrun("experiments", "search", "--view", "deleted", "--json")
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["red"]
    code, out, _ = mlrun("experiments", "search", "--view", "all", "--json")
    assert len(json.loads(out)["experiments"]) == 3
    code, out, _ = mlrun("experiments", "restore", "-x", "1")
    assert code == 0
    code, out, _ = mlrun("experiments", "search", "--json")
    assert len(json.loads(out)["experiments"]) == 3


def test_search_filter() -> None:
    for name in ("wine-red", "wine-white", "beer"):
        mlrun("experiments", "create", "-n", name)
    _, out, _ = mlrun("experiments", "search", "--filter", "name LIKE 'wine%'", "--json")
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["wine-red", "wine-white"]
    _, out, _ = mlrun(
        "experiments", "search", "--filter", "name = 'beer' OR (experiment_id = 1)", "--json"
    )
    assert [e["name"] for e in json.loads(out)["experiments"]] == ["wine-red", "beer"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["experiments", "create", "-n", "Default"],
            "error: experiment 'Default' already exists with id 0",
        ),
        (["experiments", "get", "-x", "7"], "error: no experiment with id 7"),
        (["experiments", "get", "-n", "nope"], "error: no experiment named 'nope'"),
        (["experiments", "get"], "error: give exactly one of --experiment-id or --experiment-name"),
        (
            ["experiments", "delete", "-x", "0"],
            "error: the Default experiment (id 0) cannot be deleted",
        ),
        (
            ["experiments", "search", "--view", "gone"],
            "error: --view: expected one of active, deleted, all; got 'gone'",
        ),
        (["experiments", "search", "--filter", "name = "], "error: --filter:"),
        (["experiments", "search", "--filter", "metrics.x > 1"], "error: --filter:"),
        (["runs", "show", "abcdef"], "error: no run with id 'abcdef'"),
        (["runs", "show", "abc"], "error: run id 'abc': give the id or a prefix of at least 4"),
        (["experiments", "get", "-x", "²"], "error: experiment id '²': expected a number"),
        (
            ["experiments", "rename", "-x", "0", "--new-name", "x"],
            "error: the Default experiment (id 0) cannot be renamed",
        ),
        (
            ["experiments", "search", "--tracking-uri", "file:rel"],
            "error: --tracking-uri: 'file:rel': expected file:///absolute/path",
        ),
        (["runs", "search", "--experiment-name", "nope"], "error: no experiment named 'nope'"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args: list[str], message: str) -> None:
    mlrun("experiments", "create", "-n", "existing")
    code, _, err = mlrun(*args)
    assert code == 2
    assert err.startswith(message)
    assert "Traceback" not in err


def test_run_in_deleted_experiment_is_refused() -> None:
    Path("x.py").write_text("")
    mlrun("experiments", "create", "-n", "old")
    mlrun("experiments", "delete", "-n", "old")
    code, _, err = mlrun("run", ".", "-e", "x.py", "--experiment-name", "old")
    assert code == 2
    assert "experiment 'old' (id 1) is deleted; restore it with: mlrun experiments restore" in err


def test_both_experiment_flags_is_a_usage_error() -> None:
    code, _, err = mlrun("run", ".", "--experiment-name", "a", "--experiment-id", "0")
    assert code == 2
    assert "give one, not both" in err


def test_version_and_help() -> None:
    code, out, _ = mlrun("--version")
    assert code == 0
    assert out.startswith("mlrun ")
    code, out, _ = mlrun("--help")
    assert "experiments" in out


def test_unknown_env_manager() -> None:
    code, _, err = mlrun("run", ".", "--env-manager", "conda")
    assert code == 2
    assert "--env-manager: expected one of local, uv, virtualenv; got 'conda'" in err


def test_missing_project_folder_is_a_source_error() -> None:
    code, _, err = mlrun("run", "no/such/dir")
    assert code == 4
    assert "project folder 'no/such/dir' does not exist" in err


def test_reading_commands_never_create_a_store() -> None:
    code, _, err = mlrun("runs", "search")
    assert code == 2
    assert err.startswith("error: no tracking store at ")
    assert "hint: run something first" in err
    assert not Path("mlruns").exists()


def test_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("not sqlite" * 100)
    code, _, err = mlrun(
        "experiments", "create", "-n", "x", "--tracking-uri", f"sqlite:///{tmp_path}/bad.db"
    )
    assert code == 2
    assert err.startswith(f"error: tracking store {tmp_path}/bad.db is damaged: ")
    assert "Traceback" not in err


def test_restore_of_an_active_experiment_says_so() -> None:
    mlrun("experiments", "create", "-n", "live")
    _, out, _ = mlrun("experiments", "restore", "-n", "live")
    assert out == "Experiment 'live' is already active\n"


def test_experiment_pages() -> None:
    for name in ("a", "b", "c", "d"):
        mlrun("experiments", "create", "-n", name)
    seen, token = [], None
    while True:
        _, out, _ = mlrun("experiments", "search", "--max-results", "2", "--json",
                          *(["--page-token", token] if token else []))  # fmt: skip
        data = json.loads(out)
        seen += [e["name"] for e in data["experiments"]]
        token = data["next_page_token"]
        if token is None:
            break
    assert seen == ["Default", "a", "b", "c", "d"]
    code, _, err = mlrun("experiments", "search", "--max-results", "3")
    assert code == 0
    assert "more experiments: --page-token" in err
    code, _, err = mlrun("experiments", "search", "--page-token", "garbage")
    assert code == 2
    assert "not a token `experiments search` gave out" in err
