"""Resolve a project URI to a folder to run and the exact code version it holds.

A local git work tree records its commit and, per ``--dirty``, a snapshot of uncommitted
changes; a plain folder records a content hash; a git URL (or a local repository run at another
``--version``) is mirrored and checked out at the exact commit (see git.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli._sha import file_hexdigest, hexdigest, sha256
from mlrun_cli.errors import SourceError, UsageError
from mlrun_cli.source.uri import parse_uri
from mlrun_cli.tracking.models import CodeVersion
from mlrun_cli.tracking.record import Record

# Never part of a project's code: VCS data, caches, virtualenvs and mlrun's own store.
if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    Progress = Callable[[str], AbstractContextManager[Callable[[str], None]]]

_EXCLUDED_DIRS = frozenset(
    {".git", ".hg", ".svn", "mlruns", "__pycache__", ".venv", "venv", ".mypy_cache",
     ".pytest_cache", ".ruff_cache", ".tox", ".nox", ".dvc", ".ipynb_checkpoints"}
)  # fmt: skip
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
DIRTY_MODES = ("snapshot", "refuse", "allow")
_PROJECT_FILES = ("MLproject", "mlproject", "python_env.yaml", "conda.yaml")
# Folders whose code version was resolved elsewhere: a backend worker runs the copy its engine
# uploaded (no .git), recorded as what the submitter resolved (backends/submitted.py).
_SUBMITTED: dict[Path, Checkout] = {}


class Checkout(Record):
    """A project folder ready to run, the code version it holds, and any dirty snapshot."""

    path: Path
    code: CodeVersion
    snapshot: bytes | None = None
    root: Path | None = None  # the repository (or plain folder) the project lives in
    branch: str | None = None  # --version named this branch (recorded as MLflow does)

    @property
    def top(self) -> Path:
        """The repository's top level (the project folder itself when it is not in one)."""
        return self.root or self.path


class SourceRequest(Record):
    """What ``mlrun run`` was asked to run."""

    uri: str
    version: str | None = None
    dirty: str = "snapshot"
    offline: bool = False


def use_submitted(checkout: Checkout) -> None:
    """From now on in this process, ``checkout.path`` resolves to ``checkout`` (its code
    version as the submitter of a backend job resolved it, not as the uploaded copy looks)."""
    _SUBMITTED[checkout.path.resolve()] = checkout


def _git(cwd: Path, *args: str) -> str | None:
    if not _may_be_git(cwd):
        return None
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
        )  # fmt: skip
    except FileNotFoundError:
        return None
    return result.stdout if result.returncode == 0 else None


def _may_be_git(folder: Path) -> bool:
    """False when git could find no repository for ``folder``: no ``GIT_DIR`` and no ``.git``
    in it or above it, the only places git's discovery looks. A plain folder's run is then
    spared a git process (~3 ms)."""
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True
    real = Path(os.path.realpath(folder))
    return any((path / ".git").exists() or (path / ".git").is_symlink()
               for path in (real, *real.parents))  # fmt: skip


def content_hash(directory: Path, exclude: tuple[Path, ...] = ()) -> str:
    """sha256 over sorted (relative path, file sha256) pairs, honouring ``.mlrunignore``."""
    from mlrun_cli.source.ignore import IgnoreRules  # (a plain folder's: git checkouts need none)

    entries: list[tuple[str, str]] = []
    skipped = {path.resolve() for path in exclude}
    rules = IgnoreRules.for_folder(directory)
    for root, dirs, files in os.walk(directory):
        base = Path(root)
        rel_base = base.relative_to(directory).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        dirs[:] = [
            d for d in dirs
            if d not in _EXCLUDED_DIRS and not d.endswith(".egg-info")
            and (base / d).resolve() not in skipped and not rules.ignored(prefix + d, is_dir=True)
        ]  # fmt: skip
        for name in files:
            path = base / name
            relative = prefix + name
            if (name.endswith(_EXCLUDED_SUFFIXES) or path.resolve() in skipped
                    or rules.ignored(relative, is_dir=False)):  # fmt: skip
                continue
            if path.is_symlink():
                entries.append((relative, "link:" + str(path.readlink())))
                continue
            entries.append((relative, file_hexdigest(path)))
    total = sha256()
    for relative, file_digest in sorted(entries):
        total.update(f"{relative}\0{file_digest}\n".encode())
    return total.hexdigest()


def _within(root: Path, project: Path, shown: str) -> None:
    """Refuse a subdirectory that resolves outside the repository (a committed symlink):
    the code that would run is not the code the record names."""
    real_root, real = root.resolve(), project.resolve()
    if real != real_root and not real.is_relative_to(real_root):
        raise SourceError(
            f"{shown}: the project folder resolves to {real}, outside the repository {root} "
            "(a symlink): refusing to run code the recorded commit does not hold"
        )


def _local(folder: Path, request: SourceRequest, not_code: tuple[Path, ...]) -> Checkout:
    head = _git(folder, "rev-parse", "--show-toplevel", "HEAD")
    if head is None:
        digest = content_hash(folder, not_code)
        return Checkout(folder, CodeVersion("local", str(folder), content_hash=digest), root=folder)
    from mlrun_cli.source.snapshot import changed_paths, make_snapshot

    toplevel_text, commit = head.rstrip("\n").rsplit("\n", 1)  # the path may hold spaces
    toplevel = Path(toplevel_text).resolve()
    subdir = folder.relative_to(toplevel).as_posix()
    subdir = "" if subdir == "." else subdir
    changed = changed_paths(toplevel, not_code)
    code = CodeVersion("local-git", str(folder), commit, bool(changed), None, subdir)
    if not changed or request.dirty == "allow":
        return Checkout(folder, code, root=toplevel)
    if request.dirty == "refuse":
        listing = ", ".join(changed[:20]) + (
            f" ... ({len(changed)} in all)" if len(changed) > 20 else ""
        )
        raise SourceError(
            f"{toplevel} has uncommitted changes (--dirty refuse): {listing}",
            hint="commit or stash them, or use --dirty snapshot to record them with the run",
        )
    patch = make_snapshot(toplevel, not_code)
    from dataclasses import replace  # (a dirty checkout only)

    snapshot_code = replace(code, snapshot_sha256=hexdigest(patch))
    return Checkout(folder, snapshot_code, patch, root=toplevel)


def _remote(
    url: str, subdir: str, request: SourceRequest, kind: str, patch: bytes | None = None,
    progress: Progress | None = None,
) -> Checkout:  # fmt: skip
    from mlrun_cli.source.git import checkout, ensure_mirror, is_branch, list_level, resolve_commit
    from mlrun_cli.source.uri import redact

    mirror = ensure_mirror(url, request.version, request.offline, progress)
    commit = resolve_commit(mirror, url, request.version)
    root = checkout(mirror, url, commit, patch)
    project = root / subdir if subdir else root
    _within(root, project, f"{redact(url)}#{subdir}")
    if not project.is_dir():
        level, entries = list_level(root, subdir)
        raise SourceError(
            f"{redact(url)}@{commit[:12]}: no folder {subdir!r}; {level or 'the top level'} has: "
            + (", ".join(entries) or "nothing")
        )
    if not any((project / name).is_file() for name in _PROJECT_FILES):
        where = f"#{subdir}" if subdir else " (top level)"
        raise SourceError(
            f"{redact(url)}@{commit[:12]}{where}: no MLproject or python_env.yaml there"
        )
    code = CodeVersion(
        kind, redact(url), commit, dirty=False, subdirectory=subdir, version=request.version
    )
    branch = request.version if request.version and is_branch(mirror, request.version) else None
    return Checkout(project, code, root=root, branch=branch)


def resolve_source(
    request: SourceRequest, not_code: tuple[Path, ...] = (), progress: Progress | None = None
) -> Checkout:
    """The folder to run and the code version it holds.

    ``not_code``: paths never counted as code (the tracking store's files); ``progress``
    shows git clones and fetches (the Reporter's progress).
    """
    if request.dirty not in DIRTY_MODES:
        raise UsageError(
            f"--dirty: expected one of {', '.join(DIRTY_MODES)}; got {request.dirty!r}"
        )
    parsed = parse_uri(request.uri)
    if parsed.kind == "git":
        return _remote(parsed.location, parsed.subdirectory, request, "git", progress=progress)
    if parsed.kind == "zip":
        from mlrun_cli.source.archive import refuse_version, zip_checkout

        refuse_version(request.version)
        project, top, code = zip_checkout(parsed.location, parsed.subdirectory, request.offline)
        return Checkout(project, code, root=top)
    folder = Path(parsed.location).expanduser()
    if not folder.exists():
        raise SourceError(f"project folder {parsed.location!r} does not exist")
    if not folder.is_dir():
        raise SourceError(f"project {parsed.location!r}: expected a folder; got a file")
    folder = folder.resolve()
    if request.version is None:
        target = folder / parsed.subdirectory if parsed.subdirectory else folder
        _within(folder, target, request.uri)
        if not target.is_dir():
            raise SourceError(f"project folder {str(target)!r} does not exist")
        submitted = _SUBMITTED.get(target)
        return submitted if submitted is not None else _local(target, request, not_code)
    # Another version of a local repository: mirror it, never touch the user's work tree.
    toplevel = _git(folder, "rev-parse", "--show-toplevel")
    if toplevel is None:
        raise UsageError(f"--version {request.version}: {folder} is not a git repository")
    top = Path(toplevel.strip()).resolve()
    inner = folder.relative_to(top).as_posix()
    subdir = "/".join(part for part in (inner if inner != "." else "", parsed.subdirectory) if part)
    return _remote(str(top), subdir, request, "local-git", progress=progress)


def local_checkout(uri: str, exclude: tuple[Path, ...] = ()) -> Checkout:
    """A local folder's checkout with default settings (``mlrun env build`` uses it)."""
    return resolve_source(SourceRequest(uri), exclude)


def recorded_repository(code: CodeVersion) -> Path:
    """The user's repository (or folder) a local run was made from.

    The record names the project folder (a run of the work tree) or, for a run of another
    ``--version``, the repository itself.
    """
    folder = Path(code.uri)
    if code.kind != "local-git" or (folder / ".git").exists():
        return folder
    for _ in code.subdirectory.split("/") if code.subdirectory else ():
        folder = folder.parent
    return folder


def restore_source(code: CodeVersion, patch: bytes | None, offline: bool = False) -> Checkout:
    """The exact tree a run recorded: its commit (from the remote or the local repository's
    object store) plus its dirty snapshot, or an unchanged plain folder."""
    request = SourceRequest(code.uri, version=code.commit, offline=offline)
    if code.kind == "git":
        restored = _remote(code.uri, code.subdirectory, request, "git", patch)
    elif code.kind == "local-git":
        top = recorded_repository(code)
        if not (top / ".git").exists():
            raise SourceError(f"cannot reproduce: the repository {top} is gone")
        restored = _remote(str(top), code.subdirectory, request, "local-git", patch)
    elif code.kind == "zip":
        from mlrun_cli.source.archive import zip_checkout

        project, top, _ = zip_checkout(code.uri, code.subdirectory, offline, code.content_hash)
        restored = Checkout(project, code, root=top)
    elif code.kind == "local":
        folder = Path(code.uri)
        if not folder.is_dir() or content_hash(folder) != code.content_hash:
            raise SourceError(
                f"cannot reproduce: {folder} changed since the run (content hash differs) and is "
                "not in a git repository, so the recorded code cannot be restored"
            )
        restored = Checkout(folder, code, root=folder)
    else:
        raise UsageError(f"cannot reproduce a run of kind {code.kind!r} (not run by mlrun run)")
    from dataclasses import replace  # (reproduce only)

    return replace(restored, code=code)
