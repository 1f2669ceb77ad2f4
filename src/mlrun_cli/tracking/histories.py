"""Metric histories of many runs at once, downsampled per bucket of steps (for charts).

A chart ``W`` pixels wide can show at most ``W`` distinct steps; a 10,000-step history of 500
runs is 5 million points the browser does not need. Each run's history is cut into buckets of
equal step width over the union of the runs' step ranges, and each bucket keeps its minimum and
maximum (the envelope a line chart would draw anyway), so spikes survive downsampling.

SQL stores are read many runs a query (``metric_histories``); any other TrackingStore
through ``metric_history``, one run at a time.
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
    width, by_run = _bucketed(_histories(store, run_ids, key), max(1, buckets))
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
    """1 (every step) while the steps fit in the buckets' points (two per bucket)."""
    span = high - low + 1
    return 1.0 if span <= 2 * buckets else span / buckets


def _histories(
    store: TrackingStore, run_ids: Sequence[str], key: str
) -> dict[str, list[tuple[int, float]]]:
    """(step, value) of each run's points: SQL stores read many runs a query."""
    ids = list(dict.fromkeys(run_ids))
    many = getattr(store, "metric_histories", None)
    if many is not None:
        found: dict[str, list[tuple[int, int, float]]] = many(ids, key)
        return {run_id: [(s, v) for s, _, v in points] for run_id, points in found.items()}
    return {
        run_id: [(m.step, m.value) for m in store.metric_history(run_id, key)] for run_id in ids
    }


def _bucketed(histories: dict[str, list[tuple[int, float]]], buckets: int) -> tuple[float, Points]:
    """Per run: (step, min) per step, or (left, min), (left + width / 2, max) per bucket."""
    lows = [points[0][0] for points in histories.values() if points]
    if not lows:
        return 1.0, {}
    low = min(lows)
    high = max(max(s for s, _ in points) for points in histories.values() if points)
    width = _bucket_width(low, high, buckets)
    by_run: Points = {}
    for run_id, history in histories.items():
        grouped: dict[int, list[float]] = {}
        for step, value in history:
            index = step if width == 1.0 else int((step - low) // width)
            values = grouped.get(index)
            if values is None:
                values = grouped[index] = []
            if not math.isnan(value):
                values.append(value)
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
            points.append((left + width / 2, most))
        by_run[run_id] = points
    return width, by_run


@dataclass(frozen=True)
class TextSeries:
    """One run's downsampled history as JSON array bodies (``1,2,3``), for charts.

    ``x`` are steps (or bucket starts); ``y`` the values at them (``null`` for NaN); with
    buckets, ``high`` holds each bucket's maximum, drawn at ``x + bucket_width / 2``.
    """

    run_id: str
    x: str
    y: str
    high: str | None = None


def histories_text(
    store: TrackingStore, run_ids: Sequence[str], key: str, buckets: int = 500
) -> tuple[float, list[TextSeries]]:
    """Like :func:`downsampled_histories`, formatted as JSON array bodies for charts."""
    return _text_from_series(downsampled_histories(store, run_ids, key, buckets))


def _text_from_series(histories: Histories) -> tuple[float, list[TextSeries]]:
    def text(values: Sequence[float | None]) -> str:
        # JSON has no NaN or Infinity: both are null
        return ",".join("null" if v is None or v - v != 0 else f"{v:.6g}" for v in values)

    def steps(values: Sequence[float]) -> str:
        return ",".join(str(int(v)) if v.is_integer() else repr(v) for v in values)

    out = []
    for series in histories.series:
        if not series.steps:
            continue
        if histories.bucket_width == 1.0:
            out.append(TextSeries(series.run_id, steps(series.steps), text(series.values)))
        else:  # (left, min), (left + width / 2, max) pairs
            out.append(TextSeries(series.run_id, steps(series.steps[::2]),
                                  text(series.values[::2]), text(series.values[1::2])))  # fmt: skip
    return histories.bucket_width, out
