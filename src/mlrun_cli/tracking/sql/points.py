"""Metric histories stored compactly: a run's points of one key packed into chunks.

One row per chunk of up to ``CHUNK`` points (``metric_chunks``: run key, metric key, seq,
highest step, data; the count and lowest step are read from the data's head) instead of one
row per point with two indexes: ~11 bytes a point instead of ~190
(12 KB per run of 5 metrics x 10 steps before, under 3 KB now), and 100,000 points are ~100
rows to write. ``data`` holds little-endian arrays (see :func:`encode`): steps and timestamps
as differences in the narrowest integer type that fits (usually a byte each), values as
float64 (NaN and infinities as themselves). A chunk's points are sorted by
(step, timestamp); chunks of one key may overlap in steps (points logged out of order).

An identical point (key, value, step, timestamp) is one point, as in MLflow: a batch's points
are checked against the chunks whose step range overlaps theirs (none, for an ingest's new
steps). Small batches (one MLflow ``log_metric`` per request) grow the last chunk while it
holds fewer than ``MERGE_BELOW`` points, so per-point logging does not leave one row a point.
"""

from __future__ import annotations

import math
import sys
from array import array
from itertools import accumulate, pairwise
from math import isnan
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from mlrun_cli.tracking.sql.dialect import Connection

Point = tuple[int, int, float]  # step, timestamp, value
CHUNK = 1024
MERGE_BELOW = 256
_DELTA, _PLAIN = 1, 2
_INT64 = (-(2**63), 2**63 - 1)
_BIG = sys.byteorder == "big"


_WIDTHS = (("b", 1, 2**7), ("h", 2, 2**15), ("i", 4, 2**31), ("q", 8, 2**63))


def _narrowest(deltas: list[int]) -> tuple[str, int]:
    """The smallest signed array type holding every delta (code, width)."""
    low, high = (min(deltas), max(deltas)) if deltas else (0, 0)
    for code, width, limit in _WIDTHS:
        if -limit <= low and high < limit:
            return code, width
    raise OverflowError("a step or time difference beyond 64 bits")


def _packed(code: str, values: Iterable[int] | Iterable[float]) -> bytes:
    packed = array(code, values)
    if _BIG:
        packed.byteswap()
    return packed.tobytes()


def encode(points: Sequence[Point]) -> bytes:
    """Pack points (sorted by the caller) into a chunk's ``data``: the first step and time,
    then each one's difference from the one before in the narrowest integer type that holds
    them all (a byte, for the usual step 1 and a few ms), then the float64 values."""
    steps = [p[0] for p in points]
    stamps = [p[1] for p in points]
    values = _packed("d", [p[2] for p in points])
    step_deltas = [b - a for a, b in pairwise(steps)]
    stamp_deltas = [b - a for a, b in pairwise(stamps)]
    try:
        step_code, _ = _narrowest(step_deltas)
        stamp_code, _ = _narrowest(stamp_deltas)
    except OverflowError:  # steps spanning more than int64 (both ends of the range)
        return bytes([_PLAIN]) + _packed("q", steps) + _packed("q", stamps) + values
    return b"".join([
        bytes([_DELTA, ord(step_code), ord(stamp_code)]), _packed("q", [steps[0], stamps[0]]),
        _packed(step_code, step_deltas), _packed(stamp_code, stamp_deltas), values,
    ])  # fmt: skip


def _unpacked(code: str, data: bytes) -> array[int] | array[float]:
    packed = array(code, data)
    if _BIG:
        packed.byteswap()
    return packed


def _count(data: bytes) -> int:
    """How many points a chunk's ``data`` holds (from its length and difference widths)."""
    if data[0] == _PLAIN:
        return (len(data) - 1) // 24
    step_width, stamp_width = array(chr(data[1])).itemsize, array(chr(data[2])).itemsize
    return (len(data) - 19 + step_width + stamp_width) // (step_width + stamp_width + 8)


def head(data: bytes) -> tuple[int, int]:
    """A chunk's point count and first (lowest) step, without decoding its points."""
    start = 1 if data[0] == _PLAIN else 3
    return _count(data), int(_unpacked("q", bytes(data[start : start + 8]))[0])


def decode(data: bytes) -> list[Point]:
    """The points of a chunk's ``data``, in stored order."""
    return list(zip(*decode_columns(data), strict=True))


def decode_columns(data: bytes) -> tuple[list[int], list[int], array[float]]:
    """A chunk's steps, timestamps and values, in stored order."""
    data = bytes(data)
    count = _count(data)
    if data[0] == _PLAIN:
        ints = _unpacked("q", data[1 : 1 + 16 * count]).tolist()
        return ints[:count], ints[count:], _unpacked("d", data[1 + 16 * count :])  # type: ignore[return-value]
    step_code, stamp_code = chr(data[1]), chr(data[2])
    step_width, stamp_width = array(step_code).itemsize, array(stamp_code).itemsize
    first_step, first_stamp = _unpacked("q", data[3:19])
    at = 19 + (count - 1) * step_width
    step_deltas = _unpacked(step_code, data[19:at])
    stamp_deltas = _unpacked(stamp_code, data[at : at + (count - 1) * stamp_width])
    values = _unpacked("d", data[at + (count - 1) * stamp_width :])
    steps = list(accumulate(step_deltas, initial=first_step))
    stamps = list(accumulate(stamp_deltas, initial=first_stamp))
    return steps, stamps, values  # type: ignore[return-value]


def step_columns(
    conn: Connection, run_ids: Sequence[str], key: str
) -> dict[str, list[tuple[list[int], array[float]]]]:
    """Each run's chunks of one key as (steps, values) columns, in chunk order: charts of
    many long histories without a Python object a point."""
    found: dict[str, list[tuple[list[int], array[float]]]] = {}
    for run_id, data in _chunks(conn, run_ids, key):
        steps, _, values = decode_columns(data)
        found.setdefault(run_id, []).append((steps, values))
    return found


def _chunks(conn: Connection, run_ids: Sequence[str], key: str) -> Iterator[tuple[str, bytes]]:
    """(run id, data) of the chunks of one key of many runs (500 runs a query), each run's
    in chunk order."""
    for start in range(0, len(run_ids), 500):
        chunk = list(run_ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for run_id, data in conn.execute(
            "SELECT r.run_id, c.data FROM runs r JOIN metric_chunks c ON c.run_key = r.run_key "
            f"WHERE c.key = ? AND r.run_id IN ({marks}) ORDER BY c.run_key, c.seq",
            [key, *chunk],
        ).fetchall():
            yield str(run_id), data


def _identity(point: Point) -> tuple[int, int, float | None]:
    """What makes two points the same point (NaN equals NaN here, unlike in floats)."""
    value = point[2]
    return (point[0], point[1], None if math.isnan(value) else value)


def increasing_steps(steps: list[int]) -> bool:
    """Whether every step is larger than the one before (as an ingest logs them): such
    points are sorted and hold no two identical ones. Checked in C, not per point."""
    return len(steps) < 2 or (steps == sorted(steps) and len(set(steps)) == len(steps))


def append_points(conn: Connection, run_key: int, key: str, points: Sequence[Point]) -> int:
    """Store the points of one key not stored yet (inside the caller's write transaction,
    which holds the run's lock); return how many were new."""
    steps = [p[0] for p in points]
    increasing = increasing_steps(steps)
    low, high = (steps[0], steps[-1]) if increasing else (min(steps), max(steps))
    # (a chunk's lowest step is its first: read from its data, not stored twice)
    overlapping = [
        row
        for row in conn.execute(
            "SELECT data FROM metric_chunks WHERE run_key = ? AND key = ? AND max_step >= ?",
            (run_key, key, low),
        ).fetchall()
        if head(row[0])[1] <= high
    ]
    if increasing and not overlapping:  # an ingest's new steps: nothing to compare
        new: Sequence[Point] = points
    else:
        # the first of identical points (reversed: a dict keeps the last one written)
        fresh = {(s, t, None if isnan(v) else v): (s, t, v) for s, t, v in reversed(points)}
        for (data,) in overlapping:
            for stored in decode(data):
                fresh.pop(_identity(stored), None)
        if not fresh:
            return 0
        new = sorted(fresh.values())  # by step, time (then value: the same order either way)
    last = conn.execute(
        "SELECT seq, data FROM metric_chunks WHERE run_key = ? AND key = ? "
        "ORDER BY seq DESC LIMIT 1",
        (run_key, key),
    ).fetchone()
    seq = 0
    rest: Sequence[Point] = new
    if last is not None:
        seq = int(last[0]) + 1
        held = head(last[1])[0]
        if held < MERGE_BELOW:
            take = CHUNK - held
            merged = sorted([*decode(last[1]), *new[:take]], key=lambda p: (p[0], p[1]))
            conn.execute(
                "UPDATE metric_chunks SET max_step = ?, data = ? "
                "WHERE run_key = ? AND key = ? AND seq = ?",
                (merged[-1][0], encode(merged), run_key, key, int(last[0])),
            )
            rest = new[take:]
    insert_chunks(conn, run_key, key, rest, seq)
    return len(new)


def insert_chunks(
    conn: Connection, run_key: int, key: str, points: Sequence[Point], first_seq: int
) -> None:
    """Insert sorted points as new chunks numbered from ``first_seq``."""
    conn.executemany(
        "INSERT INTO metric_chunks (run_key, key, seq, max_step, data) VALUES (?, ?, ?, ?, ?)",
        [chunk_row(run_key, key, first_seq + index, points[start : start + CHUNK])
         for index, start in enumerate(range(0, len(points), CHUNK))],
    )  # fmt: skip


def chunk_row(
    run_key: int, key: str, seq: int, points: Sequence[Point]
) -> tuple[int, str, int, int, bytes]:
    """One ``metric_chunks`` row (run_key, key, seq, max_step, data) for sorted points."""
    return (run_key, key, seq, points[-1][0], encode(points))


def history(conn: Connection, run_id: str, key: str) -> list[Point]:
    """Every stored point of one key of one run, by step then timestamp."""
    points: list[Point] = []
    for (data,) in conn.execute(
        "SELECT c.data FROM runs r JOIN metric_chunks c ON c.run_key = r.run_key "
        "WHERE r.run_id = ? AND c.key = ? ORDER BY c.seq",
        (run_id, key),
    ).fetchall():
        points.extend(decode(data))
    points.sort()  # by step, time (then value)
    return points


def histories(conn: Connection, run_ids: Sequence[str], key: str) -> dict[str, list[Point]]:
    """The histories of one key of many runs (500 runs a query), each by step then time."""
    found: dict[str, list[Point]] = {}
    for run_id, data in _chunks(conn, run_ids, key):
        found.setdefault(run_id, []).extend(decode(data))
    for points in found.values():
        points.sort()  # by step, time (then value); one chunk is sorted already
    return found


def migrate_metrics(conn: Connection) -> None:
    """Migration 9's data step: the per-point ``metrics`` rows become chunks (then the
    migration drops the table). Runs inside the migration's transaction; writes that
    migration's ``metric_chunks`` (run_id, key, seq, min_step, max_step, points, data)."""
    batch: list[tuple[str, str, int, int, int, int, bytes]] = []
    current: tuple[str, str] | None = None
    points: list[Point] = []
    seq = 0

    def flush() -> None:
        nonlocal seq
        if current is not None and points:
            batch.append((current[0], current[1], seq, points[0][0], points[-1][0],
                          len(points), encode(points)))  # fmt: skip
            seq += 1
        points.clear()
        if len(batch) >= 1000 or current is None:
            _insert(conn, batch)

    for run_id, key, value, is_nan, step, stamp in conn.execute(
        "SELECT run_id, key, value, is_nan, step, timestamp FROM metrics "
        "ORDER BY run_id, key, step, timestamp"
    ):
        if (run_id, key) != current:
            flush()
            current, seq = (str(run_id), str(key)), 0
        number = math.nan if is_nan or value is None else float(value)
        points.append((int(step), int(stamp), number))
        if len(points) == CHUNK:
            flush()
    flush()
    _insert(conn, batch)


def _insert(conn: Connection, rows: list[tuple[str, str, int, int, int, int, bytes]]) -> None:
    if rows:
        conn.executemany(
            "INSERT INTO metric_chunks (run_id, key, seq, min_step, max_step, points, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        rows.clear()
