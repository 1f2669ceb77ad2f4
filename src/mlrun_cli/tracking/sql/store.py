"""The SQL store: one implementation of the TrackingStore protocol for every SQL backend.

Subclasses open the connection and migrate it (tracking/sqlite.py, tracking/postgres.py);
the SQL is written once, with the dialect seam (tracking/sql/dialect.py) for what differs.
Every write is one short transaction, so concurrent ``mlrun run`` processes serialize cleanly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mlrun_cli.errors import NotFoundError, UsageError
from mlrun_cli.tracking.models import EventBatch, LiveRun, Metric, Run, RunCreate
from mlrun_cli.tracking.run_rows import RUN_COLUMNS, runs_from_rows
from mlrun_cli.tracking.sql.experiments import INT64_MAX, SqlExperiments, now_ms
from mlrun_cli.tracking.sql.points import (
    append_points,
    histories,
    history,
    increasing_steps,
    step_columns,
)

if TYPE_CHECKING:
    from array import array
    from collections.abc import Sequence

    from mlrun_cli.tracking.run_search import RunQuery
    from mlrun_cli.tracking.sql.keyset import Value


class SqlStore(SqlExperiments):
    """A TrackingStore over one SQL connection; the subclass opened and migrated it."""

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, spec: RunCreate) -> Run:
        """Insert a RUNNING run with its params and tags."""
        run_id = spec.run_id
        code = spec.code
        with self._write() as conn:
            run_key = conn.execute(
                "INSERT INTO runs (run_id, experiment_id, name, status, start_time, user_id, "
                "host, pid, pid_start, source_kind, source_uri, subdirectory, commit_sha, dirty, "
                "content_hash, entry_point, command, events_path, env_lock_hash, source_version, "
                "snapshot_sha256, fingerprint, parent_run_id, run_key) "
                "VALUES (?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                f"?, {self.dialect.new_run_key}) RETURNING run_key",
                (
                    run_id, int(spec.experiment_id), spec.name, now_ms(), spec.user, spec.host,
                    spec.pid, spec.pid_start, code.kind, code.uri, code.subdirectory,
                    code.commit, None if code.dirty is None else int(code.dirty),
                    code.content_hash, spec.entry_point, spec.command, spec.events_path,
                    spec.env_lock_hash, code.version, code.snapshot_sha256, spec.fingerprint,
                    spec.parent_run_id,
                ),
            ).fetchone()[0]  # fmt: skip
            if spec.data is not None:
                data = spec.data
                conn.execute(
                    "UPDATE runs SET data_fingerprint = ?, data_revision = ?, data_dirty = ?, "
                    "data_remote = ?, data_pulled = ? WHERE run_id = ?",
                    (data.fingerprint, data.revision, int(data.dirty), data.remote,
                     "\n".join(data.pulled), run_id),
                )  # fmt: skip
                conn.executemany(
                    "INSERT INTO data_pins (run_id, path, md5, size, nfiles, is_output) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, path) DO NOTHING",
                    [(run_id, p.path, p.md5, p.size, p.nfiles, int(p.is_output))
                     for p in data.pins],
                )  # fmt: skip
            if spec.env_lock_hash and spec.env_lock is not None:
                conn.execute(
                    "INSERT INTO env_locks (lock_hash, text) VALUES (?, ?) "
                    "ON CONFLICT (lock_hash) DO NOTHING",
                    (spec.env_lock_hash, spec.env_lock),
                )
            conn.executemany(
                "INSERT INTO params (run_key, key, value, type) VALUES (?, ?, ?, ?)",
                [(run_key, p.key, p.value, p.type) for p in spec.params],
            )
            conn.executemany(
                "INSERT INTO tags (run_key, key, value) VALUES (?, ?, ?)",
                [(run_key, key, value) for key, value in spec.tags],
            )
        return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        """One run with everything recorded about it."""
        row = self._conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r} in {self.label}")
        return self._runs_from_rows([row])[run_id]

    def resolve_run_id(self, prefix: str) -> str:
        """A full run id from itself or a unique prefix (at least 4 characters)."""
        text = prefix.strip().lower()
        if len(text) >= 4 and all(c in "0123456789abcdef" for c in text):
            rows = self._conn.execute(
                "SELECT run_id FROM runs WHERE run_id >= ? AND run_id < ? LIMIT 2",
                (text, text + "g"),
            ).fetchall()
            if len(rows) == 1:
                return str(rows[0][0])
            if len(rows) > 1:
                raise UsageError(f"run id prefix {prefix!r} is ambiguous; give more characters")
        if len(text) < 4:
            raise UsageError(f"run id {prefix!r}: give the id or a prefix of at least 4 characters")
        raise NotFoundError(f"no run with id {prefix!r} in {self.label}")

    def _runs_from_rows(self, rows: Sequence[tuple[object, ...]]) -> dict[str, Run]:
        return runs_from_rows(self._conn, self.dialect, rows, self.artifact_root)

    def search_run_ids(self, query: RunQuery, limit: int, offset: int) -> list[str]:
        """One page of the run ids a compiled search selects, in order."""
        from mlrun_cli.tracking.run_search import page_sql

        # A page beyond any store (a huge --max-results or a forged --page-token offset) is
        # the same as the largest one SQLite can count to.
        limit, offset = min(limit, INT64_MAX), min(offset, INT64_MAX)
        statements = page_sql(query, self.dialect)
        sql, args = statements[0]
        ids = [
            str(row[0])
            for row in self._conn.execute(
                f"{sql} LIMIT ? OFFSET ?", [*args, limit, offset]
            ).fetchall()
        ]
        if len(statements) == 1 or len(ids) == limit:
            return ids
        # The runs with the leading value are exhausted: continue with those lacking it.
        (lacking, lacking_args), (count_sql, count_args) = statements[1], statements[2]
        having_total = (ids and offset + len(ids)) or self._conn.execute(
            count_sql, count_args
        ).fetchone()[0]
        rest_offset = max(0, offset - int(having_total))
        rows = self._conn.execute(
            f"{lacking} LIMIT ? OFFSET ?", [*lacking_args, limit - len(ids), rest_offset]
        ).fetchall()
        return ids + [str(row[0]) for row in rows]

    def search_run_ids_after(
        self, query: RunQuery, limit: int, after: tuple[tuple[Value, ...], str] | None
    ) -> list[str]:
        """One keyset page of the run ids a search selects: the first ``limit`` after the row
        with sort values and run id ``after`` (None: from the top)."""
        from mlrun_cli.tracking.sql.keyset import after_run, page_ids

        start = None if after is None else after_run(self._conn, *after)
        return page_ids(self._conn, self.dialect, query, min(limit, INT64_MAX), start)

    def run_position(self, query: RunQuery, run_id: str) -> tuple[tuple[Value, ...], str]:
        """A run's sort values in a search's order, for the next page's token."""
        from mlrun_cli.tracking.sql.keyset import position

        return position(self._conn, self.dialect, query, run_id), run_id

    def get_runs(self, run_ids: Sequence[str]) -> list[Run]:
        """Several runs, in the given order (missing ids are skipped)."""
        source, arg = self.dialect.rows_of("runs", "run_id", list(run_ids))
        columns = ", ".join(f"x.{name.strip()}" for name in RUN_COLUMNS.split(","))
        rows = self._conn.execute(f"SELECT {columns} FROM {source}", (arg,)).fetchall()
        found = self._runs_from_rows(rows)
        return [found[run_id] for run_id in run_ids if run_id in found]

    def find_finished_run(self, experiment_id: str, fingerprint: str) -> Run | None:
        """The newest FINISHED, active run of the experiment with this fingerprint."""
        row = self._conn.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE fingerprint = ? AND experiment_id = ? "
            "AND status = 'FINISHED' AND lifecycle_stage = 'active' "
            "ORDER BY start_time DESC LIMIT 1",
            (fingerprint, int(experiment_id)),
        ).fetchone()
        return None if row is None else self._runs_from_rows([row])[str(row[0])]

    def set_run_stage(self, run_id: str, stage: str) -> None:
        """Soft-delete (``deleted``) or restore (``active``) a run."""
        self.get_run(run_id)
        with self._write() as conn:
            conn.execute("UPDATE runs SET lifecycle_stage = ? WHERE run_id = ?", (stage, run_id))

    def rename_run(self, run_id: str, name: str) -> None:
        """Give a run another name (MLflow code's ``start_run(run_name=...)``)."""
        if not name.strip():
            raise UsageError("run name must not be empty")
        with self._write() as conn:
            renamed = conn.execute("UPDATE runs SET name = ? WHERE run_id = ?", (name, run_id))
            if renamed.rowcount != 1:
                raise NotFoundError(f"no run with id {run_id!r} in {self.label}")

    def log_batch(
        self, run_id: str, batch: EventBatch, events_range: tuple[int, int] | None = None
    ) -> list[str] | None:
        """Apply a batch of events in one transaction; return warnings (param conflicts).

        With ``events_range`` (start, end) the batch is the events file's bytes start..end: it
        is applied only if the stored offset is still ``start`` (and moves it to ``end``), so
        two processes ingesting the same file never apply a line twice. None: already applied.
        """
        warnings: list[str] = []
        by_key: dict[str, list[tuple[int, int, float]]] = {}
        for m in batch.metrics:
            points = by_key.get(m.key)
            if points is None:
                points = by_key[m.key] = []
            points.append((m.step, m.timestamp, m.value))
        latest: dict[str, Metric] = {}
        for key, points in by_key.items():
            # the highest (step, timestamp); of equals, the last logged
            if increasing_steps([p[0] for p in points]):
                step, stamp, value = points[-1]
            else:
                step, stamp, value = max(reversed(points), key=lambda p: (p[0], p[1]))
            latest[key] = Metric(key, value, step, stamp)
        with self._write() as conn:
            # writers of one run take turns (SQLite: the write transaction locks the store)
            found = conn.execute(
                f"SELECT run_key FROM runs WHERE run_id = ? {self.dialect.lock_run}", (run_id,)
            ).fetchone()
            if found is None:
                raise NotFoundError(f"no run with id {run_id!r} in {self.label}")
            run_key = int(found[0])
            if events_range is not None:
                moved = conn.execute(
                    "UPDATE runs SET events_offset = ? WHERE run_id = ? AND events_offset = ?",
                    (events_range[1], run_id, events_range[0]),
                ).rowcount
                if moved != 1:
                    return None
            for param in batch.params:
                row = conn.execute(
                    "SELECT value FROM params WHERE run_key = ? AND key = ?", (run_key, param.key)
                ).fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO params (run_key, key, value, type) VALUES (?, ?, ?, ?)",
                        (run_key, param.key, param.value, param.type),
                    )
                elif row[0] != param.value:
                    warnings.append(
                        f"param {param.key!r} was logged as {param.value!r} but is already "
                        f"{row[0]!r}; kept {row[0]!r}"
                    )
            # An identical point (key, value, step, timestamp) is one point, as in MLflow:
            # a client's retried request never duplicates it (tracking/sql/points.py).
            for key, points in by_key.items():
                append_points(conn, run_key, key, points)
            conn.executemany(
                "INSERT INTO latest_metrics (run_key, key, value, is_nan, step, timestamp) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_key, key) DO UPDATE SET "
                "value = excluded.value, is_nan = excluded.is_nan, step = excluded.step, "
                "timestamp = excluded.timestamp WHERE excluded.step > latest_metrics.step OR "
                "(excluded.step = latest_metrics.step AND "
                "excluded.timestamp >= latest_metrics.timestamp)",
                [
                    (run_key, m.key, None if math.isnan(m.value) else m.value,
                     int(math.isnan(m.value)), m.step, m.timestamp)
                    for m in latest.values()
                ],
            )  # fmt: skip
            conn.executemany(
                "INSERT INTO tags (run_key, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (run_key, key) DO UPDATE SET value = excluded.value",
                [(run_key, key, value) for key, value in batch.tags],
            )
            conn.executemany(
                "INSERT INTO artifacts (run_id, path, size, sha256) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (run_id, path) DO UPDATE SET size = excluded.size, "
                "sha256 = excluded.sha256",
                [(run_id, a.path, a.size, a.sha256) for a in batch.artifacts],
            )
        return warnings

    def delete_tag(self, run_id: str, key: str) -> bool:
        """Remove one run tag; False when the run had no such tag."""
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM tags WHERE run_key = (SELECT run_key FROM runs WHERE run_id = ?) "
                "AND key = ?",
                (run_id, key),
            )
            return cursor.rowcount == 1

    def events_offset(self, run_id: str) -> int:
        """How many bytes of the run's events file are already ingested."""
        row = self._conn.execute(
            "SELECT events_offset FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        return 0 if row is None else int(row[0])

    def finish_run(
        self, run_id: str, status: str, exit_code: int | None = None, reason: str | None = None
    ) -> bool:
        """Move a RUNNING run to a terminal status; False if it had already ended (unchanged)."""
        with self._write() as conn:
            return (
                conn.execute(
                    "UPDATE runs SET status = ?, exit_code = ?, status_reason = ?, end_time = ? "
                    "WHERE run_id = ? AND status = 'RUNNING'",
                    (status, exit_code, reason, now_ms(), run_id),
                ).rowcount
                == 1
            )

    def metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged point of one metric, by step then time."""
        return [Metric(key, v, s, t) for s, t, v in history(self._conn, run_id, key)]

    def metric_histories(
        self, run_ids: Sequence[str], key: str
    ) -> dict[str, list[tuple[int, int, float]]]:
        """(step, timestamp, value) histories of one key of many runs, by step then time."""
        return histories(self._conn, run_ids, key)

    def metric_step_columns(
        self, run_ids: Sequence[str], key: str
    ) -> dict[str, list[tuple[list[int], array[float]]]]:
        """Each run's stored chunks of one key as (steps, values) columns (for charts)."""
        return step_columns(self._conn, run_ids, key)

    def running_runs_on(self, host: str) -> list[LiveRun]:
        """The RUNNING runs started on ``host``, with the processes that run them."""
        return [
            LiveRun(*row)
            for row in self._conn.execute(
                "SELECT run_id, pid, pid_start, child_pid, child_pid_start, events_path "
                f"FROM runs {self.dialect.by_status} WHERE status = 'RUNNING' AND host = ?",
                (host,),
            )
        ]

    def set_child_exit(self, run_id: str, exit_code: int) -> None:
        """Record the entry point's exit code while the run is still RUNNING (its events are
        being ingested): whoever finishes the run later knows how the entry point ended."""
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET exit_code = ? WHERE run_id = ? AND status = 'RUNNING'",
                (exit_code, run_id),
            )

    def set_child_process(self, run_id: str, pid: int, marker: str | None) -> None:
        """Record the entry point's process (the orphan check waits for it too)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET child_pid = ?, child_pid_start = ? WHERE run_id = ?",
                (pid, marker, run_id),
            )
