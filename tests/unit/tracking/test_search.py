"""``--filter``: parsing, type checks, error carets, SQL compilation, and SQL == in-memory model."""

from __future__ import annotations

import dataclasses
import functools
import math
import random
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.search import (
    EXPERIMENT_SCHEMA,
    MAX_CONDITIONS,
    MAX_NESTING,
    RUN_SCHEMA,
    And,
    Comparison,
    Expr,
    FilterError,
    Not,
    Or,
    compile_filter,
    like_to_glob,
    parse_filter,
)
from mlrun_cli.tracking.search_eval import Record, evaluate, like_regex

if TYPE_CHECKING:
    from collections.abc import Callable

# ---------------------------------------------------------------------------------------------
# helpers


def strip(expr: Expr | None) -> Expr | None:
    """The AST with positions zeroed, for comparing shapes."""
    if expr is None:
        return None
    if isinstance(expr, Comparison):
        return dataclasses.replace(expr, position=0)
    if isinstance(expr, Not):
        return Not(strip(expr.operand))  # type: ignore[arg-type]
    return type(expr)(strip(expr.left), strip(expr.right))  # type: ignore[arg-type]


def c(entity: str, key: str, op: str, value: object = None) -> Comparison:
    return Comparison(entity, key, op, value, 0)


def parsed(text: str, **kwargs: Any) -> Expr | None:
    return strip(parse_filter(text, **kwargs))


RUN_DDL = (
    """CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment_id INTEGER NOT NULL, name TEXT NOT NULL,
        status TEXT NOT NULL, user_id TEXT NOT NULL, start_time BIGINT NOT NULL, end_time BIGINT,
        commit_sha TEXT, fingerprint TEXT, data_fingerprint TEXT, env_lock_hash TEXT,
        lifecycle_stage TEXT NOT NULL, run_key INTEGER NOT NULL UNIQUE)""",
    "CREATE TABLE params (run_key INTEGER, key TEXT, value TEXT NOT NULL, PRIMARY KEY (run_key, key))",
    "CREATE TABLE tags (run_key INTEGER, key TEXT, value TEXT NOT NULL, PRIMARY KEY (run_key, key))",
    """CREATE TABLE latest_metrics (run_key INTEGER, key TEXT, value DOUBLE PRECISION,
        is_nan INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_key, key))""",
)
COLUMNS = {name: column.split(".")[1] for name, (column, _) in RUN_SCHEMA.attributes.items()}


def run_db(records: list[Record]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for statement in RUN_DDL:
        db.execute(statement)
    insert_records(db, records)
    return db


def insert_records(db: Any, records: list[Record]) -> None:
    """Rows for ``records`` through ``db.execute`` (``?`` placeholders: any SQL store)."""
    for rec in records:
        run_key = db.execute("SELECT COALESCE(MAX(run_key), 0) + 1 FROM runs").fetchone()[0]
        names = ", ".join([*(COLUMNS[a] for a in rec.attributes), "run_key"])
        marks = ", ".join("?" * (len(rec.attributes) + 1))
        db.execute(
            f"INSERT INTO runs ({names}) VALUES ({marks})", [*rec.attributes.values(), run_key]
        )
        for table, entries in (("params", rec.params), ("tags", rec.tags)):
            for key, value in entries.items():
                db.execute(f"INSERT INTO {table} VALUES (?, ?, ?)", (run_key, key, value))
        for key, number in rec.metrics.items():
            nan = math.isnan(number)
            db.execute(
                "INSERT INTO latest_metrics VALUES (?, ?, ?, ?)",
                (run_key, key, None if nan else number, int(nan)),
            )


def sql_matches(db: sqlite3.Connection, expr: Expr | None) -> set[str]:
    where, args = compile_filter(expr, RUN_SCHEMA)
    rows = db.execute(f"SELECT r.run_id FROM runs r WHERE {where}", args).fetchall()
    return {row[0] for row in rows}


def model_matches(records: list[Record], expr: Expr | None) -> set[str]:
    return {str(r.attributes["run_id"]) for r in records if evaluate(expr, r)}


def run(run_id: str, **fields: Any) -> Record:
    attributes: dict[str, object] = {
        "run_id": run_id,
        "experiment_id": 1,
        "run_name": run_id,
        "status": "FINISHED",
        "user_id": "ann",
        "start_time": 10,
        "end_time": 20,
        "lifecycle_stage": "active",
    }
    attributes.update(fields.pop("attributes", {}))
    return Record(attributes=attributes, **fields)


SAMPLE = [
    run("r1", params={"lr": "0.1", "model": "CNN"}, tags={"team": "vision"}, metrics={"acc": 0.9}),
    run("r2", params={"lr": "0.01", "model": "cnn_v2"}, metrics={"acc": math.nan, "loss": 1.0}),
    run(
        "r3",
        params={"model": "a%b"},
        tags={"team": "NLP", "a-b": "x"},
        metrics={"acc": 0.5},
        attributes={"status": "FAILED", "end_time": None, "commit": "abc123"},
    ),
    run("r4", attributes={"status": "RUNNING", "end_time": None, "start_time": 30}),
]


def sample_matches(text: str) -> set[str]:
    expr = parse_filter(text)
    db = run_db(SAMPLE)
    result = sql_matches(db, expr)
    assert result == model_matches(SAMPLE, expr), text
    return result


# ---------------------------------------------------------------------------------------------
# parsing


def test_empty_filter_is_none_and_compiles_to_true() -> None:
    assert parse_filter("") is None
    assert parse_filter("  \t\n") is None
    assert compile_filter(None, RUN_SCHEMA) == ("1=1", [])


@pytest.mark.parametrize(
    ("text", "entity", "key"),
    [
        ("metrics.acc", "metric", "acc"),
        ("metric.acc", "metric", "acc"),
        ("METRICS.acc", "metric", "acc"),
        ("params.lr", "param", "lr"),
        ("param.lr", "param", "lr"),
        ("parameter.lr", "param", "lr"),
        ("Parameters.lr", "param", "lr"),
        ("tags.team", "tag", "team"),
        ("tag.team", "tag", "team"),
        ("attributes.status", "attribute", "status"),
        ("attribute.status", "attribute", "status"),
        ("attr.status", "attribute", "status"),
        ("run.status", "attribute", "status"),
        ("RUN.status", "attribute", "status"),
        ("status", "attribute", "status"),
        ("params.model.lr", "param", "model.lr"),
        ("params.Model", "param", "Model"),
        ('metrics."my key"', "metric", "my key"),
        ("tags.`a-b`", "tag", "a-b"),
        ('tags."say ""hi"""', "tag", 'say "hi"'),
        ("tags.`a``b`", "tag", "a`b"),
        ("params.1", "param", "1"),
        ('"status"', "attribute", "status"),
    ],
)
def test_identifiers(text: str, entity: str, key: str) -> None:
    value: object = 1 if entity == "metric" or key == "start_time" else "x"
    literal = "1" if value == 1 else "'x'"
    expr = parse_filter(f"{text} = {literal}")
    assert expr == Comparison(entity, key, "=", value, 0)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("1", 1),
        ("-2", -2),
        ("0.5", 0.5),
        ("-0.5", -0.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("-1.5E-2", -0.015),
        ("2e+2", 200.0),
        ("99999999999999999999", 1e20),
    ],
)
def test_numbers(literal: str, value: float) -> None:
    expr = parse_filter(f"metrics.m > {literal}")
    assert isinstance(expr, Comparison)
    assert expr.value == value
    assert type(expr.value) is type(value)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("'a'", "a"), ("''", ""), ("'it''s'", "it's"), ("'0.5'", "0.5"), ('"dq"', "dq")],
)
def test_strings(literal: str, value: str) -> None:
    assert parsed(f"params.p = {literal}") == c("param", "p", "=", value)


@pytest.mark.parametrize(
    ("op", "normalized"),
    [("=", "="), ("!=", "!="), ("<>", "!="), ("<", "<"), ("<=", "<="), (">", ">"), (">=", ">=")],
)
def test_metric_operators(op: str, normalized: str) -> None:
    assert parsed(f"metrics.m {op} 1") == c("metric", "m", normalized, 1)
    assert parsed(f"metrics.m{op}1") == c("metric", "m", normalized, 1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.p = 'a'", c("param", "p", "=", "a")),
        ("params.p != 'a'", c("param", "p", "!=", "a")),
        ("params.p like 'a%'", c("param", "p", "LIKE", "a%")),
        ("params.p ILike 'a%'", c("param", "p", "ILIKE", "a%")),
        ("params.p IN ('a')", c("param", "p", "IN", ("a",))),
        ("params.p in ('a','b' , 'c')", c("param", "p", "IN", ("a", "b", "c"))),
        ("params.p NOT IN ('a', 'b')", c("param", "p", "NOT IN", ("a", "b"))),
        ("params.p is null", c("param", "p", "IS NULL")),
        ("params.p IS NOT NULL", c("param", "p", "IS NOT NULL")),
        ("tags.t = 'a'", c("tag", "t", "=", "a")),
        ("tags.t NOT IN ('a')", c("tag", "t", "NOT IN", ("a",))),
        ("status LIKE 'F%'", c("attribute", "status", "LIKE", "F%")),
        ("end_time IS NULL", c("attribute", "end_time", "IS NULL")),
        ("start_time >= 5", c("attribute", "start_time", ">=", 5)),
        ("experiment_id IN (1, 2)", c("attribute", "experiment_id", "IN", (1, 2))),
        ("experiment_id = '3'", c("attribute", "experiment_id", "=", 3)),
        ("experiment_id IN ('1', 2)", c("attribute", "experiment_id", "IN", (1, 2))),
        ("commit = 'abc'", c("attribute", "commit", "=", "abc")),
    ],
)
def test_string_and_attribute_operators(text: str, expected: Comparison) -> None:
    assert parsed(text) == expected


A, B, C = (c("param", k, "=", "1") for k in "abc")
PA, PB, PC = "params.a = '1'", "params.b = '1'", "params.c = '1'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{PA} AND {PB} OR {PC}", Or(And(A, B), C)),
        (f"{PA} OR {PB} AND {PC}", Or(A, And(B, C))),
        (f"{PA} and {PB} and {PC}", And(And(A, B), C)),
        (f"{PA} or {PB} or {PC}", Or(Or(A, B), C)),
        (f"({PA} OR {PB}) AND {PC}", And(Or(A, B), C)),
        (f"{PA} AND ({PB} OR {PC})", And(A, Or(B, C))),
        (f"NOT {PA} AND {PB}", And(Not(A), B)),
        (f"NOT {PA} OR {PB}", Or(Not(A), B)),
        (f"{PA} AND NOT {PB}", And(A, Not(B))),
        (f"NOT ({PA} OR {PB})", Not(Or(A, B))),
        (f"not not {PA}", Not(Not(A))),
        (f"((({PA})))", A),
        (f"NOT({PA})AND({PB})", And(Not(A), B)),
    ],
)
def test_precedence(text: str, expected: Expr) -> None:
    assert parsed(text) == expected


def test_position_is_the_key_offset() -> None:
    expr = parse_filter("  params.a = '1' AND  tags.t = 'x'")
    assert isinstance(expr, And)
    assert isinstance(expr.left, Comparison)
    assert isinstance(expr.right, Comparison)
    assert (expr.left.position, expr.right.position) == (2, 22)


# ---------------------------------------------------------------------------------------------
# errors


def test_error_message_layout() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("metrics.acc <")
    err = info.value
    assert str(err) == (
        "--filter: expected a value after '<'; got end of filter\n  metrics.acc <\n               ^"
    )
    assert err.position == 13
    assert isinstance(err, UsageError)
    assert err.exit_code == 2


@pytest.mark.parametrize(
    ("text", "problem", "position"),
    [
        ("metrics.acc <", "expected a value after '<'; got end of filter", 13),
        ("metrics.acc < AND", "expected a value after '<'; got 'AND'", 14),
        ("metrics.acc < '0.5'", "metrics.acc is a number: drop the quotes around '0.5'", 14),
        ("metrics.acc = 'high'", "metrics.acc is a number; got 'high'", 14),
        ("metrics.acc LIKE 'a'", "LIKE cannot compare metrics.acc", 12),
        ("metrics.acc IN (1)", "IN cannot compare metrics.acc", 12),
        ("metrics.acc IS NULL", "IS NULL cannot compare metrics.acc", 12),
        ("params.lr = 0.1", "params.lr is a string: quote the value, as in '0.1'", 12),
        ("params.lr IN ('a', 2)", "params.lr is a string", 19),
        ("params.lr < '1'", "< cannot compare params.lr", 10),
        ("tags.t >= 'a'", ">= cannot compare tags.t", 7),
        ("status > 'a'", "> cannot compare status", 7),
        ("status = 1", "status is a string", 9),
        ("start_time = 'soon'", "start_time is a number; got 'soon'", 13),
        ("start_time LIKE '1%'", "LIKE cannot compare start_time", 11),
        (
            "bogus = 'a'",
            "unknown attribute 'bogus'; runs have: artifact_uri, commit, data_fingerprint",
            0,
        ),
        ("status = 'a' AND x = 'a'", "unknown attribute 'x'", 17),
        ("status = 'a' AND x AND", "expected an operator", 19),
        ("attributes.nope = 1", "unknown attribute 'nope'", 0),
        ("foo.bar = 'a'", "unknown entity 'foo'", 0),
        ("metrics = 1", "expected '.' and a key after 'metrics'", 7),
        ("params. = 'a'", "expected a key after 'params.'", 7),
        ("params.`` = 'a'", "empty key", 0),
        ("params.`abc = 'a'", "missing the closing `", 7),
        ("params.a = 'abc", "missing the closing '", 11),
        ("params.a = 'a' AND", "expected a condition such as", 18),
        ("params.a 'a'", "expected an operator (= != < <= > >= LIKE ILIKE IN NOT IN IS)", 9),
        ("params.a", "expected an operator", 8),
        ("params.a == 'a'", "expected a value after '='; got '='", 10),
        ("params.a = `x`", "expected a value after '='; got '`x`'", 11),
        ("params.a NOT LIKE 'a'", "expected IN after NOT; got 'LIKE'", 13),
        ("params.a IN 'a'", "expected '(' after IN; got \"'a'\"", 12),
        ("params.a IN ()", "expected a value in the IN list; got ')'", 13),
        ("params.a IN ('a' 'b')", "expected ',' or ')' in the IN list", 17),
        ("params.a IN ('a',)", "expected a value in the IN list; got ')'", 17),
        ("params.a NOT IN ('a'", "expected ',' or ')' in the NOT IN list; got end", 20),
        ("params.a IS 'x'", "expected NULL or NOT NULL after IS", 12),
        ("params.a IS NOT 'x'", "expected NULL after IS", 16),
        ("(params.a = 'a'", "expected ')' to close the '(' at column 1; got end of filter", 15),
        ("params.a = 'a')", "unmatched ')'", 14),
        ("params.a = 'a' params.b = 'b'", "expected AND, OR or end of filter", 15),
        ("params.a = 'a' NOT params.b = 'b'", "expected AND, OR or end of filter", 15),
        ("()", "expected a condition such as", 1),
        ("params.a ! 'a'", "unexpected character '!'", 9),
        ("metrics.m > 1.2.3", "malformed number '1.2.3'", 12),
        ("metrics.m > 12abc", "malformed number '12abc'", 12),
        ("metrics.m > -", "unexpected character '-'", 12),
        ("params.a = 'a' ; DROP TABLE runs", "unexpected character ';'", 15),
    ],
)
def test_errors(text: str, problem: str, position: int) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(text)
    err = info.value
    assert problem in err.problem
    assert err.position == position
    lines = str(err).split("\n")
    assert lines == [f"--filter: {err.problem}", f"  {text}", "  " + " " * position + "^"]


def test_caret_stays_aligned_with_tabs_and_newlines() -> None:
    with pytest.raises(FilterError) as info:
        parse_filter("params.a = 'a'\n\tAND bogus = 'x'")
    assert str(info.value).split("\n")[1:] == [
        "  params.a = 'a'  AND bogus = 'x'",
        "                      ^",
    ]


NESTED_SHAPES: dict[str, Callable[[int, str], str]] = {  # n levels of nesting each
    "parens": lambda n, x: "(" * n + x + ")" * n,
    "nots": lambda n, x: "NOT " * n + x,
    "and-or": lambda n, x: f"{x} AND ({x} OR " * n + x + ")" * n,
    "or-and": lambda n, x: f"({x} OR {x} AND " * n + x + ")" * n,
    "not-parens": lambda n, x: "NOT (" * (n // 2) + x + ")" * (n // 2),
    "and-not-or": lambda n, x: f"{x} AND NOT ({x} OR " * (n // 2) + x + ")" * (n // 2),
}


@pytest.mark.parametrize("shape", sorted(NESTED_SHAPES))
@pytest.mark.parametrize(
    "leaf", ["metrics.acc >= 0.5", "params.model NOT IN ('a', 'b')", "status ILIKE 'f%'"]
)
def test_nesting_limit_keeps_sqlite_parser_happy(shape: str, leaf: str) -> None:
    build = NESTED_SHAPES[shape]
    sample_matches(build(MAX_NESTING, leaf))  # SQLite accepts the deepest filter we accept
    with pytest.raises(FilterError, match="nested too deeply"):
        parse_filter(build(MAX_NESTING + 2, leaf))


def test_nesting_and_size_limits() -> None:
    with pytest.raises(FilterError, match="nested too deeply") as info:
        parse_filter("(" * (MAX_NESTING + 1) + PA + ")" * (MAX_NESTING + 1))
    assert info.value.position == MAX_NESTING
    with pytest.raises(FilterError, match="too many conditions") as info:
        parse_filter(" OR ".join([PA] * (MAX_CONDITIONS + 1)))
    assert info.value.position == (len(PA) + 4) * MAX_CONDITIONS
    for word in ("OR", "AND"):
        assert sample_matches(f" {word} ".join(["metrics.acc > 0.6"] * MAX_CONDITIONS)) == {"r1"}


def test_experiment_schema_checks() -> None:
    expr = parse_filter("name LIKE 'x%' AND tags.group = 'y'", schema=EXPERIMENT_SCHEMA)
    assert strip(expr) == And(c("attribute", "name", "LIKE", "x%"), c("tag", "group", "=", "y"))
    for text, problem in [
        ("metrics.m > 1", "metrics cannot filter experiments; use tags or attributes"),
        ("params.p = 'a'", "params cannot filter experiments"),
        ("run_name = 'a'", "unknown attribute 'run_name'; experiments have: creation_time, "),
    ]:
        with pytest.raises(FilterError) as info:
            parse_filter(text, schema=EXPERIMENT_SCHEMA)
        assert problem in info.value.problem
        assert info.value.position == 0


def test_compile_rechecks_the_ast_against_the_schema() -> None:
    with pytest.raises(FilterError, match="metrics cannot filter experiments") as info:
        compile_filter(parse_filter("tags.a = 'x' OR metrics.m > 1"), EXPERIMENT_SCHEMA)
    assert str(info.value).count("\n") == 0
    hostile = c("attribute", "name; DROP TABLE runs", "=", "x")
    with pytest.raises(FilterError, match="unknown attribute"):
        compile_filter(hostile, RUN_SCHEMA)
    with pytest.raises(FilterError, match="is a string"):
        compile_filter(c("param", "p", "=", 3), RUN_SCHEMA)


# ---------------------------------------------------------------------------------------------
# SQL


def test_compiled_sql_shapes() -> None:
    assert compile_filter(parse_filter("params.lr = '0.1'"), RUN_SCHEMA) == (
        "EXISTS (SELECT 1 FROM params p WHERE p.run_key = r.run_key AND p.key = ? AND p.value = ?)",
        ["lr", "0.1"],
    )
    assert compile_filter(parse_filter("tags.t IS NULL"), RUN_SCHEMA) == (
        "NOT EXISTS (SELECT 1 FROM tags t WHERE t.run_key = r.run_key AND t.key = ?)",
        ["t"],
    )
    sql, args = compile_filter(parse_filter("NOT metrics.acc >= 0.5"), RUN_SCHEMA)
    assert sql == (
        "NOT (EXISTS (SELECT 1 FROM latest_metrics m WHERE m.run_key = r.run_key AND m.key = ?"
        " AND m.is_nan = 0 AND m.value >= ?))"
    )
    assert args == ["acc", 0.5]
    sql, args = compile_filter(
        parse_filter("run_name ILIKE 'A%' OR commit IN ('x', 'y')"), RUN_SCHEMA
    )
    assert sql == (
        "((r.name IS NOT NULL AND LOWER(r.name) GLOB ?)"
        " OR (r.commit_sha IS NOT NULL AND r.commit_sha IN (?, ?)))"
    )
    assert args == ["a*", "x", "y"]
    sql, args = compile_filter(parse_filter("env_lock = 'h'"), RUN_SCHEMA)
    assert "r.env_lock_hash" in sql
    sql, args = compile_filter(
        parse_filter("tags.a = 'b' AND experiment_id = '7'", schema=EXPERIMENT_SCHEMA),
        EXPERIMENT_SCHEMA,
    )
    assert sql == (
        "(EXISTS (SELECT 1 FROM experiment_tags t WHERE t.experiment_id = e.experiment_id"
        " AND t.key = ? AND t.value = ?) AND (e.experiment_id IS NOT NULL AND e.experiment_id = ?))"
    )
    assert args == ["a", "b", 7]


def test_keys_and_values_are_never_sql_text() -> None:
    evil = "x') OR 1=1 --"
    sql, args = compile_filter(
        parse_filter(f"params.`{evil}` = '{evil.replace(chr(39), 2 * chr(39))}'"), RUN_SCHEMA
    )
    assert evil not in sql
    assert args == [evil, evil]


@pytest.mark.parametrize(
    ("pattern", "glob"),
    [
        ("a%", "a*"),
        ("_b_", "?b?"),
        ("*?[", "[*][?][[]"),
        ("]^", "]^"),
        ("\\%\\_\\\\", "%_\\"),
        ("\\*", "[*]"),
        ("end\\", "end\\"),
    ],
)
def test_like_to_glob(pattern: str, glob: str) -> None:
    assert like_to_glob(pattern) == glob


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.model = 'CNN'", {"r1"}),
        ("params.model != 'CNN'", {"r2", "r3"}),  # r4 has no model: != does not match
        ("NOT params.model = 'CNN'", {"r2", "r3", "r4"}),
        ("params.model IS NULL", {"r4"}),
        ("params.model IS NOT NULL", {"r1", "r2", "r3"}),
        ("params.model LIKE 'cnn%'", {"r2"}),  # LIKE is case-sensitive
        ("params.model ILIKE 'cnn%'", {"r1", "r2"}),
        ("params.model LIKE 'cnn_v_'", {"r2"}),
        ("params.model LIKE 'a\\%b'", {"r3"}),
        ("params.model LIKE '%\\_%'", {"r2"}),
        ("params.model IN ('CNN', 'a%b')", {"r1", "r3"}),
        ("params.model NOT IN ('CNN')", {"r2", "r3"}),
        ("metrics.acc > 0.6", {"r1"}),
        ("metrics.acc != 0.9", {"r3"}),  # NaN (r2) and missing (r4) never match
        ("metrics.acc <= 1 OR metrics.loss = 1", {"r1", "r2", "r3"}),
        ("NOT metrics.acc > 0.6", {"r2", "r3", "r4"}),
        ("tags.`a-b` = 'x'", {"r3"}),
        ("tags.team ILIKE 'nlp'", {"r3"}),
        ("status = 'FAILED' OR status = 'RUNNING'", {"r3", "r4"}),
        ("status != 'FINISHED' AND NOT end_time IS NOT NULL", {"r3", "r4"}),
        ("end_time > 0", {"r1", "r2"}),
        ("NOT end_time > 0", {"r3", "r4"}),
        ("commit IS NULL", {"r1", "r2", "r4"}),
        ("commit LIKE 'abc%'", {"r3"}),
        ("start_time >= 30", {"r4"}),
        ("experiment_id = '1' AND run_id IN ('r1', 'r4')", {"r1", "r4"}),
        ("(params.lr = '0.1' OR params.lr = '0.01') AND NOT metrics.acc < 0.8", {"r1", "r2"}),
    ],
)
def test_semantics_on_sample_runs(text: str, expected: set[str]) -> None:
    assert sample_matches(text) == expected


def test_experiment_filters_run_in_sqlite() -> None:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE TABLE experiments (experiment_id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " lifecycle_stage TEXT NOT NULL, creation_time BIGINT NOT NULL,"
        " last_update_time BIGINT NOT NULL)"
    )
    db.execute("CREATE TABLE experiment_tags (experiment_id INTEGER, key TEXT, value TEXT)")
    db.executemany(
        "INSERT INTO experiments VALUES (?, ?, ?, ?, ?)",
        [
            (1, "Default", "active", 1, 5),
            (2, "vision", "active", 2, 9),
            (3, "old", "deleted", 3, 3),
        ],
    )
    db.execute("INSERT INTO experiment_tags VALUES (2, 'team', 'cv')")

    def ids(text: str) -> list[int]:
        where, args = compile_filter(
            parse_filter(text, schema=EXPERIMENT_SCHEMA), EXPERIMENT_SCHEMA
        )
        sql = f"SELECT e.experiment_id FROM {EXPERIMENT_SCHEMA.from_clause} WHERE {where}"
        return sorted(row[0] for row in db.execute(sql, args))

    assert ids("") == [1, 2, 3]
    assert ids("experiment_id = '2'") == [2]
    assert ids("name ILIKE 'd%' OR tags.team = 'cv'") == [1, 2]
    assert ids("NOT tags.team IS NOT NULL AND lifecycle_stage = 'active'") == [1]
    assert ids("last_update_time > 4 AND creation_time < 3") == [1, 2]


# ---------------------------------------------------------------------------------------------
# property-based


TOKENS = [
    "params.a", "metrics.m", "tags.`t k`", 'tags."q"', "status", "start_time", "run.end_time",
    "nope", "foo.bar", "(", ")", ",", "AND", "or", "Not", "IN", "not in", "IS", "NULL", "LIKE",
    "ilike", "=", "!=", "<>", "<", "<=", ">", ">=", "'x'", "'it''s'", "'%'", "1", "-2.5e3",
    "\"v\"", "`", "'", ".", "-", "!", "params.", "1.2.3",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_random_text_parses_or_raises_filter_error(text: str) -> None:
    check_parse_total(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=12), st.sampled_from([" ", "", "  "]))
def test_token_soup_parses_or_raises_filter_error(tokens: list[str], sep: str) -> None:
    check_parse_total(sep.join(tokens))


def check_parse_total(text: str) -> None:
    error: FilterError | None = None
    try:
        expr = parse_filter(text)
    except FilterError as exc:
        error = exc
    if error is not None:
        assert 0 <= error.position <= len(text)
        assert str(error).split("\n")[0] == f"--filter: {error.problem}"
        return
    if "\x00" not in text:  # anything that parses compiles to SQL SQLite runs
        assert sql_matches(run_db(SAMPLE), expr) == model_matches(SAMPLE, expr)


KEYS = ["a", "b", "c.d", "e f", "g`h", 'i"j', "K"]
POOL = [
    "",
    "a",
    "A",
    "ab",
    "aB",
    "Ab",
    "a%b",
    "a_b",
    "%",
    "_",
    "\\",
    "a\\",
    "*",
    "?",
    "[a]",
    "é",
    "É",
]
STRINGS = st.sampled_from(POOL) | st.text(alphabet="aAbB%_\\*?[]' éÉ", max_size=4)
STORED = st.sampled_from([*POOL, "it's", "a b"])
METRIC_VALUES = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0.5, -1.5, 1e300, -0.0]),
    st.floats(-10, 10, allow_nan=False),
)
STORED_METRICS = st.one_of(
    METRIC_VALUES.map(float), st.sampled_from([math.nan, math.inf, -math.inf])
)
NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">="]
STRING_OPS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
ATTRIBUTE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "status": st.sampled_from(["RUNNING", "FINISHED", "FAILED", "finished"]),
    "user_id": st.sampled_from(["ann", "Ann", "bob"]),
    "lifecycle_stage": st.sampled_from(["active", "deleted"]),
    "start_time": st.integers(0, 5),
    "experiment_id": st.integers(0, 3),
    "end_time": st.none() | st.integers(0, 5),
    "run_name": STORED,
    **{a: st.none() | STORED for a in ("commit", "fingerprint", "data_fingerprint", "env_lock")},
}


KEY_NAMES = st.sampled_from(KEYS)
RECORDS = st.builds(
    Record,
    attributes=st.fixed_dictionaries({"run_id": st.just(""), **ATTRIBUTE_VALUES}),
    params=st.dictionaries(KEY_NAMES, STORED, max_size=3),
    tags=st.dictionaries(KEY_NAMES, STORED, max_size=3),
    metrics=st.dictionaries(KEY_NAMES, STORED_METRICS, max_size=3),
)


def comparisons() -> st.SearchStrategy[Comparison]:
    """Well-typed comparisons for RUN_SCHEMA: every entity, attribute and operator."""
    cases: list[tuple[str, st.SearchStrategy[str], str, st.SearchStrategy[Any]]] = []
    cases += [("metric", KEY_NAMES, op, METRIC_VALUES) for op in NUMBER_OPS]
    cases += [(e, KEY_NAMES, op, STRINGS) for e in ("param", "tag") for op in STRING_OPS]
    numbers: st.SearchStrategy[Any] = st.integers(-1, 6)
    texts: st.SearchStrategy[Any] = STRINGS | st.sampled_from(["r0", "r1"])
    for name in [*ATTRIBUTE_VALUES, "run_id"]:
        if RUN_SCHEMA.attributes[name][1] == "number":
            ops = [*NUMBER_OPS, "IN", "NOT IN", "IS NULL", "IS NOT NULL"]
            cases += [("attribute", st.just(name), op, numbers) for op in ops]
        else:
            cases += [("attribute", st.just(name), op, texts) for op in STRING_OPS]
    strategies = []
    for entity, keys, op, scalars in cases:
        values: st.SearchStrategy[Any] = scalars
        if op in ("IS NULL", "IS NOT NULL"):
            values = st.none()
        elif op in ("IN", "NOT IN"):
            values = st.lists(scalars, min_size=1, max_size=3).map(tuple)
        strategies.append(
            st.builds(Comparison, st.just(entity), keys, st.just(op), values, st.just(0))
        )
    return st.one_of(strategies)


EXPRS = st.recursive(
    comparisons(),
    lambda sub: st.one_of(st.builds(And, sub, sub), st.builds(Or, sub, sub), st.builds(Not, sub)),
    max_leaves=8,
)
PREFIXES = {
    "metric": ["metrics", "metric"],
    "param": ["params", "param", "parameter", "parameters"],
    "tag": ["tags", "tag"],
    "attribute": ["attributes", "attribute", "attr", "run"],
}


def spell(word: str, rnd: random.Random) -> str:
    return rnd.choice([word.upper(), word.lower(), word.title()])


def render_key(expr: Comparison, rnd: random.Random) -> str:
    if expr.entity == "attribute" and rnd.random() < 0.5:
        return expr.key
    prefix = spell(rnd.choice(PREFIXES[expr.entity]), rnd)
    if re.fullmatch(r"[\w.]+", expr.key) and rnd.random() < 0.7:
        return f"{prefix}.{expr.key}"
    quote = rnd.choice('"`')
    return f"{prefix}.{quote}{expr.key.replace(quote, quote * 2)}{quote}"


def render_value(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, tuple):
        return "(" + ", ".join(render_value(v) for v in value) + ")"
    return repr(value)


def render(expr: Expr, rnd: random.Random, outer: int = 0) -> str:
    """Filter text for ``expr`` with only the parentheses precedence requires (plus a few)."""
    if isinstance(expr, Comparison):
        words = " ".join(spell(w, rnd) for w in expr.op.split())
        value = "" if expr.value is None else " " + render_value(expr.value)
        text, level = f"{render_key(expr, rnd)} {words}{value}", 3
    elif isinstance(expr, Not):
        text, level = f"{spell('not', rnd)} {render(expr.operand, rnd, 3)}", 3
    else:
        level, word = (2, "and") if isinstance(expr, And) else (1, "or")
        text = f"{render(expr.left, rnd, level)} {spell(word, rnd)} {render(expr.right, rnd, level + 1)}"
    return f"({text})" if level < outer or rnd.random() < 0.1 else text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(RECORDS, max_size=6),
    st.lists(EXPRS, min_size=1, max_size=4),
    st.randoms(use_true_random=False),
)
def test_sql_agrees_with_the_in_memory_model(
    runs: list[Record], exprs: list[Expr], rnd: random.Random
) -> None:
    check_agreement(
        runs, exprs, rnd, lambda records: functools.partial(sql_matches, run_db(records))
    )


def check_agreement(
    runs: list[Record],
    exprs: list[Expr],
    rnd: random.Random,
    load: Callable[[list[Record]], Callable[[Expr], set[str]]],
) -> None:
    """The SQL that ``load(runs)`` answers with selects what the in-memory model selects."""
    for i, rec in enumerate(runs):
        rec.attributes["run_id"] = f"r{i}"
    matches = load(runs)
    for expr in exprs:
        text = render(expr, rnd)
        try:
            reparsed = parse_filter(text)
        except FilterError as exc:
            problem = exc.problem
            reparsed = None
        if reparsed is None:
            assert "nested too deeply" in problem
            continue
        assert strip(reparsed) == expr, text
        assert matches(reparsed) == model_matches(runs, reparsed), text


@settings(max_examples=300, deadline=None)
@given(STRINGS, STRINGS)
def test_like_translations_agree_with_sqlite(pattern: str, value: str) -> None:
    db = sqlite3.connect(":memory:")
    (glob,) = db.execute("SELECT ? GLOB ?", (value, like_to_glob(pattern))).fetchone()
    assert bool(glob) == (like_regex(pattern).fullmatch(value) is not None)
