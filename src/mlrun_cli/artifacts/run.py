"""A run's files as every store gives them (``TrackingStore.artifacts(run_id)``).

The protocol is the only way to read a run's artifacts: a SQLite or PostgreSQL store opened
here answers from its folder (``FolderArtifacts``), a team server's client through the
server (``tracking/stores/rest_artifacts.py``), the server itself from its receiving folder
and its destination (``artifacts/served.py``). Paths are relative, ``/``-separated, inside
the run: ``relative_path`` is the one rule, and ``FolderArtifacts`` also refuses symlinks
that resolve outside the folder, for reads and writes alike (``FolderArtifacts.writable``).

Files being received (an upload, a download from the destination) are written under
``_mlrun/.partial/`` with a random name, then renamed into place: that folder is never listed
nor read, nobody else can write there (``_mlrun/`` is mlrun's own: the training-code API and
MLflow's endpoint refuse it), so every other name is an ordinary artifact.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol

from mlrun_cli.artifacts.writes import sweep_partials, written_error
from mlrun_cli.errors import NotFoundError, StoreError, UsageError

PARTIAL_DIR = "_mlrun/.partial"  # files being received: never listed, read or uploaded
COPY_CHUNK = 4 << 20
NAME_MAX = 255  # bytes per path part, as most filesystems allow
PATH_MAX = 4000  # bytes of a whole path inside a run


@dataclass(frozen=True)
class ArtifactEntry:
    """One entry of a folder of a run: a file (with its size) or a folder (size None)."""

    name: str
    size: int | None


@dataclass(frozen=True)
class ArtifactInfo:
    """One file of a run: its path inside the run and its size in bytes."""

    path: str
    size: int


class RunArtifacts(Protocol):
    """The files of one run."""

    run_id: str

    def entries(self, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the folder ``prefix``: its files and folders, sorted by name."""
        ...

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
    clean = "/".join(parts)
    longest = max((len(part.encode("utf-8", "surrogateescape")) for part in parts), default=0)
    if longest > NAME_MAX or len(clean.encode("utf-8", "surrogateescape")) > PATH_MAX:
        raise UsageError(
            f"artifact path {clean[:60]!r}...: a name is at most {NAME_MAX} bytes, "
            f"a path at most {PATH_MAX}"
        )
    return clean


def is_partial(relative: str) -> bool:
    """Whether the clean path ``relative`` is in (or is) the folder of files being received."""
    return relative == PARTIAL_DIR or relative.startswith(PARTIAL_DIR + "/")


def one_level(found: list[ArtifactInfo], prefix: str) -> list[ArtifactEntry]:
    """The entries directly in the folder ``prefix`` of a recursive listing ``found``."""
    depth = len(prefix.split("/")) if prefix else 0
    entries: dict[str, int | None] = {}
    for item in found:
        parts = item.path.split("/")
        if len(parts) > depth:
            entries[parts[depth]] = item.size if len(parts) == depth + 1 else None
    return [ArtifactEntry(name, size) for name, size in sorted(entries.items())]


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


_PARTIAL_PARENT = PARTIAL_DIR.rsplit("/", 1)[0]


def _holds_more_than_partials(folder: str) -> bool:
    """Whether ``_mlrun`` holds anything but the partials' folder (else it is not shown)."""
    try:
        return any(p.name != PARTIAL_DIR.rsplit("/", 1)[1] for p in Path(folder).iterdir())
    except OSError:
        return False


def _missing(run_id: str, path: str) -> NotFoundError:
    return NotFoundError(f"run {run_id} has no artifact {path!r}")


def _bounded(size: int, offset: int, limit: int | None) -> int:
    """How many bytes a read of ``limit`` from ``offset`` gets of a file of ``size``."""
    if offset >= size:
        return 0
    return size - offset if limit is None else max(0, min(limit, size - offset))


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


class FolderArtifacts:
    """A run's files in a folder of this machine (a SQLite or PostgreSQL store's, a
    server's receiving folder, a client's staging folder)."""

    def __init__(self, run_id: str, folder: Path) -> None:
        self.run_id = run_id
        self.folder = folder
        self._base: str | None = None

    def base(self) -> str | None:
        """The folder's real path (resolved once), or None when it does not exist."""
        if self._base is None:
            try:
                self._base = os.path.realpath(self.folder, strict=True)
            except (OSError, RuntimeError):
                return None
        return self._base

    def file(self, path: str) -> Path | None:
        """The file ``path`` names inside the folder; None when it does not exist, is not a
        file, is being received, or is a symlink resolving outside the folder."""
        relative = relative_path(path)
        base = self.base()
        if base is None or is_partial(relative):
            return None
        try:
            target = os.path.realpath(Path(base, relative), strict=True)
        except (OSError, RuntimeError):
            return None
        if not _inside(target, base) or is_partial(os.path.relpath(target, base)):
            return None
        return Path(target) if Path(target).is_file() else None

    def _walk_top(self, prefix: str) -> str | None:
        """The real folder ``prefix`` names inside the run's, or None."""
        base = self.base()
        if base is None:
            return None
        try:
            top = os.path.realpath(Path(base, prefix), strict=True)
        except (OSError, RuntimeError):
            return None
        if not _inside(top, base) or not Path(top).is_dir():
            return None
        return top

    def entries(self, prefix: str = "") -> list[ArtifactEntry]:
        """One level of the folder ``prefix`` (a symlink counts when it resolves inside)."""
        top_relative = relative_path(prefix, folder=True)
        top = self._walk_top(top_relative)
        if top is None:
            return []
        lead = top_relative + "/" if top_relative else ""
        found = []
        try:
            scan = list(os.scandir(top))
        except OSError:
            return []
        for entry in scan:
            name = lead + entry.name
            try:
                if is_partial(name):
                    continue
                if entry.is_symlink():
                    target = self.file(name)
                    if target is not None:
                        found.append(ArtifactEntry(entry.name, target.stat().st_size))
                elif entry.is_dir(follow_symlinks=False):
                    if name != _PARTIAL_PARENT or _holds_more_than_partials(entry.path):
                        found.append(ArtifactEntry(entry.name, None))
                elif entry.is_file(follow_symlinks=False):
                    size = entry.stat(follow_symlinks=False).st_size
                    found.append(ArtifactEntry(entry.name, size))
            except (OSError, UsageError):
                continue
        return sorted(found, key=lambda e: e.name)

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """Every file under ``prefix`` (symlinks leaving the folder are left out; symlinked
        folders are not descended). One stat per file: only symlinks are resolved."""
        top_relative = relative_path(prefix, folder=True)
        top = self._walk_top(top_relative)
        if top is None:
            return []
        found: list[ArtifactInfo] = []
        lead = top_relative + "/" if top_relative else ""
        pending = [(top, lead)]
        while pending:
            folder, shown = pending.pop()
            if is_partial(shown.rstrip("/")):
                continue
            try:
                scan = list(os.scandir(folder))
            except OSError:
                continue
            for entry in scan:
                name = shown + entry.name
                try:
                    if entry.is_symlink():
                        target = self.file(name)
                        if target is not None:
                            found.append(ArtifactInfo(name, target.stat().st_size))
                    elif entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, name + "/"))
                    elif entry.is_file(follow_symlinks=False):
                        found.append(ArtifactInfo(name, entry.stat(follow_symlinks=False).st_size))
                except (OSError, UsageError):
                    continue
        return sorted(found, key=lambda a: a.path)

    def info(self, path: str) -> ArtifactInfo | None:
        """The file's size, or None."""
        target = self.file(path)
        return None if target is None else ArtifactInfo(relative_path(path), target.stat().st_size)

    def read_bytes(self, path: str, offset: int = 0, limit: int | None = None) -> bytes:
        """Bytes of the file from ``offset`` (none past its end)."""
        target = self.file(path)
        if target is None:
            raise _missing(self.run_id, path)
        with target.open("rb") as handle:
            count = _bounded(os.fstat(handle.fileno()).st_size, offset, limit)
            if count == 0:
                return b""
            handle.seek(offset)
            return handle.read(count)

    # -- writing ------------------------------------------------------------------------------
    def writable(self, path: str) -> Path:
        """Where the file ``path`` is written: inside the folder, through no symlink leading
        out of it, not onto a folder nor under a file. UsageError otherwise; nothing is
        created here."""
        relative = relative_path(path)
        if is_partial(relative):
            raise UsageError(f"artifact path {relative!r}: {PARTIAL_DIR}/ is mlrun's own")
        self.folder.mkdir(parents=True, exist_ok=True)
        base = self.base()
        if base is None:
            raise StoreError(f"the folder of run {self.run_id} cannot be created")
        try:
            target = os.path.realpath(Path(base, relative))
        except (OSError, RuntimeError):
            target = ""
        if not target or target == base or not _inside(target, base):
            raise UsageError(f"artifact path {relative!r}: it leads out of the run's folder")
        found = Path(target)
        if found.is_dir():
            raise UsageError(f"artifact path {relative!r}: it is a folder")
        parent = found.parent
        while str(parent) != base and not os.path.lexists(parent):
            parent = parent.parent
        if not parent.is_dir():
            shown = parent.relative_to(base).as_posix()
            raise UsageError(f"artifact path {relative!r}: {shown!r} is a file, not a folder")
        return found

    def partial(self) -> Path:
        """A new, unique file name to receive bytes into (in ``_mlrun/.partial/``); stale
        partials (their receiver died) are swept first."""
        import secrets

        base = self.base() or str(self.folder)
        folder = Path(base) / PARTIAL_DIR
        folder.mkdir(parents=True, exist_ok=True)
        sweep_partials(folder)
        return folder / secrets.token_hex(12)

    def place(self, partial: Path, target: Path) -> None:
        """Move the received ``partial`` to ``target`` (from ``writable``); the partial is
        gone afterwards, whatever happens."""
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial.replace(target)
        except OSError as exc:
            relative = os.path.relpath(target, self.base() or str(self.folder))
            raise written_error(relative, exc) from None
        finally:
            partial.unlink(missing_ok=True)

    def put(self, path: str, source: Path) -> None:
        """Copy ``source`` into place (received beside, then renamed)."""
        import shutil

        target = self.writable(path)
        if target.exists() and target.samefile(source):
            return
        partial = self.partial()
        try:
            shutil.copyfile(source, partial)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise written_error(relative_path(path), exc) from None
        self.place(partial, target)
