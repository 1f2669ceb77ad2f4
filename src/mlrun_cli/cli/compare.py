"""``mlrun runs compare``: what differs between runs, field by field and package by package."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.cli._columns import cell

if TYPE_CHECKING:
    from mlrun_cli.tracking.models import Run

Row = tuple[str, list[str], bool]  # field, one value per run, whether they differ


def compare_rows(runs: list[Run]) -> list[Row]:
    """Every compared field with its values; packages only where the env locks differ."""
    fields = ["status", "entry_point", "commit", "dirty"]
    fields += sorted({f"params.{p.key}" for run in runs for p in run.params})
    fields += sorted({f"metrics.{k}" for run in runs for k in run.metrics})
    rows: list[Row] = []
    for field in fields:
        values = [cell(run, field) for run in runs]
        rows.append((field, values, len(set(values)) > 1))
    extra: list[tuple[str, list[str]]] = [
        ("code hash", [r.code.content_hash or "" for r in runs]),
        ("data fingerprint", [r.data.fingerprint if r.data else "" for r in runs]),
        ("python", [str(r.environment["python"] or "") for r in runs]),
        ("env lock", [(r.env_lock_hash or "")[:12] for r in runs]),
    ]
    rows += [(name, values, len(set(values)) > 1) for name, values in extra]
    locks = [dict(run.environment["packages"]) for run in runs]
    for name in sorted({name for lock in locks for name in lock}):
        versions = [lock.get(name, "-") for lock in locks]
        if len(set(versions)) > 1:
            rows.append((f"package {name}", versions, True))
    return rows


def print_comparison(runs: list[Run], rows: list[Row]) -> None:
    """A table with one column per run; differing rows are marked ``*`` (and coloured)."""
    from mlrun_cli.cli._table import Table, print_table

    table = Table(["", "field", *(run.run_id[:8] for run in runs)])
    for field, values, differs in rows:
        style = "33" if differs else ""
        table.add_row("*" if differs else "", field, *((value or "-", style) for value in values))
    print_table(table)
