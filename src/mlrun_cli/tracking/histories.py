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
from typing import TYPE_CHECKING, Any

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
    histories = _histories(store, run_ids, key)
    low, width = _scale(histories, max(1, buckets))
    by_run = _bucketed(histories, low, width)
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
Raw = dict[str, list[tuple[int, int, float]]]  # run id -> (step, timestamp, value), by step


def _bucket_width(low: float, high: float, buckets: int) -> float:
    """1 (every step) while the steps fit in the buckets' points (two per bucket)."""
    span = high - low + 1
    return 1.0 if span <= 2 * buckets else span / buckets


def _histories(store: TrackingStore, run_ids: Sequence[str], key: str) -> Raw:
    """Each run's points: SQL stores read many runs a query."""
    ids = list(dict.fromkeys(run_ids))
    many = getattr(store, "metric_histories", None)
    if many is not None:
        found: Raw = many(ids, key)
        return found
    return {
        run_id: [(m.step, m.timestamp, m.value) for m in store.metric_history(run_id, key)]
        for run_id in ids
    }


def _scale(histories: Raw, buckets: int) -> tuple[int, float]:
    """The lowest step of all the runs, and the bucket width."""
    lows = [points[0][0] for points in histories.values() if points]
    if not lows:
        return 0, 1.0
    high = max(points[-1][0] for points in histories.values() if points)  # sorted by step
    return min(lows), _bucket_width(min(lows), high, buckets)


def _bucketed(histories: Raw, low: int, width: float) -> Points:
    """Per run: (step, min) per step, or (left, min), (left + width / 2, max) per bucket."""
    by_run: Points = {}
    for run_id, history in histories.items():
        grouped: dict[int, list[float]] = {}
        for step, _, value in history:
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
    return by_run


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
    """Like :func:`downsampled_histories`, formatted as JSON array bodies for charts (500 runs
    x 1,000 steps: a history of one point a step is joined whole, no Python loop a point).
    The order of points within a series is not defined."""
    from mlrun_cli.tracking.sql.points import increasing_steps

    ids = list(dict.fromkeys(run_ids))
    columns = getattr(store, "metric_step_columns", None)
    if columns is None:
        return _text_from_series(downsampled_histories(store, ids, key, buckets))
    chunks: dict[str, list[tuple[list[int], Any]]] = columns(ids, key)
    lows = [c[0][0][0] for c in chunks.values()]
    if not lows:
        return 1.0, []
    high = max(max(steps[-1] for steps, _ in c) for c in chunks.values())
    low = min(min(steps[0] for steps, _ in c) for c in chunks.values())
    width = _bucket_width(low, high, max(1, buckets))
    out: list[TextSeries] = []
    for run_id in ids:
        parts = chunks.get(run_id)
        if not parts:
            continue
        steps = [s for part, _ in parts for s in part] if len(parts) > 1 else parts[0][0]
        if width == 1.0 and increasing_steps(steps):  # one point a step: every point as is
            values = [v for _, part in parts for v in part] if len(parts) > 1 else parts[0][1]
            out.append(TextSeries(run_id, _join("%d", steps), _values_text(values)))
            continue
        history = [(s, 0, v) for s, v in zip(steps, (v for _, p in parts for v in p), strict=True)]
        history.sort()
        one = _bucketed({run_id: history}, low, width)[run_id]
        series = Series(run_id, tuple(p[0] for p in one), tuple(p[1] for p in one))
        out.extend(_text_from_series(Histories(key, width, (series,)))[1])
    return width, out


def _join(spec: str, values: Sequence[float]) -> str:
    """Values formatted by one ``%`` operation (no Python call a value)."""
    return ",".join([spec] * len(values)) % tuple(values)


_G6 = "{:.6g}".format


def _values_text(values: Sequence[float]) -> str:
    text = _join("%.6g", values)
    if "n" in text:  # nan or inf somewhere: JSON has neither, they are null
        text = ",".join("null" if v - v != 0 else _G6(v) for v in values)
    return text


def _text_from_series(histories: Histories) -> tuple[float, list[TextSeries]]:
    def text(values: Sequence[float | None]) -> str:
        # JSON has no NaN or Infinity: both are null
        return ",".join("null" if v is None or v - v != 0 else _G6(v) for v in values)

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
