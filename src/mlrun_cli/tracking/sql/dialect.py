"""The dialect seam: everything SQLite and PostgreSQL spell differently, in one place.

The store, the filter compiler and the run search write SQL once, with ``?`` placeholders and
SQLite's spelling; a Dialect turns that into what its database accepts. Differences handled:
placeholders, pattern matching (SQLite's GLOB vs PostgreSQL's LIKE with backslash escapes),
the derived ``artifact_uri`` attribute, a join order hint, transactions and column types.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from mlrun_cli.tracking.record import Record

ARTIFACT_URI_SQL = "mlrun_artifact_uri(r.run_id)"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Cursor(Protocol):
    """What the store needs of a DB-API cursor."""

    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Any: ...


class Connection(Protocol):
    """What the store needs of a connection: statements with ``?`` placeholders."""

    def execute(self, sql: str, parameters: Any = (), /) -> Cursor: ...
    def executemany(self, sql: str, seq: Any, /) -> Cursor: ...
    def close(self) -> None: ...


class Dialect(Record):
    """How one database spells the store's SQL."""

    name: str  # "sqlite" | "postgresql"
    begin_write: str  # starts a write transaction that serializes writers early
    join_in_order: str  # a join the planner must not reorder (drives an index walk)
    # The orphan check runs before every command: with ANALYZE statistics SQLite's planner
    # prefers a full scan of runs to the status index (135 ms at 750,000 runs), so pin it.
    by_status: str
    # Locks one run's row for the transaction ("": the write transaction locks everything).
    lock_run: str
    # The value of a new run's ``run_key`` in its INSERT (schema migration 13).
    new_run_key: str

    def like(self, column: str, op: str, pattern: str, args: list[object]) -> str:
        """``column LIKE/ILIKE pattern`` (``%``, ``_``, backslash escape), case rules exact:
        LIKE is case-sensitive, ILIKE folds ASCII letters only, on every dialect."""
        from mlrun_cli.tracking.search import ascii_lower, like_to_glob

        if self.name == "sqlite":
            # SQLite's LIKE ignores ASCII case and has no default escape: use GLOB.
            if op == "LIKE":
                args.append(like_to_glob(pattern))
                return f"{column} GLOB ?"
            args.append(like_to_glob(ascii_lower(pattern)))
            return f"LOWER({column}) GLOB ?"
        if op == "LIKE":
            args.append(_escaped_tail(pattern))
            return f"{column} LIKE ?"
        # PostgreSQL's ILIKE and LOWER() follow the database locale: fold A-Z only, by hand.
        args.append(_escaped_tail(ascii_lower(pattern)))
        return f"translate({column}, '{_UPPER}', '{_UPPER.lower()}') LIKE ?"

    def rows_of(self, table: str, column: str, ids: list[str] | list[int]) -> tuple[str, object]:
        """A FROM clause yielding the rows of ``table`` (as ``x``) whose ``column`` is one of
        ``ids``, by one index lookup per id, and its one argument. PostgreSQL plans a join
        with 1,000 ids (or ``IN`` 500 of them) as a scan of the whole table: a lateral
        subquery it cannot flatten keeps the lookups."""
        # Run ids need no quoting: the array is written here, without json (SQLite: ~3 ms to
        # import) or psycopg checking every element for quoting (5 queries a page x 1,000
        # ids: ~14 ms).
        # Run keys are integers: written as they are, into an INT array.
        numbers = bool(ids) and isinstance(ids[0], int)
        plain = numbers or all(isinstance(i, str) and i.isascii() and i.isalnum() for i in ids)
        if self.name == "sqlite":
            if numbers:
                array = "[" + ",".join(map(str, ids)) + "]"
            elif plain:
                array = "[" + ",".join(f'"{i}"' for i in ids) + "]"
            else:
                import json

                array = json.dumps(ids)
            return f"json_each(?) AS i JOIN {table} x ON x.{column} = i.value", array
        lateral = f"(SELECT * FROM {table} WHERE {column} = i.value OFFSET 0) x"
        arg: object = "{" + ",".join(map(str, ids)) + "}" if plain else ids
        kind = "INT" if numbers else "TEXT"
        return f"unnest(CAST(? AS {kind}[])) AS i(value) CROSS JOIN LATERAL {lateral}", arg

    def column(self, expression: str) -> str:
        """A schema column expression as this dialect computes it."""
        if expression == ARTIFACT_URI_SQL and self.name == "postgresql":
            return "(current_setting('mlrun.artifact_root') || '/' || r.run_id)"
        return expression

    def ddl(self, statement: str) -> str:
        """A migration statement written in the portable subset, for this dialect.

        PostgreSQL: INTEGER is 64-bit (as in SQLite), TEXT compares bytewise (``COLLATE "C"``,
        SQLite's order, whatever the database locale), BLOB is BYTEA, and an ``INTEGER PRIMARY
        KEY`` is an identity column (SQLite's rowid alias). Anything else: ``PerDialect``.
        """
        if self.name == "sqlite":
            return statement
        statement = re.sub(
            r"\bINTEGER PRIMARY KEY\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
            statement,
        )  # fmt: skip
        statement = re.sub(r"\bINTEGER\b", "BIGINT", statement)
        statement = re.sub(r"\bBLOB\b", "BYTEA", statement)
        return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', statement)

    def placeholders(self, sql: str) -> str:
        """``?`` placeholders as the driver wants them (the store's SQL has no ``?``/``%``
        inside literals)."""
        if self.name == "sqlite":
            return sql
        return sql.replace("%", "%%").replace("?", "%s")


def _escaped_tail(pattern: str) -> str:
    """A trailing lone backslash is a literal one (as in our LIKE), not PostgreSQL's error."""
    escapes = len(pattern) - len(pattern.rstrip("\\"))
    return pattern + "\\" if escapes % 2 else pattern


SQLITE = Dialect(
    "sqlite", begin_write="BEGIN IMMEDIATE", join_in_order="CROSS JOIN",
    by_status="INDEXED BY runs_by_status", lock_run="",
    new_run_key="(SELECT COALESCE(MAX(run_key), 0) + 1 FROM runs)",
)  # fmt: skip
POSTGRESQL = Dialect(
    "postgresql",
    begin_write="BEGIN",
    join_in_order="JOIN",
    by_status="",
    lock_run="FOR UPDATE",
    new_run_key="DEFAULT",
)
