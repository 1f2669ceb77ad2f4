"""DVC's content-addressed objects: find them in the cache, fetch them from a remote, and put
a tracked file or folder in the workspace at an exact hash.

Layout (DVC 3, cache and remote alike): ``files/md5/AB/CDEF...``; a folder is a ``.dir`` object
listing its files. Local-folder remotes are read directly (no dvc import, no network); other
remotes go through dvc's Python API, imported only then. Everything is written to a temporary
path, verified against its md5 while copying, and renamed into place: partial data never looks
complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.errors import DataError

if TYPE_CHECKING:
    from mlrun_cli.data.config import DvcConfig
    from mlrun_cli.data.pins import Pin


def _relative(md5: str) -> Path:
    return Path("files") / "md5" / md5[:2] / md5[2:]


def _copy_verified(source: Path, target: Path, md5: str, what: str) -> None:
    """Copy while hashing; a mismatch is a corrupted object (nothing is left behind)."""
    expected = md5.removesuffix(".dir")
    digest = hashlib.md5()  # noqa: S324 - DVC's content address
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.mlrun-{os.getpid()}")
    try:
        with source.open("rb") as reader, tmp.open("wb") as writer:
            for block in iter(lambda: reader.read(1 << 20), b""):
                digest.update(block)
                writer.write(block)
        if digest.hexdigest() != expected:
            raise DataError(
                f"corrupted {what} {source} (md5 {digest.hexdigest()}, expected {expected})",
                hint="remove it and run again to fetch a good copy",
            )
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass
class ObjectStore:
    """A DVC cache folder and the project's default remote."""

    cache: Path
    config: DvcConfig
    dvc_root: Path
    offline: bool = False
    revision: str | None = None
    fetched: list[str] = field(default_factory=list)
    extra_caches: tuple[Path, ...] = ()  # other caches that may hold objects (read only)

    def _cached(self, md5: str) -> Path | None:
        for cache in (self.cache, *self.extra_caches):
            for candidate in (cache / _relative(md5), cache / md5[:2] / md5[2:]):
                if candidate.is_file():
                    return candidate
        return None

    def _local_remote(self) -> Path | None:
        url = self.config.remote_url
        if url is None:
            return None
        if url.startswith("file://"):
            return Path(url[len("file://") :])
        return None if "://" in url else Path(url)

    def obtain(self, md5: str, path: str) -> Path:
        """The cache file of an object, fetched from the remote when missing."""
        cached = self._cached(md5)
        if cached is not None:
            return cached
        if self.offline:
            raise DataError(f"{path} ({md5}) is not in the DVC cache {self.cache} (--offline)")
        if self.config.remote_url is None:
            raise DataError(
                f"{path} ({md5}) is not in the DVC cache {self.cache} and the project has no "
                "default DVC remote",
                hint="add one with `dvc remote add -d NAME URL`, or `dvc push` from where it is",
            )
        local = self._local_remote()
        if local is None:
            self._fetch_with_dvc()
        else:
            source = local / _relative(md5)
            if not source.is_file():
                raise DataError(
                    f"DVC remote {self.config.remote_name} ({self.config.remote_display}) has no "
                    f"object {md5} for {path}",
                    hint="run `dvc push` where the data was added",
                )
            _copy_verified(source, self.cache / _relative(md5), md5, "remote object")
        self.fetched.append(path)
        cached = self._cached(md5)
        if cached is None:
            raise DataError(
                f"DVC remote {self.config.remote_name} ({self.config.remote_display}) has no "
                f"object {md5} for {path}"
            )
        return cached

    def _fetch_with_dvc(self) -> None:
        try:
            from dvc.repo import Repo  # heavy (~0.4 s): only for non-local remotes
        except ImportError:
            raise DataError(
                f"DVC remote {self.config.remote_display} needs the dvc package",
                hint="pip install 'mlrun-cli[dvc]' (local-folder remotes work without it)",
            ) from None
        try:
            with Repo(str(self.dvc_root)) as repo:
                repo.fetch(revs=[self.revision] if self.revision else None)
        except Exception as exc:
            raise DataError(f"dvc fetch from {self.config.remote_display} failed: {exc}") from exc

    def materialize(self, pin: Pin, target: Path) -> None:
        """Put the pinned file or folder at ``target`` (replacing what is there)."""
        if not pin.is_dir:
            _copy_verified(self.obtain(pin.md5, pin.path), target, pin.md5, "DVC cache object")
            return
        manifest_path = self.obtain(pin.md5, pin.path)
        try:
            entries = json.loads(manifest_path.read_text())
            files = [(str(e["relpath"]), str(e["md5"])) for e in entries]
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"corrupted DVC folder manifest {manifest_path}") from exc
        from mlrun_cli.data.pins import inside

        staging = target.with_name(f".{target.name}.mlrun-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            for relpath, md5 in files:
                source = self.obtain(md5, f"{pin.path}/{relpath}")
                destination = inside(staging, relpath, f"{manifest_path} ({pin.path})")
                try:
                    _copy_verified(source, destination, md5, "DVC cache object")
                except (NotADirectoryError, FileExistsError, IsADirectoryError):
                    raise DataError(
                        f"corrupted DVC folder manifest {manifest_path} ({pin.path}): "
                        f"{relpath!r} is both a file and a folder"
                    ) from None
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            if target.is_symlink():
                target.unlink()  # a link in the way is replaced, never followed or kept aside
            elif target.exists():
                target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
