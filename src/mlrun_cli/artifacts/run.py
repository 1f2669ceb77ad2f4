"""A run's files as every store gives them (``TrackingStore.artifacts(run_id)``).

The protocol is the only way to read a run's artifacts: a SQLite or PostgreSQL store opened
here answers from its folder (``FolderArtifacts``), a team server's client through the
server (``tracking/stores/rest_artifacts.py``), the server itself from its receiving folder
and its destination (``artifacts/served.py``). Paths are relative, ``/``-separated, inside
the run: ``relative_path`` is the one rule, and ``FolderArtifacts`` also refuses symlinks
that resolve outside the folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from mlrun_cli.errors import NotFoundError, UsageError

UPLOAD_SUFFIX = ".upload"  # a partial file being received: never listed
COPY_CHUNK = 4 << 20


@dataclass(frozen=True)
class ArtifactInfo:
    """One file of a run: its path inside the run and its size in bytes."""

    path: str
    size: int


class RunArtifacts(Protocol):
    """The files of one run."""

    run_id: str

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """Every file under the folder ``prefix`` (the whole run when empty), sorted by path."""
        ...

    def info(self, path: str) -> ArtifactInfo | None:
        """The file ``path``, or None when the run has no such file."""
        ...

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Up to ``limit`` bytes (all when None) from ``offset``; NotFoundError if missing."""
        ...

    def put(self, path: str, source: Path) -> None:
        """Store the local file ``source`` as ``path`` (replacing: a retry is the same file)."""
        ...


def relative_path(text: str, *, folder: bool = False) -> str:
    """``text`` as a clean path inside a run (``a/b``); UsageError for anything that could
    leave it: absolute, ``.`` or ``..`` parts, backslashes, NUL. ``folder`` allows ``""``."""
    if "\x00" in text or "\\" in text:
        raise UsageError(f"artifact path {text!r}: backslashes and NUL are not allowed")
    if text.startswith("/"):
        raise UsageError(f"artifact path {text!r}: expected a path relative to the run")
    parts = [part for part in text.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise UsageError(f"artifact path {text!r}: '.' and '..' are not allowed")
    if not parts and not folder:
        raise UsageError("artifact path: expected a file name, got nothing")
    return "/".join(parts)


def exists(artifacts: RunArtifacts, path: str) -> bool:
    """Whether the run has the file ``path``."""
    return artifacts.info(path) is not None


def local_file(artifacts: RunArtifacts, path: str, folder: Path) -> Path | None:
    """The run's file ``path`` as a file of this machine: itself when it is in a local folder,
    else a copy (read a chunk at a time) in ``folder``, keeping its name; None if missing."""
    if isinstance(artifacts, FolderArtifacts):
        return artifacts.file(path)
    found = artifacts.info(path)
    if found is None:
        return None
    target = folder / PurePosixPath(found.path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for offset in range(0, found.size, COPY_CHUNK):
            out.write(artifacts.read_bytes(found.path, offset, COPY_CHUNK))
    return target


def _missing(run_id: str, path: str) -> NotFoundError:
    return NotFoundError(f"run {run_id} has no artifact {path!r}")


def _listed(name: str) -> bool:
    return not (name.startswith(".") and name.endswith(UPLOAD_SUFFIX))


class FolderArtifacts:
    """A run's files in a folder of this machine (a SQLite or PostgreSQL store's, a
    server's receiving folder, a client's staging folder)."""

    def __init__(self, run_id: str, folder: Path) -> None:
        self.run_id = run_id
        self.folder = folder

    def file(self, path: str) -> Path | None:
        """The file ``path`` names inside the folder; None when it does not exist, is not a
        file, or is a symlink resolving outside the folder."""
        relative = relative_path(path)
        try:
            base = self.folder.resolve(strict=True)
            target = (self.folder / relative).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not target.is_relative_to(base) or not target.is_file():
            return None
        return target

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """Every file under ``prefix`` (symlinks leaving the folder are left out)."""
        top = self.folder / relative_path(prefix, folder=True)
        if not top.is_dir():
            return []
        found = []
        for item in top.rglob("*"):
            relative = item.relative_to(self.folder).as_posix()
            if _listed(item.name) and (target := self.file(relative)) is not None:
                found.append(ArtifactInfo(relative, target.stat().st_size))
        return sorted(found, key=lambda a: a.path)

    def info(self, path: str) -> ArtifactInfo | None:
        """The file's size, or None."""
        target = self.file(path)
        return None if target is None else ArtifactInfo(relative_path(path), target.stat().st_size)

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of the file from ``offset``."""
        target = self.file(path)
        if target is None:
            raise _missing(self.run_id, path)
        with target.open("rb") as handle:
            handle.seek(offset)
            return handle.read(-1 if limit is None else limit)

    def put(self, path: str, source: Path) -> None:
        """Copy ``source`` into place (written beside, then renamed)."""
        import shutil

        target = self.folder / relative_path(path)
        if source.resolve() == target.resolve():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}{UPLOAD_SUFFIX}")
        shutil.copyfile(source, partial)
        partial.replace(target)
