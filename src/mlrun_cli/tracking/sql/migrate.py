"""Running the schema's migrations (tracking/schema.py) on any dialect, and the version check.

SQLite stores migrate themselves when opened. A PostgreSQL store is shared by a team and
migrated on purpose, by whoever runs the server: ``upgrade_database(uri)`` (the command
``mlrun server db upgrade``). Opening one whose schema is older or newer than this mlrun
refuses with one line naming both versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.schema import MIGRATIONS, SCHEMA_VERSION, DataStep, PerDialect
from mlrun_cli.tracking.sql.experiments import (
    DEFAULT_EXPERIMENT_ID,
    DEFAULT_EXPERIMENT_NAME,
    now_ms,
)

if TYPE_CHECKING:
    from mlrun_cli.tracking.sql.dialect import Connection, Dialect

UPGRADE_COMMAND = "mlrun server db upgrade --backend-store-uri URI"


def apply_migrations(
    conn: Connection, dialect: Dialect, version: int, target: int = SCHEMA_VERSION
) -> int:
    """Apply the migrations after ``version`` up to ``target`` (inside the caller's write
    transaction); return the new version."""
    for index in range(version, target):
        for statement in MIGRATIONS[index]:
            if isinstance(statement, DataStep):
                import importlib

                module, function = statement.function.split(":")
                getattr(importlib.import_module(module), function)(conn)
            elif isinstance(statement, PerDialect):
                text = getattr(statement, dialect.name)
                if text is not None:
                    conn.execute(text)
            else:
                conn.execute(dialect.ddl(statement))
        if index == 0:
            conn.execute(
                "INSERT INTO experiments (experiment_id, name, lifecycle_stage, creation_time, "
                "last_update_time) VALUES (?, ?, 'active', ?, ?)",
                (int(DEFAULT_EXPERIMENT_ID), DEFAULT_EXPERIMENT_NAME, now_ms(), now_ms()),
            )
    return target


def check_version(label: str, version: int, *, upgrade_hint: str) -> None:
    """Refuse a store whose schema this mlrun does not have (newer) or has not applied."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"tracking store {label}: schema version {version} is newer than this mlrun "
            f"understands ({SCHEMA_VERSION}); upgrade mlrun-cli"
        )
    if version < SCHEMA_VERSION:
        state = "has no mlrun schema" if version == 0 else f"is at schema version {version}"
        raise StoreError(
            f"tracking store {label} {state}; this mlrun needs {SCHEMA_VERSION}",
            hint=upgrade_hint,
        )


def upgrade_database(uri: str, target: int = SCHEMA_VERSION) -> tuple[int, int]:
    """Bring the store at ``uri`` (postgresql://... or a SQLite location) to this mlrun's
    schema; return (version before, version after). Safe to run concurrently and again.
    ``target`` (PostgreSQL only) stops earlier: tests build yesterday's schema with it."""
    if uri.startswith(("postgresql://", "postgres://")):
        from mlrun_cli.tracking.postgres import upgrade_postgres

        return upgrade_postgres(uri, target)
    from mlrun_cli.tracking.sqlite import SqliteStore, stored_version
    from mlrun_cli.tracking.store import resolve_location

    location = resolve_location(uri)
    before = stored_version(location.db_path)
    SqliteStore(location, create=True).close()
    return before, SCHEMA_VERSION
