"""The store's records behave as the frozen dataclasses they replaced (tracking/record.py)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import uuid
from pathlib import Path

import pytest

from mlrun_cli.tracking.models import (
    CodeVersion,
    DataPinRecord,
    DataRecord,
    Experiment,
    Metric,
    Param,
    RunCreate,
    checked_metric,
    new_run_id,
)
from mlrun_cli.tracking.store import StoreLocation


def test_fields_in_order_compared_hashed_and_shown_by_value() -> None:
    assert Param.__slots__ == ("key", "value", "type")
    assert Param("a", "1") == Param("a", "1", None)
    assert Param("a", "1") != Param("a", "2")
    assert Param("a", "1") != ("a", "1", None)  # a record is no tuple
    assert Metric("loss", 0.5, 1, 2) != Param("loss", "0.5")
    assert hash(Param("a", "1")) == hash(Param("a", "1"))
    assert len({Param("a", "1"), Param("a", "1"), Param("b", "1")}) == 2
    assert repr(Param("a", "1")) == "Param(key='a', value='1', type=None)"


def test_frozen_as_a_frozen_dataclass_is() -> None:
    metric = Metric("loss", 0.5, 1, 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric.value = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del metric.key  # type: ignore[misc]
    with pytest.raises(AttributeError):
        metric.other = 1  # type: ignore[attr-defined]


def test_dataclasses_functions_accept_records() -> None:
    code = CodeVersion("git", "https://example.invalid/r.git", commit="abc")
    assert dataclasses.is_dataclass(code)
    assert [f.name for f in dataclasses.fields(code)] == list(CodeVersion.__slots__)
    assert dataclasses.replace(code, dirty=True) == CodeVersion(
        "git", "https://example.invalid/r.git", commit="abc", dirty=True
    )
    data = DataRecord("fp", pins=(DataPinRecord("d", "m"),))
    assert dataclasses.asdict(data)["pins"] == (
        {"path": "d", "md5": "m", "size": None, "nfiles": None, "is_output": True},
    )


def test_mutable_defaults_are_fresh_and_pickle_and_copy_keep_values() -> None:
    first, second = Experiment("1", "a", "active", 1, 2), Experiment("2", "b", "active", 1, 2)
    assert first.tags == {}
    assert first.tags is not second.tags
    assert pickle.loads(pickle.dumps(first)) == first  # noqa: S301 - our own bytes
    assert copy.deepcopy(first) == first
    assert copy.copy(first) == first


def test_run_ids_are_uuid4_hex() -> None:
    for _ in range(200):
        value = uuid.UUID(hex=new_run_id())
        assert value.version == 4
        assert value.variant == uuid.RFC_4122
    code = CodeVersion("local", "/p")
    assert len(RunCreate("0", "n", "main", "true", code).run_id) == 32
    assert RunCreate("0", "n", "main", "true", code, run_id="x" * 32).run_id == "x" * 32


def test_checked_metric_is_a_metric() -> None:
    fast = checked_metric("loss", 0.5, 3, 4)
    assert type(fast) is Metric
    assert fast == Metric("loss", 0.5, 3, 4)


def test_the_made_constructor_binds_as_a_dataclass_one() -> None:
    db, root = Path("/s/mlrun.db"), Path("/s/artifacts")
    assert StoreLocation(db, root, "default").remote is None
    assert StoreLocation(db, root, source="x", database="pg") == StoreLocation(
        db, root, "x", None, "pg"
    )
    with pytest.raises(TypeError, match="missing argument 'source'"):
        StoreLocation(db, root)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="got no argument 'nope'"):
        StoreLocation(db, root, "x", nope=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="two values for 'source'"):
        StoreLocation(db, root, "x", source="y")  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 5 arguments"):
        StoreLocation(db, root, "x", None, None, 6)  # type: ignore[call-arg]


def test_a_record_extends_no_other_record_with_fields() -> None:
    with pytest.raises(TypeError, match="extends no other record"):

        class Longer(Param):
            extra: str
