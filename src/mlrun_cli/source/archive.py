"""Zip projects (a local ``.zip``, ``file://...zip`` or ``https://...zip``), as MLflow runs them.

The archive is the code: its sha256 is recorded as the run's content hash and names the
extraction in ``~/.cache/mlrun/zips/<sha256>`` (built in a temporary folder, renamed into place,
so an interrupted extraction is never reused). ``#sub/dir`` is relative to the archive's top,
as in MLflow. Members that would land outside the extraction (absolute paths, ``..``, symlinks)
are refused.
"""

from __future__ import annotations

import hashlib
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from mlrun_cli import paths
from mlrun_cli.errors import SourceError, UsageError
from mlrun_cli.tracking.models import CodeVersion

_PROJECT_FILES = ("MLproject", "python_env.yaml")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(location: str, scratch: Path, offline: bool) -> Path:
    """The archive as a local file (downloaded into ``scratch`` when it is a URL)."""
    from mlrun_cli.source.uri import redact

    scheme = urlsplit(location).scheme.lower() if "://" in location else ""
    if scheme in ("", "file"):
        path = Path(unquote(urlsplit(location).path) if scheme else location).expanduser()
        if not path.is_file():
            raise SourceError(f"zip project {location!r} does not exist")
        return path
    if offline:
        raise SourceError(f"zip project {redact(location)}: --offline forbids downloading it")
    from mlrun_cli._http import DownloadError, download

    target = scratch / "project.zip"
    try:
        download(location, target)
    except DownloadError as exc:
        raise SourceError(f"cannot download zip project {redact(location)}: {exc}") from None
    return target


def _extract(archive: Path, shown: str, target: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zipped:
            for member in zipped.infolist():
                name = PurePosixPath(member.filename)
                mode = member.external_attr >> 16
                if name.is_absolute() or ".." in name.parts or "\\" in member.filename:
                    raise SourceError(f"zip project {shown}: member {member.filename!r} escapes")
                if stat.S_ISLNK(mode):
                    raise SourceError(
                        f"zip project {shown}: member {member.filename!r} is a symlink "
                        "(refused: it could point outside the project)"
                    )
                zipped.extract(member, target)
                if mode & 0o100 and not member.is_dir():
                    extracted = target / member.filename
                    extracted.chmod(extracted.stat().st_mode | 0o111)
    except zipfile.BadZipFile as exc:
        raise SourceError(f"zip project {shown}: not a zip archive ({exc})") from None


def _extraction(sha: str) -> Path:
    return paths.cache_dir() / "zips" / sha


def zip_checkout(
    location: str, subdir: str, offline: bool = False, expected_sha: str | None = None
) -> tuple[Path, Path, CodeVersion]:
    """(project folder, archive top, code version) of a zip project.

    ``expected_sha``: the archive a run recorded (``reproduce``): reused from the cache when it
    is there, else fetched again and refused when it differs.
    """
    from mlrun_cli.source.uri import redact

    shown = redact(location)
    root = _extraction(expected_sha) if expected_sha else None
    if root is None or not root.is_dir():
        cache = paths.cache_dir() / "zips"
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".tmp-", dir=cache) as tmp:
            archive = _fetch(location, Path(tmp), offline)
            sha = _sha256(archive)
            if expected_sha is not None and sha != expected_sha:
                raise SourceError(
                    f"cannot reproduce: zip project {shown} changed since the run "
                    f"(sha256 {sha[:12]}, recorded {expected_sha[:12]})"
                )
            root = _extraction(sha)
            if not root.is_dir():
                staging = Path(tmp) / "tree"
                _extract(archive, shown, staging)
                try:
                    staging.rename(root)
                except OSError:
                    if not root.is_dir():  # not another process winning the same rename
                        raise
    sha = root.name
    project = root / subdir if subdir else root
    if not project.resolve().is_relative_to(root.resolve()) or not project.is_dir():
        listing = ", ".join(sorted(p.name for p in root.iterdir())) or "nothing"
        raise SourceError(f"zip project {shown}: no folder {subdir!r}; the archive has: {listing}")
    if not any((project / name).is_file() for name in _PROJECT_FILES):
        where = f"#{subdir}" if subdir else " (top level)"
        listing = ", ".join(sorted(p.name for p in project.iterdir())) or "nothing"
        raise SourceError(
            f"zip project {shown}{where}: no MLproject or python_env.yaml there; it has: {listing}"
        )
    return project, root, CodeVersion("zip", shown, content_hash=sha, subdirectory=subdir)


def refuse_version(version: str | None) -> None:
    """A zip archive is one version of the code."""
    if version is not None:
        raise UsageError(f"--version {version}: a zip project has no versions (it is one archive)")
