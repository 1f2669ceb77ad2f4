"""The filter compiler's PostgreSQL dialect agrees with the in-memory model, as SQLite's does."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrun_cli.tracking.search import (
    RUN_SCHEMA,
    ascii_lower,
    compile_filter,
)
from mlrun_cli.tracking.search_eval import Record, like_regex
from mlrun_cli.tracking.sql.dialect import POSTGRESQL
from tests.unit.tracking.test_search import (
    EXPRS,
    RECORDS,
    RUN_DDL,
    STRINGS,
    check_agreement,
    insert_records,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlrun_cli.tracking.postgres import PgConnection
    from mlrun_cli.tracking.search import Expr
    from tests.postgres import PostgresServer

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg(postgres_server: PostgresServer) -> Iterator[PgConnection]:
    from mlrun_cli.tracking.postgres import PgConnection

    conn = PgConnection(postgres_server.new_database(migrated=False))
    for statement in RUN_DDL:
        conn.execute(POSTGRESQL.ddl(statement))
    conn.execute("SELECT set_config('mlrun.artifact_root', '/a', false)")
    yield conn
    conn.close()


def sql_matches(conn: PgConnection, expr: Expr | None) -> set[str]:
    where, args = compile_filter(expr, RUN_SCHEMA, POSTGRESQL)
    rows = conn.execute(f"SELECT r.run_id FROM runs r WHERE {where}", args).fetchall()
    return {row[0] for row in rows}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(RECORDS, max_size=6),
    st.lists(EXPRS, min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_postgresql_sql_agrees_with_the_in_memory_model(
    pg: PgConnection, runs: list[Record], exprs: list[Expr], rnd: random.Random
) -> None:
    def load(records: list[Record]) -> Callable[[Expr], set[str]]:
        pg.execute("TRUNCATE runs, params, tags, latest_metrics")
        insert_records(pg, records)
        return functools.partial(sql_matches, pg)

    check_agreement(runs, exprs, rnd, load)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STRINGS, STRINGS)
def test_like_and_ilike_agree_with_the_model(pg: PgConnection, pattern: str, value: str) -> None:
    for op, folded in (("LIKE", value), ("ILIKE", ascii_lower(value))):
        args: list[object] = [value]
        sql = POSTGRESQL.like("CAST(? AS TEXT)", op, pattern, args)
        (matched,) = pg.execute(f"SELECT {sql}", args).fetchone()
        model_pattern = pattern if op == "LIKE" else ascii_lower(pattern)
        assert matched == (like_regex(model_pattern).fullmatch(folded) is not None), (op, pattern)
