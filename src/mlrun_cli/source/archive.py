"""Zip projects (a local ``.zip``, ``file://...zip`` or ``https://...zip``), as MLflow runs them.

The archive is the code: its sha256 is recorded as the run's content hash and names the cache
entry ``~/.cache/mlrun/zips/<sha256>/`` holding the archive itself (``archive.zip``), its
extraction (``tree/``, built in a temporary folder and renamed into place, so an interrupted
extraction is never reused) and a manifest of the extracted members' sizes and mtimes. Every
use checks the members against the manifest by stat and restores any that a run changed or
removed, so the code that runs is always the archive's (files a run adds, its outputs, stay).
``#sub/dir`` is relative to the archive's top, as in MLflow. Members that would land outside
the extraction (absolute paths, ``..``, symlinks) and archives over the size limit are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from mlrun_cli import paths
from mlrun_cli._files import write_text_atomic
from mlrun_cli.errors import SourceError, UsageError
from mlrun_cli.tracking.models import CodeVersion

_PROJECT_FILES = ("MLproject", "python_env.yaml")
MAX_EXTRACTED_BYTES = 8 << 30  # a zip bomb stops here; override with MLRUN_ZIP_MAX_BYTES


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def local_zip_path(location: str) -> Path | None:
    """The archive's absolute path when ``location`` is a local file or ``file://`` URL."""
    scheme = urlsplit(location).scheme.lower() if "://" in location else ""
    if scheme not in ("", "file"):
        return None
    text = unquote(urlsplit(location).path) if scheme else location
    return Path(text).expanduser().absolute()


def _fetch(location: str, shown: str, scratch: Path, offline: bool) -> Path:
    """The archive as a local file (downloaded into ``scratch`` when it is a URL)."""
    local = local_zip_path(location)
    if local is not None:
        if not local.is_file():
            raise SourceError(f"zip project {shown!r} does not exist")
        return local
    if offline:
        raise SourceError(f"zip project {shown}: --offline forbids downloading it")
    from mlrun_cli._http import DownloadError, download

    target = scratch / "project.zip"
    try:
        download(location, target)
    except DownloadError as exc:
        raise SourceError(f"cannot download zip project {shown}: {exc}") from None
    return target


def _members(zipped: zipfile.ZipFile, shown: str) -> list[zipfile.ZipInfo]:
    """The archive's members, each checked to stay inside the extraction."""
    limit = int(os.environ.get("MLRUN_ZIP_MAX_BYTES") or MAX_EXTRACTED_BYTES)
    members, total, seen = zipped.infolist(), 0, set()
    for member in members:
        name = PurePosixPath(member.filename)
        if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
            raise SourceError(f"zip project {shown}: member {member.filename!r} escapes")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SourceError(
                f"zip project {shown}: member {member.filename!r} is a symlink "
                "(refused: it could point outside the project)"
            )
        key = member.filename.rstrip("/")
        if key in seen and not member.is_dir():
            raise SourceError(f"zip project {shown}: member {member.filename!r} appears twice")
        seen.add(key)
        total += member.file_size
        if total > limit:
            raise SourceError(
                f"zip project {shown}: expands to more than {limit} bytes "
                "(raise MLRUN_ZIP_MAX_BYTES to allow it)"
            )
    return members


def _extract_member(zipped: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path) -> None:
    zipped.extract(member, target)
    if (member.external_attr >> 16) & 0o100 and not member.is_dir():
        extracted = target / member.filename
        extracted.chmod(extracted.stat().st_mode | 0o111)


def _manifest(tree: Path, members: list[zipfile.ZipInfo]) -> dict[str, list[int]]:
    files = {}
    for member in members:
        if not member.is_dir():
            st = (tree / member.filename).stat()
            files[member.filename] = [st.st_size, st.st_mtime_ns]
    return files


def _read_zip(archive: Path, shown: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"zip project {shown}: not a zip archive ({exc})") from None


def _build(entry: Path, archive: Path, shown: str) -> None:
    """Create ``entry`` (archive copy, tree, manifest) in a temporary folder, then rename it."""
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
    try:
        shutil.copyfile(archive, staging / "archive.zip")
        tree = staging / "tree"
        tree.mkdir()
        with _read_zip(staging / "archive.zip", shown) as zipped:
            members = _members(zipped, shown)
            for member in members:
                _extract_member(zipped, member, tree)
            manifest = _manifest(tree, members)
        write_text_atomic(staging / "manifest.json", json.dumps(manifest))
        with contextlib.suppress(OSError):  # another process may have won the same rename
            staging.rename(entry)
        if not entry.is_dir():
            raise SourceError(f"zip project {shown}: cannot create {entry}")
    except (NotImplementedError, RuntimeError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise SourceError(f"zip project {shown}: cannot extract: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _heal(entry: Path, shown: str) -> dict[str, list[int]]:
    """Restore members a run changed or removed; return the manifest."""
    manifest: dict[str, list[int]] = json.loads((entry / "manifest.json").read_text())
    tree = entry / "tree"
    changed = []
    for name, (size, mtime) in manifest.items():
        try:
            st = (tree / name).lstat()
        except OSError:
            changed.append(name)
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_size != size or st.st_mtime_ns != mtime:
            changed.append(name)
    if changed:
        with _read_zip(entry / "archive.zip", shown) as zipped:
            for name in changed:
                path = tree / name
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                _extract_member(zipped, zipped.getinfo(name), tree)
                st = path.stat()
                manifest[name] = [st.st_size, st.st_mtime_ns]
        write_text_atomic(entry / "manifest.json", json.dumps(manifest))
    return manifest


def archive_members(sha: str) -> frozenset[str]:
    """The files (relative to the archive's top) a cached zip project holds unchanged."""
    try:
        manifest = json.loads((paths.cache_dir() / "zips" / sha / "manifest.json").read_text())
    except (OSError, ValueError):
        return frozenset()
    return frozenset(manifest)


def zip_checkout(
    location: str, subdir: str, offline: bool = False, expected_sha: str | None = None
) -> tuple[Path, Path, CodeVersion]:
    """(project folder, archive top, code version) of a zip project.

    ``expected_sha``: the archive a run recorded (``reproduce``): reused from the cache when it
    is there, else fetched again and refused when it differs.
    """
    from mlrun_cli.source.uri import redact

    local = local_zip_path(location)
    shown = str(local) if local is not None else redact(location)
    cache = paths.cache_dir() / "zips"
    cache.mkdir(parents=True, exist_ok=True)
    entry = cache / expected_sha if expected_sha else None
    if entry is None or not (entry / "manifest.json").is_file():
        with tempfile.TemporaryDirectory(prefix=".dl-", dir=cache) as tmp:
            archive = _fetch(location, shown, Path(tmp), offline)
            sha = _sha256(archive)
            if expected_sha is not None and sha != expected_sha:
                raise SourceError(
                    f"cannot reproduce: zip project {shown} changed since the run "
                    f"(sha256 {sha[:12]}, recorded {expected_sha[:12]})"
                )
            entry = cache / sha
            if not (entry / "manifest.json").is_file():
                _build(entry, archive, shown)
    _heal(entry, shown)
    root = entry / "tree"
    project = root / subdir if subdir else root
    if not project.resolve().is_relative_to(root.resolve()) or not project.is_dir():
        listing = ", ".join(sorted(p.name for p in root.iterdir())) or "nothing"
        raise SourceError(f"zip project {shown}: no folder {subdir!r}; the archive has: {listing}")
    inside = sorted(p.name for p in project.iterdir())
    if not any((project / name).is_file() for name in _PROJECT_FILES):
        folders = [name for name in inside if (project / name).is_dir()]
        if len(inside) == 1 and folders:  # a GitHub-style archive with one top folder
            hint = f"#{subdir}/{folders[0]}" if subdir else f"#{folders[0]}"
            raise SourceError(
                f"zip project {shown}: the archive holds only the folder {folders[0]!r}",
                hint=f"name the project inside it: {shown}{hint}",
            )
    return project, root, CodeVersion("zip", shown, content_hash=entry.name, subdirectory=subdir)


def refuse_version(version: str | None) -> None:
    """A zip archive is one version of the code."""
    if version is not None:
        raise UsageError(f"--version {version}: a zip project has no versions (it is one archive)")
