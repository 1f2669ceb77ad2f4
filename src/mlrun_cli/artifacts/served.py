"""A run's files as a team server holds them: its receiving folder, backed by the destination.

A file received is sent on to the destination; a file asked for that the folder lacks (another
server host, a rebuilt one) is fetched from it first, into the folder (through the same checks
as every write: never through a symlink that leads out of the run's folder). With a local
destination the folder is the destination: it is read once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.artifacts.run import (
    ArtifactEntry,
    ArtifactInfo,
    FolderArtifacts,
    is_partial,
    relative_path,
)
from mlrun_cli.errors import UsageError

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
        if found is not None or not self.destination.remote or is_partial(relative):
            return found
        try:
            target = self.local.writable(relative)
        except UsageError:
            return None  # a symlink leading out, a file in the way: nothing is fetched
        if self.destination.fetch(self.run_id, relative, target, self.local.partial()):
            found = self.local.file(relative)
        return found

    def entries(self, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the folder ``prefix``: the destination's and the folder's."""
        top = relative_path(prefix, folder=True)
        found: dict[str, ArtifactEntry] = {}
        if self.destination.remote:
            lead = top + "/" if top else ""
            found.update((e.name, e) for e in self.destination.entries(self.run_id, top)
                         if not is_partial(lead + e.name))  # fmt: skip
        found.update((e.name, e) for e in self.local.entries(top))
        return sorted(found.values(), key=lambda e: e.name)

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """The folder's files and the destination's, under ``prefix``."""
        top = relative_path(prefix, folder=True)
        found: dict[str, ArtifactInfo] = {}
        if self.destination.remote:
            found.update((a.path, a) for a in self.destination.list(self.run_id, top)
                         if not is_partial(a.path))  # fmt: skip
        found.update((a.path, a) for a in self.local.list(top))
        return sorted(found.values(), key=lambda a: a.path)

    def info(self, path: str) -> ArtifactInfo | None:
        """The file's size: the folder's, else the destination's (asked, not downloaded)."""
        relative = relative_path(path)
        found = self.local.info(relative)
        if found is not None or not self.destination.remote or is_partial(relative):
            return found
        try:
            self.local.writable(relative)  # what a read would refuse is not there either
        except UsageError:
            return None
        size = self.destination.size(self.run_id, relative)
        return None if size is None else ArtifactInfo(relative, size)

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of the file from ``offset``."""
        self.file(path)
        return self.local.read_bytes(path, offset, limit)

    def put(self, path: str, source: Path) -> None:
        """Into the folder, then on to the destination."""
        relative = relative_path(path)
        self.local.put(relative, source)
        self.send(relative)

    def send(self, relative: str) -> None:
        """The folder's file ``relative`` on to the destination (nothing for a local one)."""
        if self.destination.remote:
            found = self.local.file(relative)
            if found is not None:
                self.destination.put(self.run_id, relative, found)
