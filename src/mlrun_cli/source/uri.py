"""Project URIs: a local folder, ``file://`` URLs, git URLs, and a ``#sub/dir`` suffix.

./project   /abs/project   file:///abs/project            local folders
./p.zip     file:///abs/p.zip   https://host/p.zip        zip archives (as MLflow)
https://host/org/repo.git  ssh://git@host/org/repo        git remotes
git@host:org/repo.git      file:///srv/repos/repo.git     (scp-like; a bare repo on disk)
...#sub/dir                a project inside the repository (dots allowed: #models/v1.2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mlrun_cli.errors import UsageError

_SCP_LIKE = re.compile(r"^(?P<user>[\w.\-]+@)?(?P<host>[\w.\-]+):(?P<path>[^/\\][^:]*)$")
_REMOTE_SCHEMES = ("https", "http", "ssh", "git", "git+ssh", "git+https")


@dataclass(frozen=True)
class ProjectUri:
    """A parsed URI: where the project is and which kind of source reads it."""

    kind: str  # "local" (a folder), "git" (a repository to mirror) or "zip" (an archive)
    location: str  # a folder path, or the git URL (credentials included, never recorded)
    subdirectory: str = ""

    @property
    def display(self) -> str:
        """The location with any credentials replaced by ``***`` (safe to print and record)."""
        return redact(self.location)


def redact(url: str) -> str:
    """Remove credentials from a URL: ``https://user:token@host/x`` -> ``https://***@host/x``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and "@" in parts.netloc and parts.scheme != "ssh":
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"***@{host}"))
    return url


def redact_text(text: str, url: str) -> str:
    """Redact a URL's credentials wherever they appear in ``text`` (e.g. git's stderr)."""
    parts = urlsplit(url)
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0]
        text = text.replace(userinfo, "***")
    return text


def _split_subdirectory(uri: str) -> tuple[str, str]:
    if "#" not in uri:
        return uri, ""
    base, _, sub = uri.rpartition("#")
    sub = sub.strip("/")
    if not sub or any(part in ("", "..") for part in sub.split("/")):
        raise UsageError(f"{uri!r}: expected #sub/dir (relative, without '..') after '#'")
    return base, sub


def is_zip_uri(base: str) -> bool:
    """MLflow's rule: a project URI whose path ends in ``.zip`` is an archive."""
    path = urlsplit(base).path if "://" in base else base
    return path.lower().endswith(".zip")


def is_bare_repo(path: Path) -> bool:
    """A bare git repository: HEAD and objects/ at the top, no work tree."""
    return (
        (path / "HEAD").is_file() and (path / "objects").is_dir() and not (path / ".git").exists()
    )


def parse_uri(uri: str) -> ProjectUri:
    """Classify a project URI."""
    base, sub = _split_subdirectory(uri.strip())
    if not base:
        raise UsageError("project URI is empty")
    scheme = urlsplit(base).scheme.lower() if "://" in base else ""
    if scheme in ("", "file", "http", "https") and is_zip_uri(base):
        return ProjectUri("zip", base, sub)
    if scheme in _REMOTE_SCHEMES:
        return ProjectUri("git", base, sub)
    if scheme == "file":
        path = Path(urlsplit(base).path)
        if base.endswith(".git") or is_bare_repo(path):
            return ProjectUri("git", base, sub)
        return ProjectUri("local", str(path), sub)
    if scheme:
        raise UsageError(
            f"{redact(base)!r}: unsupported scheme {scheme!r}; expected a folder, file://, "
            "https://, ssh:// or git@host:repo"
        )
    if _SCP_LIKE.match(base) and not Path(base).exists():
        return ProjectUri("git", base, sub)
    return ProjectUri("local", base, sub)
