"""The JSON our API exchanges for the store's records (standard library only).

Shared by the server (``server/api_v1.py``) and its client (``rest.py``): one codec, so both
ends always agree. NaN and infinities travel as strings (JSON has no literal for them).
"""

from __future__ import annotations

import math
from dataclasses import asdict, fields
from typing import Any

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    DataPinRecord,
    DataRecord,
    EventBatch,
    Experiment,
    Metric,
    Param,
    Run,
    RunCreate,
    check_run_id,
    checked_metric,
)


def number(value: float) -> float | str:
    """A float as JSON can carry it."""
    return repr(value) if math.isnan(value) or math.isinf(value) else value


def to_float(value: object) -> float:
    """The inverse of :func:`number`."""
    return float(value)  # type: ignore[arg-type]  # float() parses "nan", "inf", "-inf"


def run_create_to_json(spec: RunCreate) -> dict[str, Any]:
    """A RunCreate as JSON."""
    return asdict(spec)


def run_create_from_json(data: dict[str, Any]) -> RunCreate:
    """The inverse of :func:`run_create_to_json` (unknown keys refused by the dataclass)."""
    fields = dict(data)
    for key in ("run_id", "parent_run_id"):
        if fields.get(key) is not None:
            check_run_id(fields[key], key)
    fields["code"] = CodeVersion(**fields["code"])
    fields["params"] = tuple(Param(**p) for p in fields.get("params") or ())
    fields["tags"] = tuple((str(k), str(v)) for k, v in fields.get("tags") or ())
    fields["data"] = _data_from_json(fields.get("data"))
    return RunCreate(**fields)


def _data_from_json(data_record: dict[str, Any] | None) -> DataRecord | None:
    if data_record is None:
        return None
    record = dict(data_record)
    record["pins"] = tuple(DataPinRecord(**p) for p in record.get("pins") or ())
    record["pulled"] = tuple(record.get("pulled") or ())
    return DataRecord(**record)


_FIELDS: dict[type, tuple[str, ...]] = {}


def _shallow(record: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, one level (``asdict`` deep-copies: 0.35 ms a run)."""
    names = _FIELDS.get(type(record))
    if names is None:
        names = _FIELDS[type(record)] = tuple(f.name for f in fields(record))
    return {name: getattr(record, name) for name in names}


def run_to_wire(run: Run) -> dict[str, Any]:
    """A Run, every field (not the documented JSON: that one drops what only mlrun reads)."""
    data = _shallow(run)
    data["code"] = _shallow(run.code)
    data["params"] = [_shallow(p) for p in run.params]
    data["tags"] = dict(run.tags)
    data["metrics"] = {k: [number(m.value), m.step, m.timestamp] for k, m in run.metrics.items()}
    data["artifacts"] = [_shallow(a) for a in run.artifacts]
    if run.data is not None:
        data["data"] = {**_shallow(run.data), "pins": [_shallow(p) for p in run.data.pins],
                        "pulled": list(run.data.pulled)}  # fmt: skip
    return data


def run_from_wire(data: dict[str, Any]) -> Run:
    """The inverse of :func:`run_to_wire`."""
    fields = dict(data)
    fields["code"] = CodeVersion(**fields["code"])
    fields["params"] = tuple(Param(**p) for p in fields.get("params") or ())
    fields["metrics"] = {
        k: Metric(k, to_float(v), int(s), int(t)) for k, (v, s, t) in fields["metrics"].items()
    }
    fields["artifacts"] = tuple(Artifact(**a) for a in fields.get("artifacts") or ())
    fields["data"] = _data_from_json(fields.get("data"))
    return Run(**fields)


def batch_to_json(batch: EventBatch) -> dict[str, Any]:
    """An EventBatch as compact JSON (metrics as [key, value, step, timestamp])."""
    return {
        "params": [[p.key, p.value, p.type] for p in batch.params],
        "metrics": [[m.key, number(m.value), m.step, m.timestamp] for m in batch.metrics],
        "tags": [list(t) for t in batch.tags],
        "artifacts": [[a.path, a.size, a.sha256] for a in batch.artifacts],
    }


def batch_from_json(data: dict[str, Any]) -> EventBatch:
    """The inverse of :func:`batch_to_json`, for a batch a client sent: every key, value,
    step, timestamp and path checked as the training-code client checks them (the server
    trusts no client); UsageError naming the first bad one."""
    from mlrun_cli.artifacts.run import relative_path
    from mlrun_cli.tracking import client

    keys: set[str] = set()

    def key_of(kind: str, key: object) -> str:
        if type(key) is str and key in keys:
            return key
        keys.add(client.validate_key(kind, key))
        return str(key)

    def value_of(key: str, value: object) -> float:
        if isinstance(value, str) and value in ("nan", "inf", "-inf"):
            return float(value)  # how JSON carries them (number())
        return client.metric_value(key, value)

    params: list[Param] = []
    metrics: list[Metric] = []
    tags: list[tuple[str, str]] = []
    artifacts: list[Artifact] = []
    try:
        for raw, value, kind in data.get("params") or ():
            key = key_of("param", raw)
            text = client.text_value("param", key, value, client.MAX_PARAM_VALUE_LENGTH)
            declared = None if kind is None else client.text_value("param type", key, kind, 64)
            params.append(Param(key, text, declared))
        for raw, value, step, stamp in data.get("metrics") or ():
            key = key_of("metric", raw)
            metrics.append(checked_metric(key, value_of(key, value), client.step_value(step),
                                          client.timestamp_ms(stamp)))  # fmt: skip
        for raw, value in data.get("tags") or ():
            key = key_of("tag", raw)
            tags.append((key, client.text_value("tag", key, value, client.MAX_TAG_VALUE_LENGTH)))
        for path, size, digest in data.get("artifacts") or ():
            relative = relative_path(client.unicode_text("artifact path", str(path)))
            digest_text = client.unicode_text("artifact hash", str(digest))
            artifacts.append(Artifact(relative, _size(path, size), digest_text))
    except (ValueError, TypeError) as exc:  # a wrong shape, or the client's own checks
        raise UsageError(f"event batch: {exc}") from None
    return EventBatch(params=tuple(params), metrics=tuple(metrics), tags=tuple(tags),
                      artifacts=tuple(artifacts))  # fmt: skip


def _size(path: object, size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"artifact {path!r}: size {size!r} is not a byte count")
    return size


def experiment_from_json(data: dict[str, Any]) -> Experiment:
    """An Experiment from its documented JSON form."""
    return Experiment(
        experiment_id=str(data["experiment_id"]),
        name=str(data["name"]),
        lifecycle_stage=str(data["lifecycle_stage"]),
        creation_time=int(data["creation_time"]),
        last_update_time=int(data["last_update_time"]),
        tags=dict(data.get("tags") or {}),
    )
