"""Dynamic shell completion: run ids and experiment names from the store, entry points from the
project. Called by the shell on TAB; never prints an error (a broken store completes nothing)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer  # typer evaluates these annotations at runtime: not under TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.tracking.store import TrackingStore

MAX_RUNS = 200


def _store(ctx: typer.Context) -> TrackingStore:
    from mlrun_cli.tracking.store import open_store

    uri = ctx.params.get("tracking_uri") if ctx.params else None
    return open_store(uri if isinstance(uri, str) else None, create=False)


def run_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Recent run ids starting with what was typed, with the run name and status as help."""
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.tracking.queries import search_experiments, search_runs

    with contextlib.suppress(MlrunError, OSError):
        store = _store(ctx)
        ids = [e.experiment_id for e in search_experiments(store, "active", "")]
        page = search_runs(store, ids, "", None, MAX_RUNS)
        return [
            (run.run_id[:8], f"{run.name} {run.status}")
            for run in page.runs
            if run.run_id.startswith(incomplete.lower())
        ]
    return []


def experiment_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Active experiment names starting with what was typed."""
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.tracking.queries import search_experiments

    with contextlib.suppress(MlrunError, OSError):
        store = _store(ctx)
        found = search_experiments(store, "active", "")
        return [e.name for e in found if e.name.startswith(incomplete)]
    return []


def entry_points(ctx: typer.Context, incomplete: str) -> list[str]:
    """The entry points of the project named by the command's URI (a local folder)."""
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.spec.mlproject import load_project

    uri = ctx.params.get("uri") if ctx.params else None
    with contextlib.suppress(MlrunError, OSError, ValueError):
        directory = Path(uri.removeprefix("file://")) if isinstance(uri, str) else Path.cwd()
        project = load_project(directory)
        return [name for name in project.entry_points if name.startswith(incomplete)]
    return []
