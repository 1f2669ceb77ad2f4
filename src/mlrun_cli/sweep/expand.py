"""``-P`` sweep values -> the trials' parameter sets (grid or seeded random), type-checked.

Value forms (a whole ``-P`` value): ``a,b,c`` (a list; ``\\,`` is a literal comma),
``range(a,b[,step])`` (``b`` excluded), ``choice(a,b,c)``, and, for ``--random N`` and Optuna,
``uniform(a,b)``, ``loguniform(a,b)``, ``int(a,b)`` (``b`` included). Anything else is one value.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mlrun_cli.spec.mlproject import EntryPoint

_FORM = re.compile(r"^\s*(range|choice|uniform|loguniform|int)\((.*)\)\s*$", re.DOTALL)
MAX_TRIALS = 10_000
SAMPLED = ("uniform", "loguniform", "int")


@dataclass(frozen=True)
class Dimension:
    """One swept parameter: a list of values, or a distribution to sample (``kind``, low, high)."""

    name: str
    values: tuple[str, ...] = ()
    kind: str = "list"  # list | uniform | loguniform | int
    low: float = 0.0
    high: float = 0.0

    @property
    def sampled(self) -> bool:
        """A distribution rather than a list."""
        return self.kind != "list"


def _split(text: str) -> list[str]:
    """Split at commas not preceded by a backslash; ``\\,`` becomes a comma."""
    parts = re.split(r"(?<!\\),", text)
    return [part.replace("\\,", ",").strip() for part in parts]


def _number(where: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{where}: {text!r} is not a number") from None
    if not value.is_finite():
        raise UsageError(f"{where}: {text!r} is not a finite number")
    return value


def _range(where: str, args: list[str]) -> tuple[str, ...]:
    if len(args) not in (2, 3):
        raise UsageError(f"{where}: expected range(start,stop) or range(start,stop,step)")
    start, stop = _number(where, args[0]), _number(where, args[1])
    step = _number(where, args[2]) if len(args) == 3 else Decimal(1)
    if step <= 0:
        raise UsageError(f"{where}: step must be > 0; got {args[2] if len(args) == 3 else 1}")
    if stop <= start:
        raise UsageError(f"{where}: expected start < stop; got {args[0]} and {args[1]}")
    count = math.ceil((stop - start) / step)
    if count > MAX_TRIALS:
        raise UsageError(f"{where}: {count} values; at most {MAX_TRIALS}")
    # Decimal arithmetic on the written digits: range(0,1,0.1) gives 0.3, not 0.30000000000000004.
    return tuple(format((start + i * step).normalize(), "f") for i in range(count))


def parse_dimension(name: str, text: str) -> Dimension:
    """One ``-P name=text`` as a dimension (a single value is a list of one)."""
    where = f"-P {name}={text}"
    match = _FORM.match(text)
    if match is None:
        values = (
            tuple(_split(text)) if "," in text.replace("\\,", "") else (text.replace("\\,", ","),)
        )
        if "" in values and len(values) > 1:
            raise UsageError(f"{where}: empty value in the list")
        return Dimension(name, values)
    form, args = match.group(1), _split(match.group(2))
    if form == "range":
        return Dimension(name, _range(where, args))
    if form == "choice":
        if not args or "" in args:
            raise UsageError(f"{where}: expected choice(a,b,...) with non-empty values")
        return Dimension(name, tuple(args))
    if len(args) != 2:
        raise UsageError(f"{where}: expected {form}(low,high)")
    low, high = _number(where, args[0]), _number(where, args[1])
    if form == "int" and (low != low.to_integral_value() or high != high.to_integral_value()):
        raise UsageError(f"{where}: expected whole numbers for int(low,high)")
    if high <= low:
        raise UsageError(f"{where}: expected low < high; got {args[0]} and {args[1]}")
    if form == "loguniform" and low <= 0:
        raise UsageError(f"{where}: loguniform needs low > 0; got {args[0]}")
    return Dimension(name, (), form, float(low), float(high))


def parse_space(items: Sequence[str]) -> tuple[Dimension, ...]:
    """Every ``-P`` item as a dimension, in the order given."""
    from mlrun_cli.spec.params import parse_cli_params

    return tuple(parse_dimension(name, text) for name, text in parse_cli_params(items).items())


def grid(space: Sequence[Dimension]) -> list[dict[str, str]]:
    """The cartesian product of the lists (the first -P varies slowest)."""
    sampled = [d.name for d in space if d.sampled]
    if sampled:
        raise UsageError(
            f"-P {sampled[0]}: a distribution is sampled only with --random N or --optuna; "
            "a grid needs lists, range(...) or choice(...)"
        )
    total = math.prod(len(d.values) for d in space)
    if total > MAX_TRIALS:
        raise UsageError(f"the grid has {total} trials; at most {MAX_TRIALS} (try --random N)")
    names = [d.name for d in space]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(d.values for d in space))
    ]


def sample(dimension: Dimension, rng: random.Random) -> str:
    """One value of a dimension."""
    if dimension.kind == "list":
        return rng.choice(dimension.values)
    if dimension.kind == "int":
        return str(rng.randint(int(dimension.low), int(dimension.high)))
    if dimension.kind == "loguniform":
        return repr(math.exp(rng.uniform(math.log(dimension.low), math.log(dimension.high))))
    return repr(rng.uniform(dimension.low, dimension.high))


def random_points(space: Sequence[Dimension], count: int, seed: int) -> list[dict[str, str]]:
    """``count`` points drawn with ``seed`` (the same seed, the same trials: reruns resume).

    Duplicates (possible with lists only) are drawn once.
    """
    if count < 1 or count > MAX_TRIALS:
        raise UsageError(f"--random {count}: expected 1 to {MAX_TRIALS}")
    rng = random.Random(seed)  # noqa: S311 - sampling a search space, not secrets
    points: list[dict[str, str]] = []
    seen: set[tuple[str, ...]] = set()
    for _ in range(count):
        point = {d.name: sample(d, rng) for d in space}
        key = tuple(point.values())
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points


def check_types(entry_point: EntryPoint, space: Sequence[Dimension]) -> None:
    """Refuse values that do not fit the declared types, before anything runs."""
    from mlrun_cli.spec.values import convert

    for dimension in space:
        spec = entry_point.parameter(dimension.name)
        if spec is None:
            continue
        kind = spec.type
        if kind == "path" and (len(dimension.values) > 1 or dimension.sampled):
            raise UsageError(
                f"-P {dimension.name}: sweeping a path parameter is not supported; give one path"
            )
        if dimension.sampled:
            if kind == "int" and dimension.kind != "int":
                raise UsageError(
                    f"-P {dimension.name}: {dimension.kind}(...) draws floats; parameter "
                    f"{dimension.name!r} is an int (use int(low,high))"
                )
            if kind not in ("float", "int", "string"):
                raise UsageError(
                    f"-P {dimension.name}: {dimension.kind}(...) draws numbers; parameter "
                    f"{dimension.name!r} is a {kind}"
                )
            continue
        for value in dimension.values:
            try:
                convert(kind, value)
            except ValueError as exc:
                raise UsageError(
                    f"-P {dimension.name}: value {value!r}: {exc} for parameter {dimension.name!r}"
                ) from None
