"""An in-memory evaluator for ``--filter`` ASTs, with exactly the semantics of the SQL compiler.

It is the reference model the compiler is property-tested against
(``tests/unit/tracking/test_search.py``);
see the module docstring of ``mlrun_cli.tracking.search`` for the rules both follow.
"""

from __future__ import annotations

import math
import operator
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from mlrun_cli.tracking.search import And, Comparison, Not, Or, ascii_lower

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.search import Expr

_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


@dataclass
class Record:
    """One run or experiment: attribute values (None = SQL NULL) and its key/value entities."""

    attributes: dict[str, object] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)  # latest values; NaN allowed


@lru_cache(maxsize=1024)
def like_regex(pattern: str) -> re.Pattern[str]:
    """A regex that fully matches what the LIKE ``pattern`` matches (``%``, ``_``, ``\\``)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif c in "%_":
            out.append(".*" if c == "%" else ".")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def evaluate(expr: Expr | None, record: Record) -> bool:
    """Whether ``record`` matches ``expr`` (``None`` matches everything)."""
    if expr is None:
        return True
    if isinstance(expr, And):
        return evaluate(expr.left, record) and evaluate(expr.right, record)
    if isinstance(expr, Or):
        return evaluate(expr.left, record) or evaluate(expr.right, record)
    if isinstance(expr, Not):
        return not evaluate(expr.operand, record)
    return _compare(expr, record)


def _compare(expr: Comparison, record: Record) -> bool:
    entities: dict[str, dict[str, Any]] = {
        "attribute": record.attributes,
        "param": record.params,
        "tag": record.tags,
        "metric": record.metrics,
    }
    actual = entities[expr.entity].get(expr.key)
    if expr.op in ("IS NULL", "IS NOT NULL"):
        return (actual is None) == (expr.op == "IS NULL")
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return False
    value: Any = expr.value
    if expr.op == "IN":
        return actual in value
    if expr.op == "NOT IN":
        return actual not in value
    if expr.op == "LIKE":
        return like_regex(value).fullmatch(actual) is not None
    if expr.op == "ILIKE":
        return like_regex(ascii_lower(value)).fullmatch(ascii_lower(actual)) is not None
    return _ORDER[expr.op](actual, value)
