"""Keyset pages of a run search: each page starts after the last row of the one before.

A page token carries that row's sort values and run id, so page 1,000 costs what page 1 does
(an OFFSET walks and drops every earlier row). The order stays MLflow's, exactly as
``run_search.page_sql`` sorts: each key ascending or descending with NULLs (and NaN metrics)
last, ties broken by the runs' creation order (``runs.run_key``, looked up from the token's
run id).

An order led by a metric, param or tag walks that key's ``(key, value, run_key)`` index. With
more keys after it (``tags.team, metrics.r2``) the runs are taken one leading value at a time
("order classes"): a large class (one team of a million runs) is walked in the second key's
own index, checking the class per row, instead of sorting the whole class; small classes are
sorted. After ``MAX_CLASSES`` classes without a full page (a leading key with many distinct
values), the rest comes from one query that sorts within each value only.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.tracking.record import Record
from mlrun_cli.tracking.run_search import (
    _SIDE,
    NOT_NULL_ATTRIBUTES,
    RunQuery,
    _base,
    _order_sql,
    _present,
)
from mlrun_cli.tracking.search import RUN_SCHEMA

if TYPE_CHECKING:
    from mlrun_cli.tracking.run_search import OrderKey
    from mlrun_cli.tracking.sql.dialect import Connection, Dialect

Value = str | int | float | None
MAX_CLASSES = 16
SMALL_CLASS = 2000  # a class this small is sorted; a larger one walks the next key's index


class After(Record):
    """A position in a search's order: the sort values of a row, and its run's key."""

    values: tuple[Value, ...]
    run_key: int


def after_run(conn: Connection, values: tuple[Value, ...], run_id: str) -> After:
    """The position of a page token's row (sort values, run id). A run this store does not
    have (a token from elsewhere) is placed before every run of its values."""
    row = conn.execute("SELECT run_key FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return After(values, 0 if row is None else int(row[0]))


class _Scope(Record):
    """A search narrowed to some classes: extra conditions ANDed to its WHERE clause."""

    query: RunQuery
    conditions: tuple[str, ...] = ()
    args: tuple[object, ...] = ()

    def narrowed(self, condition: str, args: tuple[object, ...]) -> _Scope:
        return _Scope(self.query, (*self.conditions, condition), (*self.args, *args))

    def where(self, dialect: Dialect) -> tuple[str, list[object]]:
        base, args = _base(self.query, dialect)
        return " AND ".join([base, *self.conditions]), [*args, *self.args]


def page_ids(
    conn: Connection, dialect: Dialect, query: RunQuery, limit: int, after: After | None
) -> list[str]:
    """Up to ``limit`` run ids of the search, in order, after ``after`` (None: from the top)."""
    return _ids(conn, dialect, _Scope(query), query.order, limit, after)


def position(conn: Connection, dialect: Dialect, query: RunQuery, run_id: str) -> tuple[Value, ...]:
    """The sort values of one run in the search's order (for the next page's token)."""
    joins, terms, join_args = _order_sql(query.order, skip_first_join=False, dialect=dialect)
    values = [term.rsplit(" ", 3)[0] for term in terms]  # drop "ASC|DESC NULLS LAST|FIRST"
    if not values:
        return ()
    row = conn.execute(
        f"SELECT {', '.join(values)} FROM runs r {joins} WHERE r.run_id = ?", [*join_args, run_id]
    ).fetchone()
    return tuple(row) if row is not None else tuple(None for _ in values)


def _ids(
    conn: Connection,
    dialect: Dialect,
    scope: _Scope,
    order: tuple[OrderKey, ...],
    limit: int,
    after: After | None,
) -> list[str]:
    if limit <= 0:
        return []
    first = order[0] if order else None
    if first is None or first.entity == "attribute":
        return _sorted(conn, dialect, scope, order, limit, after)
    ids: list[str] = []
    if after is None or after.values[0] is not None:
        if len(order) == 1:
            ids = _walk(conn, dialect, scope, order, limit, after)
        else:
            ids = _by_class(conn, dialect, scope, order, limit, after)
    if len(ids) < limit:  # then the runs lacking the leading value (NULLs last)
        table = _SIDE[first.entity][0]
        lacking = scope.narrowed(
            f"NOT EXISTS (SELECT 1 FROM {table} x WHERE x.run_key = r.run_key AND x.key = ? "
            f"AND {_present('x', first.entity)})",
            (first.key,),
        )
        rest_after = (
            After(after.values[1:], after.run_key)
            if after is not None and after.values[0] is None
            else None
        )
        ids += _ids(conn, dialect, lacking, order[1:], limit - len(ids), rest_after)
    return ids


def _after_sql(
    exprs: list[tuple[str, bool]], values: tuple[Value, ...], run_key: int
) -> tuple[str, list[object]]:
    """Rows strictly after (values, run_key) in ORDER BY exprs (NULLS LAST), run_key ASC."""
    if not exprs:
        return "r.run_key > ?", [run_key]
    (expr, descending), value = exprs[0], values[0]
    rest, rest_args = _after_sql(exprs[1:], values[1:], run_key)
    if value is None:
        return f"({expr} IS NULL AND {rest})", rest_args
    op = "<" if descending else ">"
    return f"({expr} {op} ? OR {expr} IS NULL OR ({expr} = ? AND {rest}))", [
        value, value, *rest_args,
    ]  # fmt: skip


def _terms(
    order: tuple[OrderKey, ...], dialect: Dialect, skip_first: bool
) -> tuple[str, list[str], list[object], list[tuple[str, bool]]]:
    joins, terms, join_args = _order_sql(order, skip_first_join=skip_first, dialect=dialect)
    exprs = [
        (term.rsplit(" ", 3)[0], key.descending) for term, key in zip(terms, order, strict=True)
    ]
    return joins, terms, join_args, exprs


def _sorted(
    conn: Connection,
    dialect: Dialect,
    scope: _Scope,
    order: tuple[OrderKey, ...],
    limit: int,
    after: After | None,
) -> list[str]:
    """One statement: ORDER BY every key (an attribute first walks its runs index)."""
    joins, terms, join_args, exprs = _terms(order, dialect, skip_first=False)
    where, args = scope.where(dialect)
    if after is not None:
        condition, after_args = _after_sql(exprs, after.values, after.run_key)
        where += f" AND {condition}"
        args += after_args
        first = order[0] if order else None
        if first is not None and first.entity == "attribute" and after.values[0] is not None:
            column, nullable = RUN_SCHEMA.attributes[first.key][0], _nullable(first.key)
            if not nullable:  # a range the index can seek to (NULLs cannot follow)
                where += f" AND {dialect.column(column)} {'<=' if first.descending else '>='} ?"
                args.append(after.values[0])
    sql = (
        f"SELECT r.run_id FROM runs r {joins} WHERE {where} "
        f"ORDER BY {', '.join([*terms, 'r.run_key ASC'])} LIMIT ?"
    )
    return [str(row[0]) for row in conn.execute(sql, [*join_args, *args, limit]).fetchall()]


def _nullable(attribute: str) -> bool:
    return attribute not in NOT_NULL_ATTRIBUTES


def _walk(
    conn: Connection,
    dialect: Dialect,
    scope: _Scope,
    order: tuple[OrderKey, ...],
    limit: int,
    after: After | None,
    beyond: Value = None,
) -> list[str]:
    """The runs having the leading metric/param/tag, walking its (key, value, run_key) index
    (its NULL and NaN values are the lacking runs' part)."""
    first = order[0]
    table = _SIDE[first.entity][0]
    joins, terms, join_args, exprs = _terms(order, dialect, skip_first=True)
    where, args = scope.where(dialect)
    exprs[0] = ("o0.value", first.descending)
    conditions = [f"o0.key = ? AND {_present('o0', first.entity)}", where]
    cond_args: list[object] = [first.key, *args]
    if after is not None:
        condition, after_args = _after_sql(exprs, after.values, after.run_key)
        conditions += [f"o0.value {'<=' if first.descending else '>='} ?", condition]
        cond_args += [after.values[0], *after_args]
    if beyond is not None:  # past the classes already listed
        conditions.append(f"o0.value {'<' if first.descending else '>'} ?")
        cond_args.append(beyond)
    order_sql = ", ".join(
        [f"o0.value {'DESC' if first.descending else 'ASC'}", *terms[1:], "r.run_key ASC"]
    )
    # CROSS JOIN keeps SQLite from reordering: it must walk the (key, value) index in order.
    sql = (
        f"SELECT r.run_id FROM {table} o0 {dialect.join_in_order} runs r "
        f"ON r.run_key = o0.run_key {joins} WHERE {' AND '.join(conditions)} "
        f"ORDER BY {order_sql} LIMIT ?"
    )
    return [str(row[0]) for row in conn.execute(sql, [*join_args, *cond_args, limit])]


def _by_class(
    conn: Connection,
    dialect: Dialect,
    scope: _Scope,
    order: tuple[OrderKey, ...],
    limit: int,
    after: After | None,
) -> list[str]:
    """The runs having the leading value, one value (class) at a time, each class in the
    order of the remaining keys."""
    first = order[0]
    table = _SIDE[first.entity][0]
    step = "<" if first.descending else ">"
    ids: list[str] = []
    current: Value = None
    for index in range(MAX_CLASSES):
        rest_after = None
        if index == 0 and after is not None:
            value = after.values[0]  # the token's class first, from its position
            rest_after = After(after.values[1:], after.run_key)
        else:
            bound = "" if current is None else f"AND value {step} ?"
            row = conn.execute(
                f"SELECT value FROM {table} x WHERE key = ? AND {_present('x', first.entity)} "
                f"{bound} ORDER BY value {'DESC' if first.descending else 'ASC'} LIMIT 1",
                [first.key] if current is None else [first.key, current],
            ).fetchone()
            if row is None:
                return ids
            value = row[0]
        in_class = scope.narrowed(
            f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_key = r.run_key AND x.key = ? "
            "AND x.value = ?)",
            (first.key, value),
        )
        if _small(conn, table, first.key, value):
            ids += _sorted(conn, dialect, in_class, order[1:], limit - len(ids), rest_after)
        else:
            ids += _ids(conn, dialect, in_class, order[1:], limit - len(ids), rest_after)
        current = value
        if len(ids) >= limit:
            return ids
    # Many small classes: the rest in one statement, sorted within each leading value.
    return ids + _walk(conn, dialect, scope, order, limit - len(ids), None, beyond=current)


def _small(conn: Connection, table: str, key: str, value: Value) -> bool:
    count = conn.execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE key = ? AND value = ? LIMIT ?) c",
        (key, value, SMALL_CLASS + 1),
    ).fetchone()[0]
    return int(count) <= SMALL_CLASS
