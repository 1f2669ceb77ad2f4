"""Searching runs: ``--order-by`` keys, page tokens, and the SQL that stays fast at 100,000 runs.

Filters compile to correlated EXISTS checks (tracking/search.py). What makes a search fast is
walking an index in the requested order and stopping after one page:

- default order (``start_time DESC``) walks ``runs_by_start``;
- when the first key is a metric or a param, the query is driven by that side table's
  ``(key, value, run_key)`` index: runs that have the value, in order, then (NULLs last) the
  runs that lack it, in a second query only when the first page is not full.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.record import Record
from mlrun_cli.tracking.search import (
    ENTITY_ALIASES,
    RUN_SCHEMA,
    canonical_attribute,
    compile_filter,
)
from mlrun_cli.tracking.sql.dialect import SQLITE, Dialect

if TYPE_CHECKING:
    from mlrun_cli.tracking.search import Expr

_ORDER_RE = re.compile(
    r"^\s*(?:(?P<entity>[A-Za-z_]+|`[A-Za-z_]+`)\.)?(?P<key>`[^`]+`|\"[^\"]+\"|[\w.]+)\s*"
    r"(?P<dir>\w+)?\s*$"
)
# Side tables an order key can name, with the column that flags NaN (stored as NULL).
_SIDE = {"metric": ("latest_metrics", True), "param": ("params", False), "tag": ("tags", False)}
DEFAULT_ORDER = "start_time DESC"


class OrderKey(Record):
    """One ``--order-by`` key."""

    entity: str  # attribute, metric, param, tag
    key: str
    descending: bool = False


def parse_order_by(text: str) -> OrderKey:
    """``metrics.rmse ASC``, ``params.alpha``, ``start_time DESC`` (ASC is the default)."""
    match = _ORDER_RE.match(text)
    if not match:
        raise UsageError(f"--order-by {text!r}: expected KEY [ASC|DESC], e.g. 'metrics.rmse ASC'")
    direction = (match.group("dir") or "ASC").upper()
    if direction not in ("ASC", "DESC"):
        raise UsageError(f"--order-by {text!r}: expected ASC or DESC; got {match.group('dir')!r}")
    key = match.group("key")
    if key[0] in '`"':
        key = key[1:-1]
    raw_entity = match.group("entity")
    if raw_entity is not None:
        raw_entity = raw_entity.strip("`")
    if raw_entity is None:
        entity = "attribute"
    elif raw_entity.lower() in ENTITY_ALIASES:
        entity = ENTITY_ALIASES[raw_entity.lower()]
    else:
        # "a.b" without a known prefix is not an entity: treat the whole text as an attribute
        entity, key = "attribute", f"{raw_entity}.{key}"
    if entity == "attribute":
        key = canonical_attribute(key)
    if entity == "attribute" and key not in RUN_SCHEMA.attributes:
        allowed = ", ".join(sorted(RUN_SCHEMA.attributes))
        raise UsageError(
            f"--order-by {text!r}: unknown attribute {key!r}; expected metrics.KEY, params.KEY, "
            f"tags.KEY or one of: {allowed}"
        )
    return OrderKey(entity, key, direction == "DESC")


def encode_page_token(offset: int) -> str:
    """An opaque token for the page starting at ``offset`` (the UI's numbered pages)."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def order_signature(order: tuple[OrderKey, ...]) -> str:
    """A short digest of an order: a keyset token is valid only for the order it came from."""
    import hashlib

    text = "\n".join(f"{k.entity}\t{k.key}\t{k.descending}" for k in order)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def encode_keyset_token(values: tuple[object, ...], run_id: str, order: str) -> str:
    """An opaque token for the page after the row with these sort values and run id."""
    import base64
    import json

    text = json.dumps({"after": list(values), "id": run_id, "o": order}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The offset a page token stands for (0 for a keyset token: see decode_token)."""
    decoded = decode_token(token)
    return decoded if isinstance(decoded, int) else 0


Keyset = tuple[tuple[str | int | float | None, ...], str, str]


def decode_token(token: str | None) -> int | Keyset:
    """An offset, or (sort values, run id, order signature) of the row a keyset page starts
    after."""
    if not token:
        return 0
    import base64  # (page tokens only: a first page imports neither)
    import json

    bad = UsageError(f"--page-token {token!r}: not a token mlrun gave out")
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        raise bad from None
    if not isinstance(data, dict):
        raise bad
    if "offset" in data:
        offset = data["offset"]
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            raise bad
        return offset
    values, run_id, order = data.get("after"), data.get("id"), data.get("o")
    if (
        not isinstance(values, list)
        or not isinstance(run_id, str)
        or not isinstance(order, str)
        or not all(
            v is None or (isinstance(v, (str, int, float)) and not isinstance(v, bool))
            for v in values
        )
    ):
        raise bad
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in values):
        raise bad
    return tuple(values), run_id, order


class RunQuery(Record):
    """A parsed search: everything but the page (no SQL: each store compiles it)."""

    experiment_ids: tuple[int, ...]
    view: str  # active, deleted, all
    filter: Expr | None
    order: tuple[OrderKey, ...]


def _present(alias: str, entity: str) -> str:
    nan = _SIDE[entity][1]
    return f"{alias}.value IS NOT NULL" + (f" AND {alias}.is_nan = 0" if nan else "")


# Attributes every run has: where NULLs sort does not change their order.
NOT_NULL_ATTRIBUTES = frozenset({"start_time", "run_id", "run_name", "status",
                                 "lifecycle_stage", "user_id", "experiment_id"})  # fmt: skip


def _nulls(item: OrderKey, dialect: Dialect) -> str:
    """NULLS LAST (MLflow's order), or for a column without NULLs the placement that walks
    its index in either direction: SQLite sorts NULLs first, PostgreSQL last, so a DESC
    walk yields NULLS LAST on SQLite and NULLS FIRST on PostgreSQL (which, asked for NULLS
    LAST, sorted all 100,000 runs for the default ``start_time DESC`` page)."""
    if item.key not in NOT_NULL_ATTRIBUTES:
        return "NULLS LAST"
    nulls_first = dialect.name == "postgresql"
    return "NULLS FIRST" if nulls_first == item.descending else "NULLS LAST"


def _order_sql(
    order: tuple[OrderKey, ...], skip_first_join: bool, dialect: Dialect
) -> tuple[str, list[str], list[object]]:
    """LEFT JOINs, one ORDER BY term per key (NULLs and NaN last), and the join arguments."""
    joins: list[str] = []
    terms: list[str] = []
    args: list[object] = []
    for index, item in enumerate(order):
        direction = "DESC" if item.descending else "ASC"
        if item.entity == "attribute":
            column = dialect.column(RUN_SCHEMA.attributes[item.key][0])
            terms.append(f"{column} {direction} {_nulls(item, dialect)}")
            continue
        alias = f"o{index}"
        if not (skip_first_join and index == 0):
            table = _SIDE[item.entity][0]
            joins.append(
                f"LEFT JOIN {table} {alias} ON {alias}.run_key = r.run_key AND {alias}.key = ?"
            )
            args.append(item.key)
        value = f"CASE WHEN {_present(alias, item.entity)} THEN {alias}.value END"
        terms.append(f"{value} {direction} NULLS LAST")
    return " ".join(joins), terms, args


def _base(query: RunQuery, dialect: Dialect) -> tuple[str, list[object]]:
    marks = ", ".join("?" for _ in query.experiment_ids)
    clauses = [f"r.experiment_id IN ({marks})"]
    args: list[object] = list(query.experiment_ids)
    if query.view != "all":
        clauses.append("r.lifecycle_stage = ?")
        args.append(query.view)
    where, where_args = compile_filter(query.filter, RUN_SCHEMA, dialect)
    clauses.append(where)
    args.extend(where_args)
    return " AND ".join(clauses), args


def page_sql(query: RunQuery, dialect: Dialect = SQLITE) -> tuple[tuple[str, list[object]], ...]:
    """The statements that list a search's run ids, in order; LIMIT/OFFSET come last.

    One statement, or for an order led by a metric/param/tag: (runs that have that value,
    driven by its index; runs that lack it; the count of the first), run as a UNION by hand.
    """
    base, base_args = _base(query, dialect)
    first = query.order[0] if query.order else None
    if first is None or first.entity == "attribute":
        joins, terms, join_args = _order_sql(query.order, skip_first_join=False, dialect=dialect)
        order = ", ".join([*terms, "r.run_key ASC"])
        sql = f"SELECT r.run_id FROM runs r {joins} WHERE {base} ORDER BY {order}"
        return ((sql, [*join_args, *base_args]),)
    table = _SIDE[first.entity][0]
    joins, terms, join_args = _order_sql(query.order, skip_first_join=True, dialect=dialect)
    having = (
        f"SELECT r.run_id FROM {table} o0 {dialect.join_in_order} runs r "
        f"ON r.run_key = o0.run_key {joins} "
        f"WHERE o0.key = ? AND {_present('o0', first.entity)} AND {base}"
    )
    lacking = (
        f"SELECT r.run_id FROM runs r {joins} WHERE NOT EXISTS (SELECT 1 FROM {table} x "
        f"WHERE x.run_key = r.run_key AND x.key = ? AND {_present('x', first.entity)}) "
        f"AND {base}"
    )
    # CROSS JOIN keeps SQLite from reordering: it must walk the (key, value) index in order.
    having_order = ", ".join([f"o0.value {'DESC' if first.descending else 'ASC'}", *terms[1:],
                              "r.run_key ASC"])  # fmt: skip
    lacking_order = ", ".join([*terms[1:], "r.run_key ASC"])
    args = [*join_args, first.key, *base_args]
    return (
        (f"{having} ORDER BY {having_order}", args),
        (f"{lacking} ORDER BY {lacking_order}", args),
        (f"SELECT COUNT(*) FROM ({having}) AS having_value", args),
    )
