"""Artifacts in a local folder: the server's receiving folder is the destination itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.artifacts.run import ArtifactEntry, ArtifactInfo, FolderArtifacts

if TYPE_CHECKING:
    from pathlib import Path


class LocalArtifacts:
    """Nothing to copy: files already are where they belong."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, run_id: str, relative: str, source: Path) -> None:
        """Already in place."""

    def fetch(self, run_id: str, relative: str, target: Path, partial: Path) -> bool:
        """Whether the file exists (it is never elsewhere)."""
        return FolderArtifacts(run_id, self.root / run_id).file(relative) is not None

    def entries(self, run_id: str, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the run's folder ``prefix``."""
        return FolderArtifacts(run_id, self.root / run_id).entries(prefix)

    def list(self, run_id: str, prefix: str = "") -> list[ArtifactInfo]:
        """The run's files under ``prefix``, relative to its folder."""
        return FolderArtifacts(run_id, self.root / run_id).list(prefix)

    def size(self, run_id: str, relative: str) -> int | None:
        """The file's size, or None."""
        found = FolderArtifacts(run_id, self.root / run_id).info(relative)
        return None if found is None else found.size
