"""Assemble Run records from the runs table and its side tables, many runs per query."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from mlrun_cli.tracking.models import (
    Artifact,
    CodeVersion,
    DataPinRecord,
    DataRecord,
    Metric,
    Param,
    Run,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mlrun_cli.tracking.sql.dialect import Connection

RUN_COLUMNS = (
    "run_id, experiment_id, name, status, start_time, end_time, user_id, host, entry_point, "
    "command, exit_code, status_reason, lifecycle_stage, source_kind, source_uri, commit_sha, "
    "dirty, content_hash, subdirectory, env_lock_hash, source_version, snapshot_sha256, "
    "data_fingerprint, data_revision, data_dirty, data_remote, data_pulled, fingerprint, "
    "parent_run_id"
)
_CHUNK = 500


def float_or_nan(value: float | None, is_nan: int) -> float:
    """A stored metric value (NaN is stored as NULL with is_nan = 1)."""
    return math.nan if is_nan or value is None else float(value)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _grouped(conn: Connection, sql: str, ids: list[str]) -> dict[str, list[tuple[object, ...]]]:
    marks = ", ".join("?" for _ in ids)
    grouped: dict[str, list[tuple[object, ...]]] = defaultdict(list)
    # fetchall: one guarded call per query, not one per row (a page of 1,000 runs is ~15,000)
    for row in conn.execute(sql.format(marks=marks), ids).fetchall():
        grouped[row[0]].append(row[1:])
    return grouped


def runs_from_rows(
    conn: Connection, rows: Sequence[tuple[object, ...]], artifact_root: Path
) -> dict[str, Run]:
    """Run records for rows of RUN_COLUMNS, with params, tags, latest metrics, artifacts."""
    runs: dict[str, Run] = {}
    root = str(artifact_root)
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        ids = [str(row[0]) for row in chunk]
        params = _grouped(conn, "SELECT run_id, key, value, type FROM params "
                          "WHERE run_id IN ({marks}) ORDER BY key", ids)  # fmt: skip
        tags = _grouped(conn, "SELECT run_id, key, value FROM tags WHERE run_id IN ({marks})", ids)
        metrics = _grouped(conn, "SELECT run_id, key, value, is_nan, step, timestamp "
                           "FROM latest_metrics WHERE run_id IN ({marks})", ids)  # fmt: skip
        artifacts = _grouped(conn, "SELECT run_id, path, size, sha256 FROM artifacts "
                             "WHERE run_id IN ({marks}) ORDER BY path", ids)  # fmt: skip
        lock_hashes = sorted({str(row[19]) for row in chunk if row[19] is not None})
        locks = (
            _grouped(conn, "SELECT lock_hash, text FROM env_locks WHERE lock_hash IN ({marks})",
                     lock_hashes)
            if lock_hashes
            else {}
        )  # fmt: skip
        pins = _grouped(conn, "SELECT run_id, path, md5, size, nfiles, is_output FROM data_pins "
                        "WHERE run_id IN ({marks}) ORDER BY path", ids)  # fmt: skip
        for row in chunk:
            run_id = str(row[0])
            lock_hash = _opt_str(row[19])
            runs[run_id] = Run(
                run_id=run_id,
                experiment_id=str(row[1]),
                name=str(row[2]),
                status=str(row[3]),
                start_time=int(str(row[4])),
                end_time=_opt_int(row[5]),
                user=str(row[6]),
                host=str(row[7]),
                entry_point=str(row[8]),
                command=str(row[9]),
                exit_code=_opt_int(row[10]),
                status_reason=_opt_str(row[11]),
                lifecycle_stage=str(row[12]),
                code=CodeVersion(
                    kind=str(row[13]),
                    uri=str(row[14]),
                    commit=_opt_str(row[15]),
                    dirty=None if row[16] is None else bool(row[16]),
                    content_hash=_opt_str(row[17]),
                    subdirectory=str(row[18]),
                    version=_opt_str(row[20]),
                    snapshot_sha256=_opt_str(row[21]),
                ),
                params=tuple(Param(str(k), str(v), _opt_str(t)) for k, v, t in params[run_id]),
                tags={str(k): str(v) for k, v in tags[run_id]},
                metrics={
                    str(k): Metric(str(k), float_or_nan(v, int(str(n))), int(str(s)), int(str(t)))  # type: ignore[arg-type]
                    for k, v, n, s, t in metrics[run_id]
                },
                artifacts=tuple(
                    Artifact(str(p), int(str(n)), str(h)) for p, n, h in artifacts[run_id]
                ),
                artifact_uri=f"{root}/{run_id}",  # str(artifact_root / run_id), 2 us less
                env_lock_hash=lock_hash,
                env_lock=str(locks[lock_hash][0][0]) if lock_hash in locks else None,
                data=_data_record(row, pins[run_id]),
                fingerprint=_opt_str(row[27]),
                parent_run_id=_opt_str(row[28]),
            )
    return runs


def _data_record(row: tuple[object, ...], pins: list[tuple[object, ...]]) -> DataRecord | None:
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
