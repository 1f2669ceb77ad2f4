"""Metric histories of many runs at once, downsampled per bucket of steps (for charts).

A chart ``W`` pixels wide can show at most ``W`` distinct steps; a 10,000-step history of 500
runs is 5 million points the browser does not need. Each run's history is cut into buckets of
equal step width over the union of the runs' step ranges, and each bucket keeps its minimum and
maximum (the envelope a line chart would draw anyway), so spikes survive downsampling.

SQLite stores are read with one grouped query; any other TrackingStore through
``metric_history``, one run at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.tracking.store import TrackingStore


@dataclass(frozen=True)
class Series:
    """One run's downsampled history: steps and values, in step order (NaN kept as None)."""

    run_id: str
    steps: tuple[float, ...]
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Histories:
    """Downsampled histories of one metric, and the bucket width used (1: raw steps)."""

    key: str
    bucket_width: float
    series: tuple[Series, ...]


def downsampled_histories(
    store: TrackingStore, run_ids: Sequence[str], key: str, buckets: int = 500
) -> Histories:
    """Each run's history of ``key``, at most two points (min, max) per bucket of steps."""
    buckets = max(1, buckets)
    from mlrun_cli.tracking.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        rows = _sqlite_rows(store, run_ids, key, buckets)
    else:
        rows = _protocol_rows(store, run_ids, key, buckets)
    width, by_run = rows
    series = []
    for run_id in run_ids:
        points = by_run.get(run_id, [])
        steps: list[float] = []
        values: list[float | None] = []
        for step, value in points:
            steps.append(step)
            values.append(None if value is None or math.isnan(value) else value)
        series.append(Series(run_id, tuple(steps), tuple(values)))
    return Histories(key, width, tuple(series))


Points = dict[str, list[tuple[float, float | None]]]


def _bucket_width(low: float, high: float, buckets: int) -> float:
    span = high - low + 1
    return 1.0 if span <= buckets else span / buckets


def _sqlite_rows(
    store: object, run_ids: Sequence[str], key: str, buckets: int
) -> tuple[float, Points]:
    conn = store._conn  # type: ignore[attr-defined]  # the store's own connection, read only
    by_run: Points = {}
    ids = list(dict.fromkeys(run_ids))
    low = high = None
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        row = conn.execute(
            f"SELECT MIN(step), MAX(step) FROM metrics WHERE key = ? AND run_id IN ({marks})",
            [key, *chunk],
        ).fetchone()
        if row[0] is not None:
            low = row[0] if low is None else min(low, row[0])
            high = row[1] if high is None else max(high, row[1])
    if low is None or high is None:
        return 1.0, by_run
    width = _bucket_width(low, high, buckets)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        if width == 1.0:
            sql = (
                "SELECT run_id, step, MIN(CASE WHEN is_nan = 0 THEN value END), NULL FROM metrics "
                f"WHERE key = ? AND run_id IN ({marks}) GROUP BY run_id, step "
                "ORDER BY run_id, step"
            )
            args: list[object] = [key, *chunk]
        else:
            sql = (
                "SELECT run_id, CAST((step - ?) / ? AS INTEGER) AS b, "
                "MIN(CASE WHEN is_nan = 0 THEN value END), "
                "MAX(CASE WHEN is_nan = 0 THEN value END) FROM metrics "
                f"WHERE key = ? AND run_id IN ({marks}) GROUP BY run_id, b ORDER BY run_id, b"
            )
            args = [low, width, key, *chunk]
        for run_id, bucket, least, most in conn.execute(sql, args):
            points = by_run.setdefault(run_id, [])
            if width == 1.0:
                points.append((float(bucket), least))
                continue
            left = low + bucket * width
            points.append((left, least))
            if most != least:
                points.append((left + width / 2, most))
    return width, by_run


def _protocol_rows(
    store: TrackingStore, run_ids: Sequence[str], key: str, buckets: int
) -> tuple[float, Points]:
    histories = {run_id: store.metric_history(run_id, key) for run_id in dict.fromkeys(run_ids)}
    steps = [m.step for history in histories.values() for m in history]
    if not steps:
        return 1.0, {}
    low, high = min(steps), max(steps)
    width = _bucket_width(low, high, buckets)
    by_run: Points = {}
    for run_id, history in histories.items():
        grouped: dict[int, list[float]] = {}
        for metric in history:
            index = int((metric.step - low) // width) if width != 1.0 else metric.step
            grouped.setdefault(index, [])
            if not math.isnan(metric.value):
                grouped[index].append(metric.value)
        points: list[tuple[float, float | None]] = []
        for index in sorted(grouped):
            values = grouped[index]
            least = min(values) if values else None
            if width == 1.0:
                points.append((float(index), least))
                continue
            most = max(values) if values else None
            left = low + index * width
            points.append((left, least))
            if most != least:
                points.append((left + width / 2, most))
        by_run[run_id] = points
    return width, by_run
