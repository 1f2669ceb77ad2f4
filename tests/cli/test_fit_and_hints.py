"""Leftovers of the CLI issue: plain usage metavars, `runs show` within 80 columns, paths elided
in the middle, hidden columns named, escaped tag echoes, value hints, runs given twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlrun_cli.cli._table import elide_path
from mlrun_cli.cli.describe import fitted
from tests.cli.helpers import mlrun, record_run
from tests.conftest import run_mlrun, write_project


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        (["run"], "Usage: mlrun run [OPTIONS] URI"),
        (["runs", "tag"], "Usage: mlrun runs tag [OPTIONS] RUN_ID KEY=VALUE..."),
        (["experiments", "tag"], "Usage: mlrun experiments tag [OPTIONS] KEY=VALUE..."),
        (["runs", "show"], "Usage: mlrun runs show [OPTIONS] [RUN_ID]"),
    ],
)
def test_usage_lines_show_plain_metavars(command: list[str], usage: str) -> None:
    _, out, _ = mlrun(*command, "--help")
    assert out.splitlines()[0] == usage


def test_runs_show_fits_80_columns_and_json_keeps_everything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = record_run("wine", "first", {"alpha": "0.5"}, {"rmse": [0.7]})
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = mlrun("runs", "show", run_id)
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "fingerprint: fp1:cdcdcdcdcdcd…" in out
    _, out, _ = mlrun("runs", "show", run_id, "--json")
    assert json.loads(out)["fingerprint"] == "fp1:" + "cd" * 32
    monkeypatch.setenv("COLUMNS", "200")
    _, out, _ = mlrun("runs", "show", run_id)
    assert "fp1:" + "cd" * 32 in out


def test_long_values_break_between_words_under_their_column() -> None:
    data = "fingerprint 0123456789ab, 3 pinned path(s), pins from v1.2.3, DIRTY (actual hashes "
    lines = fitted("data", data + "recorded), remote s3://bucket/path", 60).splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert lines[0].startswith("data:        fingerprint 0123456789ab,")
    assert all(line.startswith(" " * 13) and line[13] != " " for line in lines[1:])
    assert " ".join(line[13:] for line in lines).startswith(data)


def test_paths_are_elided_in_the_middle() -> None:
    assert elide_path("~/work/projects/2024/wine-quality", 20) == "~/work…/wine-quality"
    assert elide_path("~/work/wine", 20) == "~/work/wine"
    assert len(elide_path("/x/" + "y" * 40, 12)) == 12  # a last part too long: its end is kept


def test_runs_search_names_the_columns_it_hides(monkeypatch: pytest.MonkeyPatch) -> None:
    record_run("wine", "a", {"alpha": "0.5", "seed": "1"}, {"rmse": [0.7], "n": [3]})
    record_run("wine", "b", {"alpha": "0.1", "seed": "1"}, {"rmse": [0.6], "n": [3]})
    monkeypatch.setenv("COLUMNS", "80")
    _, out, err = mlrun("runs", "search")
    assert "params.seed" not in out
    assert "same in every run: params.seed=1, metrics.n=3 (--columns shows them)" in err
    _, _, err = mlrun("runs", "search", "--columns", "run_id,params.alpha")
    assert "same in every run" not in err


def test_tag_echoes_escape_control_characters() -> None:
    run_id = record_run("wine", "a", {}, {})
    code, out, _ = mlrun("runs", "tag", run_id, "note=two\nlines\x1b[2J")
    assert code == 0
    assert out == f"Tagged run {run_id}: note=two\\nlines\\x1b[2J\n"
    _, out, _ = mlrun("runs", "show", run_id, "--json")
    assert json.loads(out)["tags"]["note"] == "two\nlines\x1b[2J"  # stored as given
    code, out, _ = mlrun("experiments", "tag", "-n", "wine", "k=a\nb")
    assert out == "Tagged experiment 'wine': k=a\\nb\n"


def test_a_param_without_a_value_says_what_it_takes(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n")
    bare = run_mlrun("run", str(project), "--env-manager", "local", "-P", "alpha")
    assert bare.returncode == 2
    assert bare.stderr.splitlines() == ["error: -P 'alpha': expected NAME=VALUE",
                                        "hint: -P alpha=VALUE"]  # fmt: skip
    missing = run_mlrun("run", str(project), "-P")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "error: Option '-P' requires an argument.",
        "Usage: mlrun run [OPTIONS] URI",
        "hint: -P NAME=VALUE (see mlrun run --help)",
    ]


def test_a_run_given_twice_is_shown_once() -> None:
    first = record_run("wine", "a", {"alpha": "0.5"}, {"rmse": [0.7, 0.6]})
    second = record_run("wine", "b", {"alpha": "0.1"}, {"rmse": [0.6, 0.5]})
    code, _, err = mlrun("runs", "compare", first, first[:8])
    assert code == 2
    assert f"error: runs compare: {first}, {first[:8]} name one run" in err
    code, out, err = mlrun("runs", "compare", first, second, first[:8], "--json")
    assert code == 0
    assert f"run {first[:8]} is given more than once: shown once" in err
    assert json.loads(out)["run_ids"] == [first, second]
    code, out, err = mlrun("runs", "metric", first, first, "rmse", "-f", "csv")
    assert code == 0
    assert "given more than once" in err
    assert out.splitlines()[0] == "step,value,timestamp"  # one run: its own history


def test_sweep_shares_run_options_and_their_completion() -> None:
    from tests.cli.test_habits import complete

    assert complete("mlrun sweep . --env-manager v") == ["virtualenv"]
    assert complete("mlrun run . --env-manager v") == ["virtualenv"]
    assert complete("mlrun sweep . --dirty r") == ["refuse"]
    assert complete("mlrun sweep . --backend s") == ["slurm"]
    _, run_help, _ = mlrun("run", "--help")
    _, sweep_help, _ = mlrun("sweep", "--help")
    for line in ("--env-manager [uv|virtualenv|local]", "--experiment-name NAME",
                 "--backend-config FILE", "-v, --version REV", "--run-name NAME"):  # fmt: skip
        assert line in run_help
        assert line in sweep_help


def test_after_run_hint_repeats_the_typed_uri_quoted(tmp_path: Path) -> None:
    import shlex

    from mlrun_cli.cli.running import recorded_line

    spaced = tmp_path / "r12 store6"
    line = recorded_line(str(spaced), "0666ebd1" * 4)
    assert line.endswith(f"mlrun runs show 0666ebd1 --tracking-uri {shlex.quote(str(spaced))}")
    assert shlex.split(line.rsplit(" · ", 1)[1])[-1] == str(spaced)  # pasteable
    (tmp_path / "x").mkdir()
    typed = f"sqlite:///{tmp_path}/x/../y/mlrun.db"
    assert recorded_line(typed, "ab" * 16).endswith(f"--tracking-uri {typed}")


def test_a_url_or_path_longer_than_the_line_stays_whole_to_be_copied() -> None:
    url = "http://127.0.0.1:5000/api/v1/runs/" + "ab" * 16 + "/artifacts"
    assert fitted("artifacts", url, 60).splitlines() == [f"artifacts:   {url}"]
    lines = fitted("source", f"{url} [git]", 60).splitlines()
    assert lines == [f"source:      {url}", "             [git]"]
