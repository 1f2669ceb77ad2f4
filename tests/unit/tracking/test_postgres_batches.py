"""Large batches on both backends: PostgreSQL sends many rows per statement (and a plain
INSERT as a COPY); the points read back are the same as SQLite's, odd values included."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.tracking.models import CodeVersion, EventBatch, Metric, Param, RunCreate
from tests.unit.tracking.conftest import BACKENDS, open_backend

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from mlrun_cli.tracking.sql.store import SqlStore


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_backend(request.param, request, tmp_path / "s")
    yield opened
    opened.close()


ODD = [math.inf, -math.inf, math.nan, 0.0, -0.0, 1e308, 5e-324, 0.1]


def test_a_big_batch_with_odd_values_reads_back_exactly(store: SqlStore) -> None:
    run = store.create_run(RunCreate("0", "r", "main", "x", CodeVersion("local", "/p")))
    points = [Metric("m/é ü", ODD[i % len(ODD)], i, 2**62 + i) for i in range(2500)]
    params = tuple(Param(f"p{i}", f"v'{i}%?") for i in range(300))
    store.log_batch(run.run_id, EventBatch(params=params, metrics=tuple(points)), (0, 10))
    store.log_batch(run.run_id, EventBatch(metrics=tuple(points)), (0, 10))  # a retry
    history = store.metric_history(run.run_id, "m/é ü")
    assert len(history) == 2500
    for got, sent in zip(history, points, strict=True):
        assert (got.step, got.timestamp) == (sent.step, sent.timestamp)
        assert got.value == sent.value or (math.isnan(got.value) and math.isnan(sent.value))
    recorded = store.get_run(run.run_id)
    assert {p.key: p.value for p in recorded.params}["p299"] == "v'299%?"
