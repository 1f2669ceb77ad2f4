"""Run fields as named columns (``run_id``, ``params.alpha``, ``metrics.rmse``, ``tags.team``),
shared by the table, CSV and compare views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.cli._output import format_number, format_time

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.models import Run

ATTRIBUTES: dict[str, Callable[[Run], object]] = {
    "run_id": lambda r: r.run_id,
    "run_name": lambda r: r.name,
    "experiment_id": lambda r: r.experiment_id,
    "status": lambda r: r.status,
    "start_time": lambda r: format_time(r.start_time),
    "end_time": lambda r: format_time(r.end_time),
    "user_id": lambda r: r.user,
    "entry_point": lambda r: r.entry_point,
    "commit": lambda r: r.code.commit or "",
    "dirty": lambda r: "" if r.code.dirty is None else str(r.code.dirty).lower(),
    "exit_code": lambda r: "" if r.exit_code is None else str(r.exit_code),
    "env_lock": lambda r: r.env_lock_hash or "",
    "fingerprint": lambda r: r.fingerprint or "",
    "data_fingerprint": lambda r: r.data.fingerprint if r.data else "",
    "artifact_uri": lambda r: r.artifact_uri,
    "parent_run_id": lambda r: r.parent_run_id or "",
}
HASHES = ("commit", "env_lock", "fingerprint", "data_fingerprint")
SHORT_HASH = 12


def short_hash(value: str) -> str:
    """A hash as tables show it: 12 characters (after a ``fp1:`` style prefix)."""
    prefix, sep, rest = value.rpartition(":")
    return f"{prefix}{sep}{rest[:SHORT_HASH]}" if len(rest) > SHORT_HASH else value


def display(run: Run, column: str) -> str:
    """The text of a column in a table: hashes shortened (JSON and CSV keep them whole)."""
    if column == "run_id":
        return run.run_id[:8]
    if column in ("start_time", "end_time"):
        return cell(run, column)[:16]  # to the minute: tables are narrow, JSON/CSV are exact
    text = cell(run, column)
    return short_hash(text) if column in HASHES else text


def cell(run: Run, column: str, *, exact: bool = False) -> str:
    """The text of one column for one run ('' when the run has no such value)."""
    entity, _, key = column.partition(".")
    if entity in ("params", "param") and key:
        return next((p.value for p in run.params if p.key == key), "")
    if entity in ("metrics", "metric") and key:
        metric = run.metrics.get(key)
        if metric is None:
            return ""
        return repr(metric.value) if exact else format_number(metric.value)
    if entity in ("tags", "tag") and key:
        return run.tags.get(key, "")
    getter = ATTRIBUTES.get(column)
    if getter is None:
        from mlrun_cli.errors import UsageError

        raise UsageError(
            f"--columns: unknown column {column!r}; expected params.KEY, metrics.KEY, tags.KEY "
            f"or one of: {', '.join(ATTRIBUTES)}"
        )
    return str(getter(run))


def all_columns(runs: list[Run], *, user_tags_only: bool = True) -> list[str]:
    """Every column the runs have: attributes, then params, metrics and tags by name."""
    params = sorted({p.key for run in runs for p in run.params})
    metrics = sorted({key for run in runs for key in run.metrics})
    tags = sorted(
        {k for run in runs for k in run.tags if not (user_tags_only and k.startswith("mlrun."))}
    )
    return [
        "run_id", "run_name", "experiment_id", "status", "start_time", "end_time",
        *(f"params.{k}" for k in params), *(f"metrics.{k}" for k in metrics),
        *(f"tags.{k}" for k in tags),
    ]  # fmt: skip


def varying_columns(runs: list[Run]) -> list[str]:
    """The params and metrics whose values differ across the runs (all of them for one run)."""
    candidates = [c for c in all_columns(runs) if c.startswith(("params.", "metrics."))]
    if len(runs) < 2:
        return candidates
    return [c for c in candidates if len({cell(run, c) for run in runs}) > 1]
