"""A local project folder: record which code it holds (git commit and dirtiness, or a hash)."""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlrun_cli.errors import SourceError
from mlrun_cli.tracking.models import CodeVersion

# Never part of a project's code: VCS data, caches, virtualenvs and mlrun's own store.
_EXCLUDED_DIRS = frozenset(
    {".git", ".hg", ".svn", "mlruns", "__pycache__", ".venv", "venv", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".dvc", ".ipynb_checkpoints"}
)  # fmt: skip
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")


@dataclass(frozen=True)
class Checkout:
    """A project folder ready to run, and the code version it holds."""

    path: Path
    code: CodeVersion


def _git(cwd: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )
    except FileNotFoundError:
        return None
    return result.stdout if result.returncode == 0 else None


def content_hash(directory: Path, exclude: tuple[Path, ...] = ()) -> str:
    """sha256 over sorted (relative path, file sha256) pairs of the folder's files."""
    entries: list[tuple[str, str]] = []
    skipped = {path.resolve() for path in exclude}
    for root, dirs, files in os.walk(directory):
        dirs[:] = [
            d for d in dirs
            if d not in _EXCLUDED_DIRS and not d.endswith(".egg-info")
            and (Path(root) / d).resolve() not in skipped
        ]  # fmt: skip
        for name in files:
            if name.endswith(_EXCLUDED_SUFFIXES) or (Path(root) / name).resolve() in skipped:
                continue
            path = Path(root) / name
            relative = path.relative_to(directory).as_posix()
            if path.is_symlink():
                entries.append((relative, "link:" + str(path.readlink())))
                continue
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            entries.append((relative, digest.hexdigest()))
    total = hashlib.sha256()
    for relative, file_digest in sorted(entries):
        total.update(f"{relative}\0{file_digest}\n".encode())
    return total.hexdigest()


def local_checkout(uri: str, exclude: tuple[Path, ...] = ()) -> Checkout:
    """Resolve a local folder; a git work tree records its commit, anything else a hash.

    ``exclude``: paths that are not code even inside the folder (the tracking store's files).
    """
    path = Path(uri).expanduser()
    if not path.exists():
        raise SourceError(f"project folder {uri!r} does not exist")
    if not path.is_dir():
        raise SourceError(f"project {uri!r}: expected a folder; got a file")
    path = path.resolve()
    head = _git(path, "rev-parse", "--show-toplevel", "HEAD")
    if head is not None:
        toplevel, commit = head.split()
        subdir = path.relative_to(Path(toplevel).resolve()).as_posix()
        subdir = "" if subdir == "." else subdir
        # The store (default ./mlruns) may live inside the project: it is not code.
        inside = [p.resolve() for p in exclude if p.resolve().is_relative_to(path)]
        pathspecs = [f":(exclude){p.relative_to(path).as_posix()}" for p in inside]
        status = _git(path, "status", "--porcelain", "--", ".", ":(exclude)mlruns", *pathspecs)
        dirty = bool(status and status.strip())
        return Checkout(path, CodeVersion("local-git", str(path), commit, dirty, None, subdir))
    digest = content_hash(path, exclude)
    return Checkout(path, CodeVersion("local", str(path), content_hash=digest))
