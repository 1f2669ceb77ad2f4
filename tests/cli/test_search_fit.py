"""runs search on a narrow terminal with long metric and param names: every column named in
--filter/--order-by shown (headers cut in their middle), metrics not pushed out by params."""

from __future__ import annotations

import pytest

from mlrun_cli.cli._table import Table, dropped_note
from tests.cli.helpers import mlrun, record_run

METRICS = [f"validation_metric_with_long_name_{i}" for i in range(4)]


@pytest.fixture
def runs() -> list[str]:
    return [
        record_run(
            "e",
            f"run{i}",
            {f"extra_param_{k}": str(i * k) for k in range(12)},
            {m: [0.1 * i + j] for j, m in enumerate(METRICS)},
        )
        for i in range(3)
    ]


def test_named_columns_fit_80(runs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    where = " and ".join(f"metrics.{m} >= 0" for m in METRICS[1:])
    code, out, err = mlrun(
        "runs", "search", "--order-by", f"metrics.{METRICS[0]} DESC", "--filter", where
    )
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = lines[0]
    assert header.count("metrics.") == len(METRICS)  # all named columns are shown
    assert all(m[-1] in header for m in METRICS)
    assert "0.2" in lines[1]  # values are never cut


def test_headers_cut_in_middle_and_metrics_kept(
    runs: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, err = mlrun("runs", "search")
    assert code == 0, err
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 200
    headers = lines[0].split()
    params = [h for h in headers if "param" in h]
    assert len(set(params)) == len(params)  # still distinguishable
    assert any("metric" in h for h in headers)
    assert "--columns" in err


def test_dropped_note_fits() -> None:
    note = dropped_note(["metrics." + "x" * 120, "b"], 60)
    assert len("mlrun: " + note) <= 60
    assert "--columns" in note
    table = Table(["a", "params.extra_param_10", "params.extra_param_11"], fixed={1, 2})
    table.add_row("x", "1", "2")
    first, *_ = table.render(colour=False, width=20).splitlines()
    assert len(first) <= 20


def test_run_names_keep_16_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {f"extra_param_{k}": str(k) for k in range(8)}
    record_run("e", "run_" + "n" * 86, names, {"loss": [0.5]})
    record_run("e", "other_" + "n" * 84, {k: v + "1" for k, v in names.items()}, {"loss": [0.4]})
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = mlrun("runs", "search")
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "run_nnnnnnnnnnnn" in lines[2] or "run_nnnnnnnnnnnn" in lines[1]
    assert "metrics.loss" in lines[0]  # metrics get their turn before more params


def test_a_sweep_at_80_columns_shows_a_param_and_a_metric_before_the_start_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i, alpha in enumerate(("0.1", "0.7", "1.2")):
        record_run("sweep80", f"steady-falcon-30{i}", {"alpha": alpha, "l1_ratio": alpha},
                   {"mae": [0.4 + i / 10], "rmse": [0.5 + i / 10]})  # fmt: skip
    monkeypatch.setenv("COLUMNS", "80")
    _, out, err = mlrun("runs", "search", "--experiment-name", "sweep80")
    header = out.splitlines()[0].split()
    assert {"params.alpha", "metrics.mae"} <= set(header), out
    assert "start_time" in err  # named among the dropped columns
