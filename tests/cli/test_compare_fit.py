"""runs compare on a narrow terminal (long field names, five runs) and its JSON (whole
values, null for missing)."""

from __future__ import annotations

import json
import math

import pytest

from tests.cli.helpers import mlrun, record_run

LONG_METRIC = "validation_metric_with_long_name_1"


@pytest.fixture
def five() -> list[str]:
    return [
        record_run(
            "e",
            f"r{i}",
            {"alpha": str(0.1 * i)},
            {LONG_METRIC: [0.2 / (i + 1)], "loss": [1 / 3 + i]},
        )
        for i in range(5)
    ]


def test_field_column_shrinks_before_runs_are_dropped(
    five: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    code, out, _ = mlrun("runs", "compare", "--all", five[0], five[1])
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert five[0][:8] in lines[0]  # at least one run column
    row = next(line for line in lines if "metrics.va" in line)
    assert "…" in row
    assert row.rstrip().endswith(("0.2", "0.1 (-0.1 -50.0%)", "0.1 (-50.0%)", "0.1 (-0.1)", "0.1"))


def test_deltas_are_never_cut_mid_number(five: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = mlrun("runs", "compare", "--all", *five)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    for line in lines:
        if "metrics." in line:
            assert "…)" not in line
            assert "(" not in line or line.count("(") == line.count(")")
            assert not any(cell.endswith("…") for cell in line.split()[2:])


def test_json_carries_whole_values_and_null(five: list[str]) -> None:
    other = record_run("e", "bare", {}, {"loss": [math.pi]})
    code, out, _ = mlrun("runs", "compare", five[0], other, "--json")
    assert code == 0
    rows = {row["field"]: row for row in json.loads(out)["rows"]}
    assert rows["metrics.loss"]["values"] == [1 / 3, math.pi]
    assert rows[f"metrics.{LONG_METRIC}"]["values"] == [0.2, None]
    assert rows["params.alpha"]["values"] == ["0.0", None]
    assert rows["status"]["values"] == ["FINISHED", "FINISHED"]
