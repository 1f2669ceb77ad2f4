"""Artifacts in a local folder: the server's receiving folder is the destination itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.artifacts.run import ArtifactInfo, FolderArtifacts

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

    def list(self, run_id: str) -> list[ArtifactInfo]:
        """The run's files, relative to its folder."""
        return FolderArtifacts(run_id, self.root / run_id).list()
