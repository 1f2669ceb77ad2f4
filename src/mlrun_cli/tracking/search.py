"""``--filter``: MLflow's search syntax plus OR, NOT and parentheses, compiled to parameterized SQL.

Pipeline: ``_tokenize`` -> recursive-descent ``_Parser`` -> frozen AST -> ``compile_filter``.
Grammar (keywords case-insensitive; precedence NOT > AND > OR; AND/OR are left-associative)::

    or_expr    := and_expr (OR and_expr)*
    and_expr   := not_expr (AND not_expr)*
    not_expr   := NOT* primary
    primary    := '(' or_expr ')' | comparison
    comparison := key (('=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | LIKE | ILIKE) value
                      | [NOT] IN '(' value (',' value)* ')' | IS [NOT] NULL)
    key        := entity '.' (name | `quoted` | "quoted") | attribute
    value      := 'single-quoted' | number  ("double-quoted" is accepted too, as MLflow does)

Semantics, shared by the SQL compiler and the in-memory ``search_eval.evaluate``:

* A condition on a missing param/tag/metric never matches, except ``IS NULL``; ``!=`` and
  ``NOT IN`` need the key to exist (MLflow's behaviour). ``NOT (...)`` is plain negation, so
  ``NOT params.x = 'a'`` matches runs without ``x``. A NULL attribute column behaves like a
  missing key. Every generated condition is two-valued (never SQL NULL), so NOT is exact.
* Metrics compare their latest value; a NaN latest value matches no comparison (not even ``!=``).
* LIKE / ILIKE: ``%`` is any run of characters, ``_`` any one character and ``\\`` makes the next
  character literal. LIKE is case-sensitive; ILIKE folds ASCII letters only.

Its frozen values are ``Record``s (tracking/record.py), not dataclasses: startup time.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal, TypeAlias

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.record import Record
from mlrun_cli.tracking.sql.dialect import SQLITE, Dialect

if TYPE_CHECKING:
    from collections.abc import Mapping

Kind = Literal["string", "number"]

MAX_CONDITIONS = 200  # SQLite limits expression depth (1000); a filter is not a data file.
# Parentheses plus NOTs. SQLite's parser stack (100 entries) overflows at about 15 levels of
# `a AND (b OR ...`; the test suite runs the worst shapes at this limit.
MAX_NESTING = 10


class FilterError(UsageError):
    """A ``--filter`` that does not parse or does not type-check; shows the text and a caret."""

    def __init__(
        self, problem: str, text: str | None = None, position: int = 0, *, hint: str | None = None
    ) -> None:
        lines = [f"--filter: {problem}"]
        if text is not None:
            shown = "".join(" " if c.isspace() else c for c in text)  # keep the caret aligned
            lines += ["  " + shown, "  " + " " * position + "^"]
        super().__init__("\n".join(lines), hint=hint)
        self.problem = problem
        self.text = text
        self.position = position


class Comparison(Record):
    entity: str  # "metric" | "param" | "tag" | "attribute"
    key: str
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS [NOT] NULL"
    value: object  # str | int | float | tuple of those (IN) | None (IS [NOT] NULL)
    position: int  # offset of the key in the filter text


class And(Record):
    left: Expr
    right: Expr


class Or(Record):
    left: Expr
    right: Expr


class Not(Record):
    operand: Expr


Expr: TypeAlias = Comparison | And | Or | Not


class SideTable(Record):
    """A key/value table hanging off the base table: ``table(<id_column>, key, value[, nan])``,
    joined on the base table's column of the same name (runs: ``run_key``)."""

    table: str
    alias: str
    id_column: str
    nan_column: str | None = None


class Schema(Record):
    """What a filter may mention, and where it lives in SQL. Only these names reach SQL text."""

    noun: str  # "runs" / "experiments", for messages
    table: str
    alias: str
    attributes: Mapping[str, tuple[str, Kind]]  # name -> (column expression, kind)
    entities: Mapping[str, SideTable]  # "metric" / "param" / "tag" -> side table

    @property
    def from_clause(self) -> str:
        return f"{self.table} {self.alias}"


EXPERIMENT_SCHEMA = Schema(
    noun="experiments",
    table="experiments",
    alias="e",
    attributes={
        "name": ("e.name", "string"),
        "experiment_id": ("e.experiment_id", "number"),
        "creation_time": ("e.creation_time", "number"),
        "last_update_time": ("e.last_update_time", "number"),
        "lifecycle_stage": ("e.lifecycle_stage", "string"),
    },
    entities={"tag": SideTable("experiment_tags", "t", "experiment_id")},
)

RUN_SCHEMA = Schema(
    noun="runs",
    table="runs",
    alias="r",
    attributes={
        "run_id": ("r.run_id", "string"),
        "run_name": ("r.name", "string"),
        "status": ("r.status", "string"),
        "user_id": ("r.user_id", "string"),
        "start_time": ("r.start_time", "number"),
        "end_time": ("r.end_time", "number"),
        "experiment_id": ("r.experiment_id", "number"),
        "commit": ("r.commit_sha", "string"),
        "fingerprint": ("r.fingerprint", "string"),
        "data_fingerprint": ("r.data_fingerprint", "string"),
        "env_lock": ("r.env_lock_hash", "string"),
        "lifecycle_stage": ("r.lifecycle_stage", "string"),
        # Derived from the store's artifact root; the store registers this SQL function.
        "artifact_uri": ("mlrun_artifact_uri(r.run_id)", "string"),
        "parent_run_id": ("r.parent_run_id", "string"),
    },
    entities={
        "param": SideTable("params", "p", "run_key"),
        "tag": SideTable("tags", "t", "run_key"),
        "metric": SideTable("latest_metrics", "m", "run_key", nan_column="is_nan"),
    },
)

ENTITY_ALIASES = {
    **dict.fromkeys(("metric", "metrics"), "metric"),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), "param"),
    **dict.fromkeys(("tag", "tags"), "tag"),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), "attribute"),
}
# MLflow's alternative attribute names (its UI's column titles), matched ignoring case.
ATTRIBUTE_ALIASES = {"run name": "run_name", "created": "start_time"}


def canonical_attribute(key: str) -> str:
    """``run name`` -> ``run_name``, ``Created`` -> ``start_time``; other names unchanged."""
    return ATTRIBUTE_ALIASES.get(key.lower(), key)


_KEYWORDS = frozenset({"AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"})
_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")  # two-character ones first
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_]\w*")
_KEY = re.compile(r"[\w.]+")
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")
_NUMBER_ATTRIBUTE_OPS = (*_NUMBER_OPS, "IN", "NOT IN", "IS NULL", "IS NOT NULL")


class _Token(Record):
    kind: str  # "key" | "quoted" | "kw" | "op" | "str" | "num" | "punct" | "end"
    text: str
    pos: int
    value: object = None  # kw: upper-case word; str/num/quoted: the value
    head: str = ""  # key: the part before the first dot ...
    key: str | None = None  # ... and the part after it, if any


def _to_number(text: str) -> int | float:
    if any(c in text for c in ".eE"):
        return float(text)
    number = int(text)
    return number if abs(number) < 2**63 else float(number)  # SQLite binds 64-bit integers


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    """The quoted text starting at ``start`` (a doubled quote escapes it) and the end offset."""
    quote, parts, i = text[start], [], start + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            raise FilterError(f"missing the closing {quote}", text, start)
        parts.append(text[i:end])
        if text.startswith(quote, end + 1):
            parts.append(quote)
            i = end + 2
        else:
            return "".join(parts), end + 1


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            tokens.append(_Token("end", "", n))
            return tokens
        c, start = text[i], i
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        word = _WORD.match(text, i)
        number = _NUMBER.match(text, i)
        if c in "(),":
            tokens.append(_Token("punct", c, i))
            i += 1
        elif op is not None:
            tokens.append(_Token("op", op, i, "!=" if op == "<>" else op))
            i += len(op)
        elif c in "'\"`":
            value, i = _read_quoted(text, i)
            if c != "'" and text.startswith(".", i):  # `metrics`.acc: a quoted entity name
                token = _entity_key(text, start, value, i)
                tokens.append(token)
                i = start + len(token.text)
                continue
            tokens.append(_Token("str" if c == "'" else "quoted", text[start:i], start, value))
        elif number is not None:
            i = number.end()
            if (junk := _KEY.match(text, i)) is not None:
                raise FilterError(f"malformed number {text[start : junk.end()]!r}", text, start)
            tokens.append(_Token("num", number.group(), start, _to_number(number.group())))
        elif word is not None:
            token = _word_token(text, start, word.end())
            tokens.append(token)
            i = start + len(token.text)
        else:
            raise FilterError(f"unexpected character {c!r}", text, i)


def _word_token(text: str, start: int, i: int) -> _Token:
    """A keyword, a bare attribute name, or ``entity.key`` (key unquoted or quoted)."""
    head = text[start:i]
    if not text.startswith(".", i):
        if head.upper() in _KEYWORDS:
            return _Token("kw", head, start, head.upper())
        return _Token("key", head, start, head=head, key=None)
    return _entity_key(text, start, head, i)


def _entity_key(text: str, start: int, head: str, i: int) -> _Token:
    """``head.key`` where ``text[i]`` is the dot; the key unquoted or quoted."""
    if text[i + 1 : i + 2] in ('"', "`"):
        key, i = _read_quoted(text, i + 1)
        if not key:
            raise FilterError("empty key", text, start)
    elif (match := _KEY.match(text, i + 1)) is not None:
        key, i = match.group(), match.end()
    else:
        raise FilterError(f"expected a key after '{head}.'", text, i + 1)
    return _Token("key", text[start:i], start, head=head, key=key)


class _CheckError(Exception):
    """A comparison that parses but does not type-check; ``part`` says where the caret goes."""

    def __init__(self, problem: str, part: Literal["key", "op", "value"], index: int = 0) -> None:
        super().__init__(problem)
        self.problem, self.part, self.index = problem, part, index


def _check(entity: str, key: str, op: str, value: object, schema: Schema) -> object:
    """Validate one comparison against ``schema``; return its value, coerced (e.g. '3' -> 3)."""
    if entity == "attribute":
        if key not in schema.attributes:
            allowed = ", ".join(sorted(schema.attributes))
            raise _CheckError(f"unknown attribute {key!r}; {schema.noun} have: {allowed}", "key")
        kind = schema.attributes[key][1]
        ops: tuple[str, ...] = _NUMBER_ATTRIBUTE_OPS if kind == "number" else _STRING_OPS
        name = key
    else:
        if entity not in schema.entities:
            usable = sorted(f"{e}s" for e in schema.entities)
            usable.append("attributes")
            raise _CheckError(
                f"{entity}s cannot filter {schema.noun}; use {' or '.join(usable)}", "key"
            )
        kind = "number" if entity == "metric" else "string"
        ops, name = (_NUMBER_OPS if entity == "metric" else _STRING_OPS), f"{entity}s.{key}"
    if op not in ops:
        raise _CheckError(f"{op} cannot compare {name}; use one of: {' '.join(ops)}", "op")
    if op in ("IS NULL", "IS NOT NULL"):
        return None
    items = value if isinstance(value, tuple) else (value,)
    coerced = tuple(_coerce(v, kind, name, i, entity == "attribute") for i, v in enumerate(items))
    return coerced if isinstance(value, tuple) else coerced[0]


def _coerce(value: object, kind: Kind, name: str, index: int, numeric_strings: bool) -> object:
    if kind == "string":
        if isinstance(value, str):
            return value
        raise _CheckError(f"{name} is a string: quote the value, as in '{value}'", "value", index)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        if numeric_strings:
            return _to_number(value.strip())
        raise _CheckError(f"{name} is a number: drop the quotes around {value!r}", "value", index)
    raise _CheckError(f"{name} is a number; got {value!r}", "value", index)


def _describe(token: _Token) -> str:
    return "end of filter" if token.kind == "end" else repr(token.text)


class _Parser:
    def __init__(self, text: str, schema: Schema) -> None:
        self.text, self.schema = text, schema
        self.tokens = _tokenize(text)
        self.i = self.depth = self.conditions = 0

    def error(self, problem: str, token: _Token) -> FilterError:
        return FilterError(problem, self.text, token.pos)

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += min(1, len(self.tokens) - 1 - self.i)  # stay on "end"
        return token

    def at(self, kind: str, value: object) -> bool:
        token = self.tokens[self.i]
        return token.kind == kind and (token.value if kind == "kw" else token.text) == value

    def nest(self, token: _Token, by: int) -> None:
        self.depth += by
        if self.depth > MAX_NESTING:
            raise self.error(
                f"nested too deeply (more than {MAX_NESTING} parentheses and NOTs)", token
            )

    def parse(self) -> Expr:
        expr = self.or_expr()
        token = self.take()
        if token.text == ")":
            raise self.error("unmatched ')'", token)
        if token.kind != "end":
            raise self.error(f"expected AND, OR or end of filter; got {_describe(token)}", token)
        return expr

    def or_expr(self) -> Expr:
        expr = self.and_expr()
        while self.at("kw", "OR"):
            self.take()
            expr = Or(expr, self.and_expr())
        return expr

    def and_expr(self) -> Expr:
        expr = self.not_expr()
        while self.at("kw", "AND"):
            self.take()
            expr = And(expr, self.not_expr())
        return expr

    def not_expr(self) -> Expr:
        nots = 0
        while self.at("kw", "NOT"):
            self.nest(self.take(), 1)
            nots += 1
        expr = self.primary()
        for _ in range(nots):
            expr = Not(expr)
        self.depth -= nots
        return expr

    def primary(self) -> Expr:
        if not self.at("punct", "("):
            return self.comparison()
        opening = self.take()
        self.nest(opening, 1)
        expr = self.or_expr()
        token = self.take()
        if token.text != ")" or token.kind != "punct":
            where = f"to close the '(' at column {opening.pos + 1}"
            raise self.error(f"expected ')' {where}; got {_describe(token)}", token)
        self.depth -= 1
        return expr

    def comparison(self) -> Comparison:
        token = self.take()
        if token.kind == "quoted":
            head, key = str(token.value), None
        elif token.kind == "key":
            head, key = token.head, token.key
        else:
            example = "a condition such as metrics.acc > 0.9 or params.model = 'cnn'"
            raise self.error(f"expected {example}; got {_describe(token)}", token)
        if token.kind == "key" and head.lower() in ENTITY_ALIASES:
            entity = ENTITY_ALIASES[head.lower()]
            if key is None:
                end = _Token("key", "", token.pos + len(token.text))
                raise self.error(f"expected '.' and a key after {head!r}", end)
        else:
            if key is not None:
                entities = "metrics, params, tags or attributes"
                raise self.error(f"unknown entity {head!r}; expected {entities}", token)
            entity, key = "attribute", head
        if entity == "attribute":
            key = canonical_attribute(key)
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise self.error(f"too many conditions (at most {MAX_CONDITIONS})", token)
        op_token = self.take()
        op, value, positions = self.operator(op_token, token)
        try:
            value = _check(entity, key, op, value, self.schema)
        except _CheckError as exc:
            where = {"key": [token.pos], "op": [op_token.pos], "value": positions}[exc.part]
            raise FilterError(exc.problem, self.text, where[exc.index]) from None
        return Comparison(entity, key, op, value, token.pos)

    def operator(self, token: _Token, key: _Token) -> tuple[str, object, list[int]]:
        if token.kind == "op":
            value, pos = self.value(f"after {token.text!r}")
            return str(token.value), value, [pos]
        word = token.value if token.kind == "kw" else None
        if word in ("LIKE", "ILIKE"):
            value, pos = self.value(f"after {word}")
            return str(word), value, [pos]
        if word == "NOT":
            following = self.take()
            if following.kind != "kw" or following.value != "IN":
                raise self.error(f"expected IN after NOT; got {_describe(following)}", following)
            word = "NOT IN"
        if word in ("IN", "NOT IN"):
            return (str(word), *self.value_list(str(word)))
        if word == "IS":
            negated = self.at("kw", "NOT")
            if negated:
                self.take()
            following = self.take()
            if following.value != "NULL" or following.kind != "kw":
                expected = "NULL" if negated else "NULL or NOT NULL"
                raise self.error(
                    f"expected {expected} after IS; got {_describe(following)}", following
                )
            return ("IS NOT NULL" if negated else "IS NULL"), None, []
        ops = "= != < <= > >= LIKE ILIKE IN NOT IN IS"
        raise self.error(
            f"expected an operator ({ops}) after {key.text!r}; got {_describe(token)}", token
        )

    def value(self, where: str) -> tuple[object, int]:
        token = self.take()
        if token.kind in ("str", "num") or (token.kind == "quoted" and token.text[0] == '"'):
            return token.value, token.pos
        raise self.error(f"expected a value {where}; got {_describe(token)}", token)

    def value_list(self, op: str) -> tuple[tuple[object, ...], list[int]]:
        token = self.take()
        if token.text != "(" or token.kind != "punct":
            raise self.error(f"expected '(' after {op}; got {_describe(token)}", token)
        values, positions = [], []
        while True:
            value, pos = self.value(f"in the {op} list")
            values.append(value)
            positions.append(pos)
            token = self.take()
            if token.kind == "punct" and token.text == ")":
                return tuple(values), positions
            if token.kind != "punct" or token.text != ",":
                raise self.error(
                    f"expected ',' or ')' in the {op} list; got {_describe(token)}", token
                )


def parse_filter(text: str, *, schema: Schema = RUN_SCHEMA) -> Expr | None:
    """Parse and type-check a filter against ``schema``; ``None`` for an empty filter."""
    if not text.strip():
        return None
    return _Parser(text, schema).parse()


def like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, ``\\`` escape) to an equivalent SQLite GLOB one."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
            out.append(f"[{c}]" if c in "*?[" else c)
        elif c in "%_":
            out.append("*" if c == "%" else "?")
        else:
            out.append(f"[{c}]" if c in "*?[" else c)
        i += 1
    return "".join(out)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def ascii_lower(text: str) -> str:
    """What SQLite's LOWER() does (without ICU): fold A-Z only."""
    return text.translate(_ASCII_LOWER)


def compile_filter(
    expr: Expr | None, schema: Schema, dialect: Dialect = SQLITE
) -> tuple[str, list[object]]:
    """A SQL boolean over ``schema.from_clause`` with ``?`` placeholders, and its arguments."""
    if expr is None:
        return "1=1", []
    args: list[object] = []
    sql = _compile(expr, schema, args, dialect)
    return (f"({sql})" if isinstance(expr, And | Or) else sql), args  # safe to AND with more


def _compile(expr: Expr, schema: Schema, args: list[object], dialect: Dialect) -> str:
    # SQL has our precedence (NOT > AND > OR; AND and OR associative), so only an OR directly
    # under an AND needs parentheses. That matters: SQLite's parser stack holds only ~100 entries.
    if isinstance(expr, And | Or):
        word, operands = ("AND" if isinstance(expr, And) else "OR"), []
        for operand in (expr.left, expr.right):
            sql = _compile(operand, schema, args, dialect)
            operands.append(f"({sql})" if word == "AND" and isinstance(operand, Or) else sql)
        return f"{operands[0]} {word} {operands[1]}"
    if isinstance(expr, Not):
        return f"NOT ({_compile(expr.operand, schema, args, dialect)})"
    return _compile_comparison(expr, schema, args, dialect)


def _compile_comparison(
    expr: Comparison, schema: Schema, args: list[object], dialect: Dialect
) -> str:
    try:  # re-checked: an AST built by hand (or parsed for another schema) must not reach SQL
        value = _check(expr.entity, expr.key, expr.op, expr.value, schema)
    except _CheckError as exc:
        raise FilterError(exc.problem, None, expr.position) from None
    if expr.entity == "attribute":
        column = dialect.column(schema.attributes[expr.key][0])
        if expr.op in ("IS NULL", "IS NOT NULL"):
            return f"{column} {expr.op}"
        return f"({column} IS NOT NULL AND {_predicate(column, expr.op, value, args, dialect)})"
    side = schema.entities[expr.entity]
    a = side.alias
    # Only schema-defined names are interpolated; keys and values are bound parameters.
    row = (
        f"SELECT 1 FROM {side.table} {a} "
        f"WHERE {a}.{side.id_column} = {schema.alias}.{side.id_column}"
    )
    row += f" AND {a}.key = ?"
    args.append(expr.key)
    if expr.op == "IS NULL":
        return f"NOT EXISTS ({row})"
    if expr.op == "IS NOT NULL":
        return f"EXISTS ({row})"
    if side.nan_column is not None:  # NaN is stored as value NULL, is_nan = 1
        row += f" AND {a}.{side.nan_column} = 0"
    return f"EXISTS ({row} AND {_predicate(f'{a}.value', expr.op, value, args, dialect)})"


def _predicate(column: str, op: str, value: object, args: list[object], dialect: Dialect) -> str:
    if op in ("IN", "NOT IN"):
        values = value if isinstance(value, tuple) else (value,)
        args.extend(values)
        return f"{column} {op} ({', '.join('?' * len(values))})"
    if op in ("LIKE", "ILIKE"):  # each dialect's exact equivalent (tracking/sql/dialect.py)
        return dialect.like(column, op, str(value), args)
    args.append(value)
    return f"{column} {op} ?"
