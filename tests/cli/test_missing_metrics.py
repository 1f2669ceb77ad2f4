"""A run lacking the metric: runs plot, runs metric and runs compare --plot go on with the
others and say which were left out; stderr remarks fit the terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import mlrun, record_run


@pytest.fixture
def two() -> list[str]:
    return [
        record_run("e", "with", {}, {"mae": [0.5, 0.4], "loss": [1.0, 0.5]}),
        record_run("e", "without", {}, {"loss": [0.9, 0.6]}),
    ]


def test_plot_and_metric_leave_out_runs_without_it(two: list[str], tmp_path: Path) -> None:
    code, out, err = mlrun("runs", "plot", *two, "--metric", "mae")
    assert code == 0, err
    assert f"{two[0][:8]} with" in out
    assert f"{two[1][:8]} without" not in out
    assert f"no metric 'mae' in run(s) {two[1][:8]}: left out" in err
    code, out, err = mlrun("runs", "metric", *two, "mae")
    assert code == 0, err
    assert out.splitlines()[0].split() == ["step", two[0][:8]]
    assert two[1][:8] in err
    code, _, err = mlrun("runs", "plot", *two, "--metric", "nope")
    assert code == 2
    assert "none of the 2 runs has a metric 'nope'; they have: loss, mae" in err
    target = tmp_path / "twice.svg"
    code, _, err = mlrun("runs", "plot", *two, "-m", "loss", "-m", "loss", "-o", str(target))
    assert code == 0, err
    assert target.read_text().count("<polyline") == 2  # one chart, not two


def test_compare_plot_checks_before_printing(two: list[str]) -> None:
    code, out, err = mlrun("runs", "compare", *two, "--plot", "nope")
    assert code == 2
    assert out == ""
    assert "has a metric 'nope'" in err


def test_notes_fit_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {f"validation_metric_with_long_name_{i}": [float(i)] for i in range(6)}
    run = record_run("e", "many", {}, {**names, "loss": [1.0, 0.5, 0.2]})
    monkeypatch.setenv("COLUMNS", "80")
    code, _, err = mlrun("runs", "plot", run)
    assert code == 0, err
    assert "plotting loss" in err
    assert max(len(line) for line in err.splitlines()) <= 80


def test_unknown_experiment_name_names_the_store() -> None:
    record_run("e", "any", {}, {})
    code, _, err = mlrun("experiments", "get", "-x", "9")
    assert code == 2
    store = err.split(" in ", 1)[1].strip()
    code, _, err = mlrun("experiments", "get", "-n", "nope")
    assert code == 2
    assert f"error: no experiment named 'nope' in {store}" in err


def test_plot_option_errors_are_the_only_line(two: list[str]) -> None:
    for args in (("--x", "wallclock"), ("-o", "x.jpg"), ("-o", "nope/x.svg")):
        code, out, err = mlrun("runs", "plot", *two, *args)
        assert (code, out) == (2, "")
        assert len(err.splitlines()) == 1, err
        assert err.startswith("error: ")
