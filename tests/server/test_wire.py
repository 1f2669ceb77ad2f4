"""The JSON codec both ends of our API share round-trips every record."""

from __future__ import annotations

import math

from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    DataPinRecord,
    DataRecord,
    EventBatch,
    Metric,
    Param,
    RunCreate,
)
from mlrun_cli.tracking.stores import wire


def test_run_create_round_trips() -> None:
    spec = RunCreate(
        experiment_id="1", name="n", entry_point="main", command="python t.py",
        code=CodeVersion("git", "/p", commit="abc", dirty=False),
        params=(Param("alpha", "0.5", "float"),), tags=(("team", "x"),),
        data=DataRecord("f", pins=(DataPinRecord("d.csv", "m", 3),), pulled=("d.csv",)),
    )  # fmt: skip
    assert wire.run_create_from_json(wire.run_create_to_json(spec)) == spec


def test_batches_carry_nan_and_infinity() -> None:
    batch = EventBatch(
        params=(Param("a", "1"),),
        metrics=(Metric("m", math.inf, 1, 2), Metric("n", 0.5, 0, 1)),
        tags=(("t", "v"),), artifacts=(Artifact("x.txt", 3, "h"),),
    )  # fmt: skip
    back = wire.batch_from_json(wire.batch_to_json(batch))
    assert back == batch
    nan = wire.batch_from_json(
        wire.batch_to_json(EventBatch(metrics=(Metric("m", math.nan, 0, 0),)))
    )
    assert math.isnan(nan.metrics[0].value)
