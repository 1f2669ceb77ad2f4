"""What MLflow's REST API exchanges: requests, responses, errors, and the JSON of its entities.

Shapes follow MLflow's protos (``mlflow/protos/service.proto``, ``model_registry.proto``,
``mlflow_artifacts.proto``): field names, enum values as strings, int64 times in milliseconds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Experiment, Run

API = "/api/2.0/mlflow"
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
ARTIFACT_SCHEME = "mlflow-artifacts:"

# MLflow's error codes and the HTTP status its server answers them with.
ERROR_STATUS = {
    "INVALID_PARAMETER_VALUE": 400,
    "BAD_REQUEST": 400,
    "RESOURCE_ALREADY_EXISTS": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "RESOURCE_DOES_NOT_EXIST": 404,
    "ENDPOINT_NOT_FOUND": 404,
    "INVALID_STATE": 500,
    "INTERNAL_ERROR": 500,
    "TEMPORARILY_UNAVAILABLE": 503,
}


class MlflowError(Exception):
    """An error answered as MLflow does: ``{"error_code": ..., "message": ...}``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status MLflow's server uses for this error code."""
        return ERROR_STATUS.get(self.error_code, 500)


def invalid(message: str) -> MlflowError:
    """MLflow's INVALID_PARAMETER_VALUE."""
    return MlflowError("INVALID_PARAMETER_VALUE", message)


def missing(message: str) -> MlflowError:
    """MLflow's RESOURCE_DOES_NOT_EXIST."""
    return MlflowError("RESOURCE_DOES_NOT_EXIST", message)


@dataclass(frozen=True)
class Request:
    """One HTTP request, already split: path without query, query values, raw body."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    # An upload too large to hold in memory: read ``length`` bytes from ``stream`` instead.
    stream: BinaryIO | None = None
    length: int = 0

    def params(self) -> dict[str, Any]:
        """The request's fields: the JSON body, or the query string (GET and DELETE)."""
        fields: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in self.query.items()}
        if self.body and self.method in ("POST", "PATCH", "DELETE"):
            try:
                loaded = json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                raise invalid("the request body is not valid JSON") from None
            if not isinstance(loaded, dict):
                raise invalid("the request body must be a JSON object")
            fields.update(loaded)
        return fields


@dataclass(frozen=True)
class Response:
    """A JSON body (``body``) or a file's bytes (``file``), with an HTTP status."""

    status: int = 200
    body: dict[str, Any] | None = None
    file: Path | None = None

    def json_bytes(self) -> bytes:
        """The body as JSON (NaN and infinities as MLflow's clients parse them)."""
        return json.dumps(self.body or {}).encode()


def error_response(error: MlflowError) -> Response:
    """MLflow's error JSON with its status."""
    return Response(error.status, {"error_code": error.error_code, "message": error.message})


def required(fields: dict[str, Any], *names: str) -> str:
    """The first of ``names`` present (MLflow accepts run_uuid for run_id), as a string."""
    for name in names:
        value = fields.get(name)
        if value not in (None, ""):
            return str(value)
    raise invalid(f"Missing value for required parameter '{names[0]}'.")


def number(value: Any, name: str) -> float:
    """A double field: a JSON number or MLflow's spelling of NaN and the infinities."""
    if isinstance(value, bool):
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise invalid(
            f"Invalid value {value!r} for parameter '{name}': expected a number"
        ) from None


def integer(value: Any, name: str, default: int) -> int:
    """An int64 field (JSON numbers or strings, as protobuf's JSON mapping allows)."""
    if value in (None, ""):
        return default
    try:
        result = int(value)
    except (TypeError, ValueError):
        raise invalid(
            f"Invalid value {value!r} for parameter '{name}': expected an integer"
        ) from None
    if not -(2**63) <= result < 2**63:
        raise invalid(f"Invalid value {value!r} for parameter '{name}': out of int64 range")
    return result


def key_values(items: Any, name: str) -> list[tuple[str, str]]:
    """A repeated ``{key, value}`` field."""
    if items in (None, ""):
        return []
    if not isinstance(items, list):
        raise invalid(f"Invalid value for parameter '{name}': expected a list")
    pairs = []
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise invalid(f"Invalid value for parameter '{name}': expected {{key, value}} items")
        pairs.append((str(item["key"]), "" if item.get("value") is None else str(item["value"])))
    return pairs


def artifact_uri(run_id: str, sub: str = "") -> str:
    """The URI MLflow clients resolve against the tracking server to reach a run's files."""
    return f"{ARTIFACT_SCHEME}/{run_id}" + (f"/{sub}" if sub else "")


def metric_json(key: str, value: float, step: int, timestamp: int) -> dict[str, Any]:
    """A Metric message; NaN and infinities as the strings protobuf's JSON mapping uses."""
    if math.isnan(value):
        shown: float | str = "NaN"
    elif math.isinf(value):
        shown = "Infinity" if value > 0 else "-Infinity"
    else:
        shown = value
    return {"key": key, "value": shown, "step": step, "timestamp": timestamp}


def run_info_json(run: Run) -> dict[str, Any]:
    """A RunInfo message."""
    info: dict[str, Any] = {
        "run_id": run.run_id,
        "run_uuid": run.run_id,
        "run_name": run.name,
        "experiment_id": run.experiment_id,
        "user_id": run.user,
        "status": run.status,
        "start_time": run.start_time,
        "artifact_uri": artifact_uri(run.run_id),
        "lifecycle_stage": run.lifecycle_stage,
    }
    if run.end_time is not None:
        info["end_time"] = run.end_time
    return info


def run_json(run: Run) -> dict[str, Any]:
    """A Run message: info, data (latest metrics, params, tags), empty inputs."""
    tags = dict(run.tags)
    tags.setdefault("mlflow.runName", run.name)
    if run.parent_run_id:
        tags.setdefault("mlflow.parentRunId", run.parent_run_id)
    return {
        "info": run_info_json(run),
        "data": {
            "metrics": [
                metric_json(m.key, m.value, m.step, m.timestamp) for m in run.metrics.values()
            ],
            "params": [{"key": p.key, "value": p.value} for p in run.params],
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
        },
        "inputs": {},
    }


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    """An Experiment message."""
    return {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "artifact_location": ARTIFACT_SCHEME + "/",
        "lifecycle_stage": experiment.lifecycle_stage,
        "creation_time": experiment.creation_time,
        "last_update_time": experiment.last_update_time,
        "tags": [{"key": k, "value": v} for k, v in sorted(experiment.tags.items())],
    }
