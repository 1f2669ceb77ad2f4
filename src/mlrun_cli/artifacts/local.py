"""Artifacts in a local folder: the server's receiving folder is the destination itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


class LocalArtifacts:
    """Nothing to copy: files already are where they belong."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, run_id: str, relative: str, source: Path) -> None:
        """Already in place."""

    def fetch(self, run_id: str, relative: str, target: Path) -> bool:
        """Whether the file exists (it is never elsewhere)."""
        return target.is_file()

    def list(self, run_id: str) -> list[str]:
        """The run's files, relative to its folder."""
        folder = self.root / run_id
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
