"""The JSON codec both ends of our API share round-trips every record."""

from __future__ import annotations

import math
import re

import pytest

from mlrun_cli.errors import UsageError
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


@pytest.mark.parametrize(
    ("batch", "named"),
    [
        ({"metrics": [["", 1.0, 0, 1]]}, "metric key must be a non-empty string"),
        ({"metrics": [["a b\n", 1.0, 0, 1]]}, "metric key 'a b\\n'"),
        ({"metrics": [["m", "1.5", 0, 1]]}, "metric 'm': expected a number"),
        ({"metrics": [["m", 1.0, 2**70, 1]]}, "step 1180591620717411303424 is out of range"),
        ({"metrics": [["m", 1.0, 0, -5]]}, "timestamp -5 is out of range"),
        ({"params": [["p", "x" * 6001, None]]}, "param 'p': value longer than 6000"),
        ({"tags": [["../t", "v"]]}, "tag key '../t'"),
        ({"artifacts": [["../../etc/passwd", 3, "h"]]}, "'.' and '..' are not allowed"),
        ({"artifacts": [["a.txt", -1, "h"]]}, "size -1 is not a byte count"),
        ({"metrics": [["m", 1.0]]}, "event batch: not enough values"),
    ],
)
def test_a_batch_from_a_client_is_checked_as_the_client_checks(
    batch: dict[str, object], named: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(named)):
        wire.batch_from_json(batch)
