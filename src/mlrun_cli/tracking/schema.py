"""The store's SQL schema as ordered migrations, run on SQLite and PostgreSQL alike.

SQLite counts applied ones in ``PRAGMA user_version`` and migrates itself when opened;
PostgreSQL in the table ``mlrun_schema_version``, migrated by ``mlrun server db upgrade``
(tracking/sql/migrate.py). Write statements in the portable subset: the dialect seam
(``Dialect.ddl``) makes INTEGER 64-bit, TEXT bytewise-ordered and ``INTEGER PRIMARY KEY`` an
identity column on PostgreSQL; where the spellings must differ, give a ``PerDialect``.
Never edit a released migration: append one.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

from mlrun_cli.tracking.record import Record
from mlrun_cli.tracking.sql.dialect import POSTGRESQL


class PerDialect(Record):
    """One migration statement spelled per dialect (``None``: nothing to do there)."""

    sqlite: str | None
    postgresql: str | None


class DataStep(Record):
    """A migration step written in Python (``module:function(conn)``): data SQL cannot move."""

    function: str


Statement = str | PerDialect | DataStep


def _compact(table: str, columns: str, index: str | None) -> tuple[Statement, ...]:
    """SQLite only: rebuild a side table keyed by (run_id, key) WITHOUT ROWID (the primary
    key is the table: no second copy of every row in an automatic index)."""
    statements = [
        f"CREATE TABLE {table}_compact ({columns}, PRIMARY KEY (run_id, key)) WITHOUT ROWID",
        f"INSERT INTO {table}_compact SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_compact RENAME TO {table}",
    ]
    if index:
        statements.append(index)
    return tuple(PerDialect(sqlite=text, postgresql=None) for text in statements)


def _rekeyed(
    table: str, columns: str, key: str, copied: str, index: str | None
) -> tuple[Statement, ...]:
    """Rebuild a side table keyed by ``(run_key, ...)``, the run's 4-byte surrogate, instead
    of its 32-character id. ``columns`` in the portable subset, 8-byte ones first (PostgreSQL
    pads nothing); ``copied`` the new columns each as its old one (``run_key`` from runs)."""
    names = ", ".join(part.split()[0] for part in columns.split(", "))
    create = f"CREATE TABLE {table}_keyed ({columns}, PRIMARY KEY ({key})"
    statements: list[Statement] = [
        PerDialect(sqlite=f"{create}) WITHOUT ROWID", postgresql=None),
        # a run's rows arrive together, after every older run's: leaves can fill up
        PerDialect(sqlite=None, postgresql=f"{POSTGRESQL.ddl(create)} WITH (fillfactor = 100))"),
        (
            f"INSERT INTO {table}_keyed ({names}) SELECT {copied} FROM {table} x "
            "JOIN runs r ON r.run_id = x.run_id"
        ),
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_keyed RENAME TO {table}",
    ]
    if index:
        statements.append(index)
    return tuple(statements)


_METRIC_CHUNKS = """CREATE TABLE metric_chunks (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            min_step BIGINT NOT NULL,
            max_step BIGINT NOT NULL,
            points INTEGER NOT NULL,
            data BLOB NOT NULL,
            PRIMARY KEY (run_id, key, seq)
        )"""

MIGRATIONS: tuple[tuple[Statement, ...], ...] = (
    (
        """CREATE TABLE experiments (
            experiment_id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            creation_time BIGINT NOT NULL,
            last_update_time BIGINT NOT NULL
        )""",
        """CREATE TABLE experiment_tags (
            experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (experiment_id, key)
        )""",
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments (experiment_id),
            name TEXT NOT NULL,
            status TEXT NOT NULL,
            status_reason TEXT,
            lifecycle_stage TEXT NOT NULL DEFAULT 'active',
            start_time BIGINT NOT NULL,
            end_time BIGINT,
            user_id TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER,
            pid_start TEXT,
            source_kind TEXT NOT NULL,
            source_uri TEXT NOT NULL,
            subdirectory TEXT NOT NULL DEFAULT '',
            commit_sha TEXT,
            dirty INTEGER,
            content_hash TEXT,
            entry_point TEXT NOT NULL,
            command TEXT NOT NULL,
            exit_code INTEGER,
            fingerprint TEXT,
            data_fingerprint TEXT,
            env_lock_hash TEXT,
            events_path TEXT,
            events_offset BIGINT NOT NULL DEFAULT 0
        )""",
        "CREATE INDEX runs_by_experiment ON runs (experiment_id, start_time)",
        "CREATE INDEX runs_by_status ON runs (status)",
        """CREATE TABLE params (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            type TEXT,
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE tags (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
        # Full history; NaN is stored as value NULL with is_nan = 1 (SQL has no NaN).
        """CREATE TABLE metrics (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            key TEXT NOT NULL,
            value DOUBLE PRECISION,
            is_nan INTEGER NOT NULL DEFAULT 0,
            step BIGINT NOT NULL,
            timestamp BIGINT NOT NULL
        )""",
        "CREATE INDEX metrics_by_run_key ON metrics (run_id, key, step)",
        # Latest value per (run, key), so search never scans the history.
        """CREATE TABLE latest_metrics (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            key TEXT NOT NULL,
            value DOUBLE PRECISION,
            is_nan INTEGER NOT NULL DEFAULT 0,
            step BIGINT NOT NULL,
            timestamp BIGINT NOT NULL,
            PRIMARY KEY (run_id, key)
        )""",
        """CREATE TABLE artifacts (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            path TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            PRIMARY KEY (run_id, path)
        )""",
    ),
    (
        # Environment locks, shared by every run that used the same package set.
        """CREATE TABLE env_locks (
            lock_hash TEXT PRIMARY KEY,
            text TEXT NOT NULL
        )""",
    ),
    (
        # The entry point's own process: an orphaned run is reaped only once both are gone.
        "ALTER TABLE runs ADD COLUMN child_pid INTEGER",
        "ALTER TABLE runs ADD COLUMN child_pid_start TEXT",
    ),
    (
        # Search at scale: walk runs newest first; order and filter by a param or metric value.
        "CREATE INDEX runs_by_start ON runs (start_time)",
        "CREATE INDEX runs_by_end ON runs (end_time)",
        "CREATE INDEX tags_by_key_value ON tags (key, value, run_id)",
        "CREATE INDEX params_by_key_value ON params (key, value, run_id)",
        "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value, run_id)",
    ),
    (
        # What code ran, precisely: the ref asked for, and the dirty snapshot's hash.
        "ALTER TABLE runs ADD COLUMN source_version TEXT",
        "ALTER TABLE runs ADD COLUMN snapshot_sha256 TEXT",
    ),
    (
        # The data a run used (DVC pins); runs.data_fingerprint holds their fingerprint.
        "ALTER TABLE runs ADD COLUMN data_revision TEXT",
        "ALTER TABLE runs ADD COLUMN data_dirty INTEGER",
        "ALTER TABLE runs ADD COLUMN data_remote TEXT",
        "ALTER TABLE runs ADD COLUMN data_pulled TEXT",
        "CREATE INDEX runs_by_fingerprint ON runs (fingerprint)",
        """CREATE TABLE data_pins (
            run_id TEXT NOT NULL REFERENCES runs (run_id),
            path TEXT NOT NULL,
            md5 TEXT NOT NULL,
            size BIGINT,
            nfiles BIGINT,
            is_output INTEGER NOT NULL,
            PRIMARY KEY (run_id, path)
        )""",
    ),
    (
        # Nested runs: an ``mlrun run`` inside a run's entry point, or MLflow's
        # start_run(nested=True) through the loopback endpoint, records its parent.
        "ALTER TABLE runs ADD COLUMN parent_run_id TEXT",
        "CREATE INDEX runs_by_parent ON runs (parent_run_id)",
        # MLflow clients retry writes: an identical metric point is found by this index
        # and not inserted twice.
        "CREATE INDEX metrics_by_point ON metrics (run_id, key, step, timestamp)",
    ),
    (
        # The team server (``mlrun server``): users an admin created, their role per
        # experiment ('*' is every experiment), and their tokens (sha256, never the token).
        "CREATE TABLE users (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)",
        """CREATE TABLE user_roles (
            name TEXT NOT NULL REFERENCES users (name),
            experiment_id TEXT NOT NULL,
            role TEXT NOT NULL,
            PRIMARY KEY (name, experiment_id)
        )""",
        """CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL REFERENCES users (name),
            created_at BIGINT NOT NULL
        )""",
        # When a runner last talked to the server about its run: a run whose runner died on
        # another host is failed by a heartbeat timeout (the host-local reaper cannot see it).
        "CREATE TABLE run_heartbeats (run_id TEXT PRIMARY KEY, seen_at BIGINT NOT NULL)",
    ),
    (
        # A compact store (under 3 KB a run, from 12 KB): metric histories packed into
        # chunks of points (tracking/sql/points.py) instead of one indexed row a point, and
        # on SQLite the side tables WITHOUT ROWID.
        PerDialect(sqlite=f"{_METRIC_CHUNKS} WITHOUT ROWID", postgresql=None),
        PerDialect(sqlite=None, postgresql=POSTGRESQL.ddl(_METRIC_CHUNKS)),
        DataStep("mlrun_cli.tracking.sql.points:migrate_metrics"),
        "DROP TABLE metrics",
        *_compact(
            "params",
            "run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL, "
            "value TEXT NOT NULL, type TEXT",
            "CREATE INDEX params_by_key_value ON params (key, value, run_id)",
        ),
        *_compact(
            "tags",
            "run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL, value TEXT NOT NULL",
            "CREATE INDEX tags_by_key_value ON tags (key, value, run_id)",
        ),
        *_compact(
            "latest_metrics",
            "run_id TEXT NOT NULL REFERENCES runs (run_id), key TEXT NOT NULL, "
            "value DOUBLE PRECISION, is_nan INTEGER NOT NULL DEFAULT 0, step BIGINT NOT NULL, "
            "timestamp BIGINT NOT NULL",
            "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value, run_id)",
        ),
    ),
    (
        # Run-scoped tokens (server/auth.py): minted by a user's token for one run's backend
        # job, which carries it instead of the user's; sha256 only, with an expiry.
        """CREATE TABLE run_tokens (
            token_hash TEXT PRIMARY KEY,
            name TEXT NOT NULL REFERENCES users (name),
            run_id TEXT NOT NULL,
            experiment_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            expires_at BIGINT NOT NULL
        )""",
    ),
    (
        # What a run token's submitter pinned at mint (canonical JSON: entry point, parent,
        # commit, -P values; server/api_v1.py): its run's create must match it.
        "ALTER TABLE run_tokens ADD COLUMN pinned TEXT",
    ),
    (
        # The user token that minted a run token (its sha256): revoking that token revokes
        # what it minted (server/auth.py).
        "ALTER TABLE run_tokens ADD COLUMN minted_by TEXT",
        "CREATE INDEX run_tokens_by_minter ON run_tokens (minted_by)",
    ),
    (
        # Under 3 KB a run on PostgreSQL too (5 KB before): every run gets a 4-byte key in
        # creation order (SQLite: assigned as MAX + 1 inside the write transaction), and the
        # side tables hang off it instead of the run id, so their rows and indexes no longer
        # repeat 33 bytes each (and rows of one run, or of new runs, sit together). Ties in a
        # search's order are broken by it: creation order.
        PerDialect(sqlite="ALTER TABLE runs ADD COLUMN run_key INTEGER", postgresql=None),
        PerDialect(sqlite="UPDATE runs SET run_key = rowid", postgresql=None),
        PerDialect(
            sqlite=None,
            postgresql="ALTER TABLE runs ADD COLUMN run_key INT GENERATED ALWAYS AS IDENTITY",
        ),
        "CREATE UNIQUE INDEX runs_by_key ON runs (run_key)",
        *_rekeyed(
            "params",
            "run_key INT NOT NULL REFERENCES runs (run_key), key TEXT NOT NULL, "
            "value TEXT NOT NULL, type TEXT",
            "run_key, key",
            "r.run_key, x.key, x.value, x.type",
            "CREATE INDEX params_by_key_value ON params (key, value, run_key)",
        ),
        *_rekeyed(
            "tags",
            "run_key INT NOT NULL REFERENCES runs (run_key), key TEXT NOT NULL, "
            "value TEXT NOT NULL",
            "run_key, key",
            "r.run_key, x.key, x.value",
            "CREATE INDEX tags_by_key_value ON tags (key, value, run_key)",
        ),
        *_rekeyed(
            "latest_metrics",
            "value DOUBLE PRECISION, step BIGINT NOT NULL, timestamp BIGINT NOT NULL, "
            "run_key INT NOT NULL REFERENCES runs (run_key), is_nan INT NOT NULL DEFAULT 0, "
            "key TEXT NOT NULL",
            "run_key, key",
            "x.value, x.step, x.timestamp, r.run_key, x.is_nan, x.key",
            "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value, run_key)",
        ),
        # (a chunk's point count and lowest step are in its data: not stored again)
        *_rekeyed(
            "metric_chunks",
            "max_step BIGINT NOT NULL, run_key INT NOT NULL REFERENCES runs (run_key), "
            "seq INT NOT NULL, key TEXT NOT NULL, data BLOB NOT NULL",
            "run_key, key, seq",
            "x.max_step, r.run_key, x.seq, x.key, x.data",
            None,
        ),
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)
