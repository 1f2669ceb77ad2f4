"""A run's files through a team server (``GET``/``PUT /api/v1/runs/{id}/artifacts/...``).

Clients never see the server's destination (a folder or S3): bytes go through the server,
so a client needs no S3 credentials. Files a run started here has staged and not uploaded
yet (uploads happen when the run finishes) are read from the staging folder first, so
``runs logs --follow`` of a local run shows its output as it comes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from mlrun_cli.artifacts.run import (
    ArtifactEntry,
    ArtifactInfo,
    FolderArtifacts,
    one_level,
    relative_path,
)
from mlrun_cli.errors import NotFoundError

if TYPE_CHECKING:
    from pathlib import Path

    from mlrun_cli.tracking.stores.rest import RestStore


class ProxiedArtifacts:
    """The server's files of one run, with this machine's staged ones in front."""

    def __init__(self, store: RestStore, run_id: str, staging: Path) -> None:
        self.run_id = run_id
        self._store = store
        self.staged = FolderArtifacts(run_id, staging)

    def _path(self, tail: str = "", **query: str | int | None) -> str:
        base = f"/runs/{quote(self.run_id, safe='')}/artifacts" + (
            "/" + quote(tail) if tail else ""
        )
        given = {k: v for k, v in query.items() if v not in (None, "")}
        return base + ("?" + urlencode(given) if given else "")

    def _remote(self, **query: str) -> list[ArtifactInfo]:
        answer = self._store.call("GET", self._path("", **query))
        return [ArtifactInfo(str(f["path"]), int(f["size"])) for f in answer["files"]]

    def entries(self, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the folder ``prefix`` (from the listing under it)."""
        top = relative_path(prefix, folder=True)
        return one_level(self.list(top), top)

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """The server's files under ``prefix``, and the ones staged here."""
        top = relative_path(prefix, folder=True)
        try:
            found = {a.path: a for a in self._remote(prefix=top)}
        except NotFoundError:
            found = {}  # a run submitted from here and not recorded yet
        found.update((a.path, a) for a in self.staged.list(top))
        return sorted(found.values(), key=lambda a: a.path)

    def info(self, path: str) -> ArtifactInfo | None:
        """The staged file, else the server's."""
        relative = relative_path(path)
        staged = self.staged.info(relative)
        if staged is not None:
            return staged
        try:
            found = self._remote(path=relative)
        except NotFoundError:
            return None
        return found[0] if found else None

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """The staged file's bytes, else the server's."""
        relative = relative_path(path)
        if self.staged.file(relative) is not None:
            return self.staged.read_bytes(relative, offset, limit)
        return self._store.call_bytes(
            "GET", self._path(relative, offset=offset or None, limit=limit)
        )

    def put(self, path: str, source: Path) -> None:
        """Upload ``source`` (a PUT replaces: a retried upload is the same file)."""
        self.put_bytes(path, source.read_bytes())

    def put_bytes(self, path: str, data: bytes) -> None:
        """Upload ``data`` as the file ``path``."""
        self._store.call_bytes("PUT", self._path(relative_path(path)), data)

    def append(self, path: str, offset: int, data: bytes) -> int:
        """Send the bytes from ``offset`` of a RUNNING run's growing file (its output log);
        the server's size of the file now, from which to send next (less than ``offset``
        when the server lost some: a restarted host); -1 when its file has other bytes."""
        relative = relative_path(path)
        status, answer = self._store.call_answer("PUT", self._path(relative, offset=offset), data)
        if not isinstance(answer, dict):
            answer = {}
        error = answer.get("error")
        if status == 200 and isinstance(answer.get("size"), int):
            return int(answer["size"])
        if status == 409 and isinstance(error, dict) and isinstance(error.get("size"), int):
            return int(error["size"])
        if status == 409:
            return -1  # the server's file has other bytes there
        raise self._store.error_from(status, answer)
