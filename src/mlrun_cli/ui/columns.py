"""Columns of the runs table: what a column id names, its title, its cell and its sort key.

A column id is ``attr:NAME``, ``param:KEY``, ``metric:KEY`` or ``tag:KEY``. Sorting goes through
the search engine's own ``--order-by`` syntax, so the table sorts exactly as ``runs search``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlrun_cli.tracking.models import Run

# attribute -> (title, order-by key or None when not sortable)
ATTRIBUTES: dict[str, tuple[str, str | None]] = {
    "run_name": ("Name", "run_name"),
    "status": ("Status", "status"),
    "start_time": ("Started", "start_time"),
    "duration": ("Duration", None),
    "user_id": ("User", "user_id"),
    "entry_point": ("Entry point", None),
    "commit": ("Commit", "commit"),
    "experiment_id": ("Experiment", "experiment_id"),
    "run_id": ("Run id", "run_id"),
}
DEFAULT_ATTRIBUTES = ("run_name", "status", "start_time", "duration")
ENTITIES = ("param", "metric", "tag")
_ORDER_ENTITY = {"param": "params", "metric": "metrics", "tag": "tags"}


@dataclass(frozen=True)
class Column:
    """One column of the runs table."""

    entity: str  # attr, param, metric, tag
    key: str

    @property
    def id(self) -> str:
        return f"{self.entity}:{self.key}"

    @property
    def title(self) -> str:
        if self.entity == "attr":
            return ATTRIBUTES[self.key][0]
        return self.key

    @property
    def order_key(self) -> str | None:
        """The ``--order-by`` key (without direction), None when the column cannot sort."""
        if self.entity == "attr":
            return ATTRIBUTES[self.key][1]
        return f"{_ORDER_ENTITY[self.entity]}.`{self.key}`"

    @property
    def numeric(self) -> bool:
        return self.entity == "metric" or self.key in ("start_time", "duration")


def parse_column(text: str) -> Column | None:
    """A column from its id; None for an id that names nothing."""
    entity, _, key = text.partition(":")
    if not key or len(key) > 250:
        return None
    if entity == "attr":
        return Column(entity, key) if key in ATTRIBUTES else None
    return Column(entity, key) if entity in ENTITIES else None


def available_columns(runs: Iterable[Run], chosen: Iterable[Column]) -> list[Column]:
    """Every column a picker offers: attributes, then the keys the shown runs carry."""
    keys: dict[str, set[str]] = {entity: set() for entity in ENTITIES}
    for run in runs:
        keys["param"].update(p.key for p in run.params)
        keys["metric"].update(run.metrics)
        keys["tag"].update(k for k in run.tags if not k.startswith("mlflow."))
    for column in chosen:
        if column.entity in keys:
            keys[column.entity].add(column.key)
    columns = [Column("attr", name) for name in ATTRIBUTES]
    for entity in ENTITIES:
        columns += [Column(entity, key) for key in sorted(keys[entity])]
    return columns


def default_columns(runs: list[Run]) -> list[Column]:
    """Name, status, start, duration, then up to 6 params and 6 metrics the runs carry."""
    params: dict[str, None] = {}
    metrics: dict[str, None] = {}
    for run in runs:
        params.update(dict.fromkeys(p.key for p in run.params))
        metrics.update(dict.fromkeys(sorted(run.metrics)))
    columns = [Column("attr", name) for name in DEFAULT_ATTRIBUTES]
    columns += [Column("metric", key) for key in sorted(metrics)[:6]]
    columns += [Column("param", key) for key in sorted(params)[:6]]
    return columns


def format_time(ms: int | None) -> str:
    """Epoch milliseconds as ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def format_duration(start: int | None, end: int | None) -> str:
    """A short duration: ``850ms``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if start is None or end is None:
        return ""
    seconds = max(0, end - start) / 1000
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def format_number(value: float) -> str:
    """A metric value in at most 6 significant digits; NaN and infinities spelled out."""
    if math.isnan(value) or math.isinf(value):
        return repr(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def cell(run: Run, column: Column) -> str:
    """The text of one cell."""
    if column.entity == "param":
        return next((p.value for p in run.params if p.key == column.key), "")
    if column.entity == "metric":
        metric = run.metrics.get(column.key)
        return "" if metric is None else format_number(metric.value)
    if column.entity == "tag":
        return run.tags.get(column.key, "")
    return attribute(run, column.key)


def attribute(run: Run, key: str) -> str:
    """The text of one of mlrun's own attributes."""
    if key == "start_time":
        return format_time(run.start_time)
    if key == "duration":
        return format_duration(run.start_time, run.end_time)
    if key == "commit":
        return (run.code.commit or "")[:10]
    if key == "user_id":
        return run.user
    if key == "entry_point":
        return run.entry_point
    value = getattr(run, {"run_name": "name"}.get(key, key), "")
    return "" if value is None else str(value)
