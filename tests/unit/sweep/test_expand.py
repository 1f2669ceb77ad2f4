"""Sweep value forms, grid and random expansion, and type checks against an entry point."""

from __future__ import annotations

import re

import pytest

from mlrun_cli.errors import UsageError
from mlrun_cli.spec.mlproject import EntryPoint, ParameterSpec
from mlrun_cli.sweep.expand import check_types, grid, parse_dimension, parse_space, random_points

ENTRY = EntryPoint(
    "main",
    "python train.py {alpha} {n} {data}",
    (
        ParameterSpec("alpha", "float", "0.5"),
        ParameterSpec("n", "int", "1"),
        ParameterSpec("data", "path", "data.csv"),
        ParameterSpec("flag", "bool", "true"),
    ),
)


def test_lists_ranges_and_single_values() -> None:
    assert parse_dimension("a", "0.1,0.5,1.0").values == ("0.1", "0.5", "1.0")
    assert parse_dimension("a", "range(0,1,0.25)").values == ("0", "0.25", "0.5", "0.75")
    assert parse_dimension("a", "range(0,1,0.1)").values[3] == "0.3"  # no 0.30000000000000004
    assert parse_dimension("n", "range(1,4)").values == ("1", "2", "3")
    assert parse_dimension("s", "a\\,b,c").values == ("a,b", "c")
    assert parse_dimension("s", "plain").values == ("plain",)
    assert parse_dimension("s", "choice(x,y)").values == ("x", "y")


def test_distributions_are_parsed() -> None:
    d = parse_dimension("a", "loguniform(0.001,1)")
    assert (d.kind, d.low, d.high) == ("loguniform", 0.001, 1.0)
    assert parse_dimension("n", "int(1,5)").kind == "int"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("range(1,0)", "expected start < stop"),
        ("range(0,1,0)", "step must be > 0"),
        ("range(0,x)", "'x' is not a number"),
        ("uniform(1)", "expected uniform(low,high)"),
        ("loguniform(0,1)", "low > 0"),
        ("int(0.5,2)", "whole numbers"),
        ("a,,b", "empty value"),
    ],
)
def test_bad_forms_name_the_value(text: str, expected: str) -> None:
    with pytest.raises(UsageError, match=re.escape(expected)) as info:
        parse_dimension("a", text)
    assert f"-P a={text}" in str(info.value)


def test_grid_is_the_cartesian_product_first_slowest() -> None:
    space = parse_space(["a=1,2", "b=x,y,z", "c=k"])
    points = grid(space)
    assert len(points) == 6
    assert points[0] == {"a": "1", "b": "x", "c": "k"}
    assert points[1] == {"a": "1", "b": "y", "c": "k"}
    assert points[-1] == {"a": "2", "b": "z", "c": "k"}


def test_grid_refuses_distributions() -> None:
    with pytest.raises(UsageError, match="--random N or --optuna"):
        grid(parse_space(["a=uniform(0,1)"]))


def test_random_is_seeded_and_in_bounds() -> None:
    space = parse_space(["a=uniform(0,1)", "lr=loguniform(0.001,0.1)", "n=int(1,3)", "s=x,y"])
    first = random_points(space, 10, seed=7)
    assert first == random_points(space, 10, seed=7)
    assert first != random_points(space, 10, seed=8)
    for point in first:
        assert 0 <= float(point["a"]) <= 1
        assert 0.001 <= float(point["lr"]) <= 0.1
        assert point["n"] in ("1", "2", "3")
        assert point["s"] in ("x", "y")


def test_random_draws_duplicates_once() -> None:
    assert len(random_points(parse_space(["s=x,y"]), 50, seed=0)) == 2


def test_types_are_checked_before_anything_runs() -> None:
    check_types(ENTRY, parse_space(["alpha=0.1,1", "n=range(1,3)", "n2=anything"]))
    with pytest.raises(UsageError, match=r"-P alpha: value 'abc': expected a float"):
        check_types(ENTRY, parse_space(["alpha=0.1,abc"]))
    with pytest.raises(UsageError, match=r"-P n: value '0.5': expected an int"):
        check_types(ENTRY, parse_space(["n=range(0,1,0.5)"]))
    with pytest.raises(UsageError, match="use int"):
        check_types(ENTRY, parse_space(["n=uniform(0,3)"]))
    with pytest.raises(UsageError, match="is a bool"):
        check_types(ENTRY, parse_space(["flag=uniform(0,3)"]))
    with pytest.raises(UsageError, match="sweeping a path parameter"):
        check_types(ENTRY, parse_space(["data=a.csv,b.csv"]))
