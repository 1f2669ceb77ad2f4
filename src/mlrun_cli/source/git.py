"""Git sources: one bare mirror per remote (full history, tags) and a clean checkout per commit.

    ~/.cache/mlrun/git/mirrors/KEY.git           fetched on use (not with --offline)
    ~/.cache/mlrun/git/checkouts/KEY/COMMIT/     a detached clone sharing the mirror's objects

KEY is a hash of the URL without credentials. Mirrors and checkouts are made in a temporary
folder and renamed into place, so an interrupted clone is never mistaken for a complete one.
The user's own working copy is never touched: a local repository run at another ``--version``
is mirrored like any remote.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli import paths
from mlrun_cli.errors import SourceError
from mlrun_cli.source.uri import redact, redact_text

if TYPE_CHECKING:
    from collections.abc import Iterator

_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def git_env() -> dict[str, str]:
    """Never prompt (CI has no terminal): credentials come from the user's normal git setup."""
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def run_git(args: list[str], url: str, what: str, cwd: Path | None = None) -> str:
    """Run git; failures become SourceError with git's last line, credentials redacted."""
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, env=git_env(), check=False
        )
    except FileNotFoundError:
        raise SourceError("git is not installed (needed for git project URIs)") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        detail = redact_text(lines[-1] if lines else f"exit code {result.returncode}", url)
        raise SourceError(f"{what} {redact(url)}: {detail}")
    return result.stdout


def _key(url: str) -> str:
    return hashlib.sha256(redact(url).rstrip("/").encode()).hexdigest()[:16]


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _has_commit(mirror: Path, sha: str) -> bool:
    probe = subprocess.run(
        ["git", "--git-dir", str(mirror), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def _known_commit(mirror: Path, version: str | None) -> bool:
    """A full SHA already in the mirror never changes: no fetch needed."""
    return bool(version and _FULL_SHA.match(version) and _has_commit(mirror, version))


def ensure_mirror(url: str, version: str | None, offline: bool) -> Path:
    """The up-to-date bare mirror of ``url`` (fetched unless offline or the commit is known)."""
    mirrors = paths.git_cache_dir() / "mirrors"
    mirror = mirrors / f"{_key(url)}.git"
    with _locked(mirrors / f"{_key(url)}.lock"):
        if not mirror.exists():
            if offline:
                raise SourceError(f"--offline: no cached copy of {redact(url)}; run once online")
            tmp = mirrors / f".tmp-{mirror.name}-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                run_git(["clone", "--mirror", "--quiet", url, str(tmp)], url, "cannot clone")
                # Keep no credentials on disk: later fetches pass the URL explicitly.
                run_git(["remote", "set-url", "origin", redact(url)], url, "git", cwd=tmp)
                tmp.rename(mirror)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        elif not offline and not _known_commit(mirror, version):
            run_git(
                ["fetch", "--quiet", "--prune", "--tags", url,
                 "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                url, "cannot fetch", cwd=mirror,
            )  # fmt: skip
    return mirror


def resolve_commit(mirror: Path, url: str, version: str | None) -> str:
    """The full commit SHA a branch, tag or (abbreviated) SHA names; default: the remote HEAD."""
    wanted = version or "HEAD"
    argv = ["git", "--git-dir", str(mirror), "rev-parse", "--verify", "--quiet"]
    probe = subprocess.run(
        [*argv, f"{wanted}^{{commit}}"], capture_output=True, text=True, check=False
    )
    if probe.returncode == 0:
        return probe.stdout.strip()
    refs = run_git(["for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/tags"],
                   url, "git", cwd=mirror).split()  # fmt: skip
    listing = ", ".join(refs[:20]) + (" ..." if len(refs) > 20 else "")
    raise SourceError(
        f"unknown revision {wanted!r} in {redact(url)} (branches and tags: {listing or 'none'})"
    )


def is_branch(mirror: Path, name: str) -> bool:
    """``name`` is a branch of the mirrored repository (not a tag or a SHA)."""
    probe = subprocess.run(
        ["git", "--git-dir", str(mirror), "show-ref", "--verify", "--quiet", f"refs/heads/{name}"],
        capture_output=True, check=False,
    )  # fmt: skip
    return probe.returncode == 0


def checkout(mirror: Path, url: str, commit: str, patch: bytes | None = None) -> Path:
    """A clean work tree of ``commit`` (reused for the same commit), submodules initialised.

    With ``patch`` (a recorded dirty snapshot) the tree is the commit plus the patch, in a
    folder of its own keyed by the patch's hash.
    """
    name = commit if patch is None else f"{commit}+{hashlib.sha256(patch).hexdigest()[:16]}"
    root = paths.git_cache_dir() / "checkouts" / mirror.stem / name
    if root.exists():
        return root
    tmp = root.with_name(f".tmp-{name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        run_git(["clone", "--quiet", "--shared", "--no-checkout", str(mirror), str(tmp)],
                url, "cannot check out")  # fmt: skip
        run_git(["checkout", "--quiet", "--detach", commit], url, "cannot check out", cwd=tmp)
        if (tmp / ".gitmodules").exists():
            # Relative submodule URLs resolve against origin: point it at the real remote.
            run_git(["remote", "set-url", "origin", url], url, "git", cwd=tmp)
            run_git(["submodule", "update", "--init", "--recursive", "--quiet"],
                    url, "cannot initialise submodules of", cwd=tmp)  # fmt: skip
            run_git(["remote", "set-url", "origin", redact(url)], url, "git", cwd=tmp)
        if patch:
            patch_file = tmp.with_name(tmp.name + ".patch")
            patch_file.write_bytes(patch)
            try:
                run_git(["apply", "--binary", "--whitespace=nowarn", str(patch_file)],
                        url, "cannot apply the recorded dirty snapshot to", cwd=tmp)  # fmt: skip
            finally:
                patch_file.unlink(missing_ok=True)
        try:
            tmp.rename(root)
        except OSError:
            if not root.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


def list_level(root: Path, subdirectory: str) -> tuple[str, list[str]]:
    """The deepest existing folder on the way to ``subdirectory`` and its entries."""
    current = root
    for part in subdirectory.split("/"):
        if not (current / part).is_dir():
            break
        current = current / part
    entries = sorted(p.name + ("/" if p.is_dir() else "") for p in current.iterdir()
                     if p.name != ".git")  # fmt: skip
    return current.relative_to(root).as_posix(), entries
