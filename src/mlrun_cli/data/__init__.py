"""DVC data: pins from dvc.lock and *.dvc files, verified and restored without importing dvc.

This module holds only :func:`find_dvc_root`: a project without DVC pays for one ``stat`` per
folder up to its repository, and imports none of the data modules."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def find_dvc_root(project: Path, top: Path) -> Path | None:
    """The folder with ``.dvc/`` at or above the project, not above ``top`` (the repository)."""
    current = project
    while True:
        if (current / ".dvc").is_dir():
            return current
        if current in (top, current.parent):
            return None
        current = current.parent
