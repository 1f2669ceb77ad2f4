"""Assemble Run records from the runs table and its side tables, many runs per query."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from mlrun_cli.tracking.bulk import collector_paused
from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    DataPinRecord,
    DataRecord,
    Metric,
    Param,
    Run,
    checked_metric,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mlrun_cli.tracking.sql.dialect import Connection, Dialect

RUN_COLUMNS = (
    "run_id, experiment_id, name, status, start_time, end_time, user_id, host, entry_point, "
    "command, exit_code, status_reason, lifecycle_stage, source_kind, source_uri, commit_sha, "
    "dirty, content_hash, subdirectory, env_lock_hash, source_version, snapshot_sha256, "
    "data_fingerprint, data_revision, data_dirty, data_remote, data_pulled, fingerprint, "
    "parent_run_id, run_key"
)


def float_or_nan(value: float | None, is_nan: int) -> float:
    """A stored metric value (NaN is stored as NULL with is_nan = 1)."""
    return math.nan if is_nan or value is None else float(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _rows(
    conn: Connection,
    dialect: Dialect,
    columns: str,
    table: str,
    ids: list[str] | list[int],
    **how: str,
) -> list[Any]:
    """``columns`` of ``table``'s rows for ``ids`` (matched on ``how["on"]``, default
    run_id), in ``how["order"]``: one query, one fetch (not one guarded call per row)."""
    source, arg = dialect.rows_of(table, how.get("on", "run_id"), ids)
    order = f" ORDER BY {how['order']}" if "order" in how else ""
    rows: list[Any] = conn.execute(f"SELECT {columns} FROM {source}{order}", (arg,)).fetchall()
    return rows


# The side tables hang off runs.run_key (schema migration 13): their rows are fetched and
# grouped by it.
def _params(conn: Connection, dialect: Dialect, keys: list[int]) -> dict[int, list[Param]]:
    params: dict[int, list[Param]] = {}
    rows = _rows(conn, dialect, "x.run_key, x.key, x.value, x.type", "params", keys,
                 on="run_key", order="x.run_key, x.key")  # fmt: skip
    for run_key, key, value, kind in rows:
        param = Param(key, value, kind)
        if run_key in params:
            params[run_key].append(param)
        else:
            params[run_key] = [param]
    return params


def _tags(conn: Connection, dialect: Dialect, keys: list[int]) -> dict[int, dict[str, str]]:
    tags: dict[int, dict[str, str]] = {}
    rows = _rows(conn, dialect, "x.run_key, x.key, x.value", "tags", keys, on="run_key")
    for run_key, key, value in rows:
        if run_key in tags:
            tags[run_key][key] = value
        else:
            tags[run_key] = {key: value}
    return tags


def _metrics(conn: Connection, dialect: Dialect, keys: list[int]) -> dict[int, dict[str, Metric]]:
    metrics: dict[int, dict[str, Metric]] = {}
    nan = math.nan
    # NaN is stored as value NULL (with is_nan = 1): the value alone says it.
    rows = _rows(conn, dialect, "x.run_key, x.key, x.value, x.step, x.timestamp",
                 "latest_metrics", keys, on="run_key")  # fmt: skip
    for run_key, key, value, step, stamp in rows:
        metric = checked_metric(key, nan if value is None else value, step, stamp)
        if run_key in metrics:
            metrics[run_key][key] = metric
        else:
            metrics[run_key] = {key: metric}
    return metrics


def _grouped(
    conn: Connection, dialect: Dialect, columns: str, table: str, ids: list[str], **how: str
) -> dict[str, list[tuple[Any, ...]]]:
    """``columns`` of ``table``'s rows for ``ids`` grouped by the first column (the side
    tables most runs have no rows in)."""
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for row in _rows(conn, dialect, columns, table, ids, **how):
        grouped.setdefault(row[0], []).append(row[1:])
    return grouped


def runs_from_rows(
    conn: Connection, dialect: Dialect, rows: Sequence[tuple[Any, ...]], artifact_root: Path
) -> dict[str, Run]:
    """Run records for rows of RUN_COLUMNS, with params, tags, latest metrics, artifacts:
    one query per side table for all the rows."""
    if not rows:
        return {}
    with collector_paused():
        return _runs(conn, dialect, rows, artifact_root)


def _runs(
    conn: Connection, dialect: Dialect, rows: Sequence[tuple[Any, ...]], artifact_root: Path
) -> dict[str, Run]:
    runs: dict[str, Run] = {}
    root = str(artifact_root)
    ids = [str(row[0]) for row in rows]
    keys = [int(row[29]) for row in rows]
    params, tags, metrics = (
        _params(conn, dialect, keys),
        _tags(conn, dialect, keys),
        _metrics(conn, dialect, keys),
    )
    artifacts = _grouped(conn, dialect, "x.run_id, x.path, x.size, x.sha256", "artifacts", ids,
                         order="x.run_id, x.path")  # fmt: skip
    lock_hashes = sorted({str(row[19]) for row in rows if row[19] is not None})
    locks = (
        _grouped(conn, dialect, "x.lock_hash, x.text", "env_locks", lock_hashes, on="lock_hash")
        if lock_hashes
        else {}
    )
    with_data = [str(row[0]) for row in rows if row[22] is not None]
    pins = (
        _grouped(conn, dialect, "x.run_id, x.path, x.md5, x.size, x.nfiles, x.is_output",
                 "data_pins", with_data, order="x.run_id, x.path")
        if with_data
        else {}
    )  # fmt: skip
    for row in rows:
        run_id, run_key = str(row[0]), row[29]
        lock_hash = row[19]
        code = CodeVersion(
            kind=row[13], uri=row[14], commit=row[15],
            dirty=None if row[16] is None else bool(row[16]), content_hash=row[17],
            subdirectory=row[18], version=row[20], snapshot_sha256=row[21],
        )  # fmt: skip
        found = artifacts.get(run_id)
        runs[run_id] = Run(
            run_id=run_id, experiment_id=str(row[1]), name=row[2], status=row[3],
            start_time=row[4], end_time=row[5], user=row[6], host=row[7],
            entry_point=row[8], command=row[9], exit_code=row[10],
            status_reason=row[11], lifecycle_stage=row[12], code=code,
            params=tuple(params.get(run_key, ())), tags=tags.get(run_key) or {},
            metrics=metrics.get(run_key) or {},
            artifacts=tuple(Artifact(p, n, h) for p, n, h in found) if found else (),
            artifact_uri=f"{root}/{run_id}",  # str(artifact_root / run_id), 2 us less
            env_lock_hash=lock_hash,
            env_lock=locks[lock_hash][0][0] if lock_hash in locks else None,
            data=_data_record(row, pins.get(run_id, [])) if row[22] is not None else None,
            fingerprint=row[27], parent_run_id=row[28],
        )  # fmt: skip
    return runs


def _data_record(row: tuple[Any, ...], pins: list[tuple[Any, ...]]) -> DataRecord | None:
    if row[22] is None:
        return None
    return DataRecord(
        fingerprint=str(row[22]),
        pins=tuple(
            DataPinRecord(str(p), str(m), _opt_int(s), _opt_int(n), bool(o))
            for p, m, s, n, o in pins
        ),
        revision=_opt_str(row[23]),
        dirty=bool(row[24]),
        remote=_opt_str(row[25]),
        pulled=tuple(str(row[26]).split("\n")) if row[26] else (),
    )
