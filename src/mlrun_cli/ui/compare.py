"""What the compare page shows: rows of values across runs, which differ, and plot data."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlrun_cli.ui.columns import attribute, format_number

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

COMPARED_ATTRIBUTES = ("status", "start_time", "duration", "user_id", "entry_point", "commit")


@dataclass(frozen=True)
class Row:
    """One compared key: its section, name, the value in each run, and whether they differ."""

    section: str
    key: str
    values: tuple[str, ...]

    @property
    def differs(self) -> bool:
        return len(set(self.values)) > 1


def _row(section: str, key: str, values: list[str]) -> Row:
    return Row(section, key, tuple(values))


def compare_rows(runs: list[Run]) -> list[Row]:
    """Attributes, params, metrics, tags, code and environment, one row per key."""
    rows = [_row("attributes", k, [attribute(r, k) for r in runs]) for k in COMPARED_ATTRIBUTES]
    rows.append(_row("code", "source", [r.code.uri for r in runs]))
    rows.append(_row("code", "dirty", [_dirty(r) for r in runs]))
    rows.append(_row("environment", "lock sha256", [(r.env_lock_hash or "")[:12] for r in runs]))
    rows.append(_row("data", "fingerprint", [(r.data.fingerprint if r.data else "")[:12]
                                             for r in runs]))  # fmt: skip
    params = sorted({p.key for r in runs for p in r.params})
    values = [{p.key: p.value for p in r.params} for r in runs]
    rows += [_row("params", k, [v.get(k, "") for v in values]) for k in params]
    metrics = sorted({k for r in runs for k in r.metrics})
    for key in metrics:
        cells = [format_number(r.metrics[key].value) if key in r.metrics else "" for r in runs]
        rows.append(_row("metrics", key, cells))
    tags = sorted({k for r in runs for k in r.tags if not k.startswith("mlflow.")})
    rows += [_row("tags", k, [r.tags.get(k, "") for r in runs]) for k in tags]
    return rows


def _dirty(run: Run) -> str:
    if run.code.dirty is None:
        return ""
    return "yes" if run.code.dirty else "no"


def env_diff(runs: list[Run]) -> list[Row]:
    """Every package of the runs' environment locks, with its version in each run."""
    packages = [r.environment["packages"] for r in runs]
    names = sorted({name for p in packages for name in p}, key=str.lower)
    rows = [_row("packages", "python", [r.environment["python"] or "" for r in runs])]
    rows += [_row("packages", n, [p.get(n, "") for p in packages]) for n in names]
    return rows


def data_diff(runs: list[Run]) -> list[Row]:
    """Every pinned data path, with its md5 in each run."""
    pins = [{p.path: p.md5 for p in (r.data.pins if r.data else ())} for r in runs]
    paths = sorted({path for p in pins for path in p})
    return [_row("data", path, [p.get(path, "") for p in pins]) for path in paths]


def plot_table(runs: list[Run]) -> dict[str, Any]:
    """Columns for parallel coordinates and scatter: params and metrics, numeric or not."""
    columns: list[dict[str, Any]] = []
    params = sorted({p.key for r in runs for p in r.params})
    for key in params:
        raw = [next((p.value for p in r.params if p.key == key), None) for r in runs]
        columns.append(_plot_column(f"params.{key}", raw))
    for key in sorted({k for r in runs for k in r.metrics}):
        values = [r.metrics[key].value if key in r.metrics else None for r in runs]
        columns.append({"name": f"metrics.{key}", "kind": "number",
                        "values": [_finite(v) for v in values]})  # fmt: skip
    return {
        "runs": [{"id": r.run_id, "name": r.name or r.run_id[:8]} for r in runs],
        "columns": columns,
    }


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return value


def _plot_column(name: str, raw: list[str | None]) -> dict[str, Any]:
    numbers: list[float | None] = []
    for text in raw:
        if text is None or text == "":
            numbers.append(None)
            continue
        try:
            numbers.append(_finite(float(text)))
        except ValueError:
            categories = sorted({t for t in raw if t is not None})
            return {
                "name": name,
                "kind": "category",
                "categories": categories,
                "values": [None if t is None else categories.index(t) for t in raw],
            }
    return {"name": name, "kind": "number", "values": numbers}
