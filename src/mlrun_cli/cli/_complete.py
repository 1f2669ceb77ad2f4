"""Dynamic shell completion: run ids and experiment names from the store, entry points from the
project. Called by the shell on TAB; never prints an error (a broken store completes nothing)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import typer  # typer evaluates these annotations at runtime: not under TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from mlrun_cli.tracking.store import TrackingStore

MAX_RUNS = 50  # the newest; typing a prefix narrows the search itself


def _store(ctx: typer.Context) -> TrackingStore:
    from mlrun_cli.tracking.store import open_store

    uri = ctx.params.get("tracking_uri") if ctx.params else None
    return open_store(uri if isinstance(uri, str) else None, create=False)


def run_ids(ctx: typer.Context, incomplete: str) -> list[tuple[str, str]]:
    """Recent run ids starting with what was typed, with the run name and status as help."""
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.tracking.queries import search_runs

    with contextlib.suppress(MlrunError, OSError, sqlite3.Error):
        store = _store(ctx)
        prefix = incomplete.lower()
        if not all(c in "0123456789abcdef" for c in prefix):
            return []
        ids = [e.experiment_id for e in store.search_experiments("active")]
        where = f"run_id LIKE '{prefix}%'" if prefix else ""  # hex only: nothing to quote
        page = search_runs(store, ids, where, None, MAX_RUNS)
        return [(run.run_id[:8], f"{run.name} {run.status}") for run in page.runs]
    return []


def experiment_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Active experiment names starting with what was typed."""
    from mlrun_cli.errors import MlrunError

    with contextlib.suppress(MlrunError, OSError, sqlite3.Error):
        found = _store(ctx).search_experiments("active")
        return [e.name for e in found if e.name.startswith(incomplete)]
    return []


def entry_points(args: list[str], incomplete: str) -> list[str]:
    """The entry points of the project folder named on the command line (else ``.``).

    The words typed are searched (click leaves the positional URI unset while it completes an
    option's value): the first one that is a folder holding an MLproject.
    """
    from mlrun_cli.errors import MlrunError
    from mlrun_cli.spec.mlproject import find_mlproject, load_project

    with contextlib.suppress(MlrunError, OSError, ValueError):
        folders = [Path(a.removeprefix("file://")) for a in _words(args) if not a.startswith("-")]
        directory = next((f for f in folders if f.is_dir() and find_mlproject(f)), Path.cwd())
        project = load_project(directory)
        return [name for name in project.entry_points if name.startswith(incomplete)]
    return []


def _words(args: list[str]) -> list[str]:
    """The words on the command line being completed: click's ``args``, else what the shell
    handed typer's completion script (``COMP_WORDS`` for bash, ``_TYPER_COMPLETE_ARGS`` else)."""
    import os
    import shlex

    raw = os.environ.get("COMP_WORDS") or os.environ.get("_TYPER_COMPLETE_ARGS") or ""
    try:
        return [*args, *shlex.split(raw)]
    except ValueError:  # an unfinished quote
        return [*args, *raw.split()]


def choices(*values: str) -> Callable[[str], list[str]]:
    """Completion of an option that takes one of ``values`` (its metavar lists them)."""

    def complete(incomplete: str) -> list[str]:
        return [value for value in values if value.startswith(incomplete)]

    return complete


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def completion_for(option: str, shell: str) -> int:
    """``--show-completion SHELL`` / ``--install-completion SHELL``: typer's own options detect
    the shell and take no value; given one, it is the shell meant (not a command named zsh)."""
    import sys

    from typer._completion_shared import get_completion_script, install

    from mlrun_cli.cli._output import report_error
    from mlrun_cli.errors import UsageError

    if shell not in SHELLS:
        return report_error(
            UsageError(f"{option}: expected bash, zsh, fish or powershell; got {shell!r}")
        )
    if option == "--show-completion":
        script = get_completion_script(prog_name="mlrun", complete_var="_MLRUN_COMPLETE",
                                       shell=shell)  # fmt: skip
        sys.stdout.write(script + "\n")
        return 0
    done, path = install(shell=shell, prog_name="mlrun", complete_var="_MLRUN_COMPLETE")
    sys.stdout.write(f"{done} completion installed in {path}\n"
                     "Completion will take effect once you restart the terminal\n")  # fmt: skip
    return 0
