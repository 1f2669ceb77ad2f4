"""A run's files as a team server holds them: its receiving folder, backed by the destination.

A file received is sent on to the destination; a file asked for that the folder lacks (another
server host, a rebuilt one) is fetched from it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.artifacts.run import ArtifactInfo, FolderArtifacts, relative_path

if TYPE_CHECKING:
    from pathlib import Path

    from mlrun_cli.artifacts.base import ArtifactStore


class ServedArtifacts:
    """``FolderArtifacts`` of the receiving folder, with the destination behind it."""

    def __init__(self, run_id: str, folder: Path, destination: ArtifactStore) -> None:
        self.run_id = run_id
        self.local = FolderArtifacts(run_id, folder)
        self.destination = destination

    def file(self, path: str) -> Path | None:
        """The file in the receiving folder, fetched from the destination if need be."""
        relative = relative_path(path)
        found = self.local.file(relative)
        if found is None and self.destination.fetch(self.run_id, relative,
                                                    self.local.folder / relative):  # fmt: skip
            found = self.local.file(relative)
        return found

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """The folder's files and the destination's, under ``prefix``."""
        top = relative_path(prefix, folder=True)
        found = {a.path: a for a in self.destination.list(self.run_id)
                 if not top or a.path.startswith(top + "/")}  # fmt: skip
        found.update((a.path, a) for a in self.local.list(top))
        return sorted(found.values(), key=lambda a: a.path)

    def info(self, path: str) -> ArtifactInfo | None:
        """The file's size (fetched into the folder first if only the destination has it)."""
        found = self.file(path)
        return None if found is None else ArtifactInfo(relative_path(path), found.stat().st_size)

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of the file from ``offset``."""
        self.file(path)
        return self.local.read_bytes(path, offset, limit)

    def put(self, path: str, source: Path) -> None:
        """Into the folder, then on to the destination."""
        relative = relative_path(path)
        self.local.put(relative, source)
        self.destination.put(self.run_id, relative, self.local.folder / relative)
