"""Dirty working trees: what changed against HEAD, and a binary-safe patch that rebuilds it.

The patch is ``git diff --binary`` of a temporary index holding every tracked change plus the
untracked files git does not ignore, so ``git apply --binary`` on a clean checkout of the commit
gives back the exact tree. The user's own index is never modified.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from mlrun_cli.errors import SourceError


def _pathspecs(repo: Path, not_code: tuple[Path, ...]) -> list[str]:
    # mlrun's default store folder is never code, wherever it sits in the repository.
    specs = [".", ":(exclude,glob)**/mlruns/**"]
    inside = [
        path.resolve().relative_to(repo).as_posix()
        for path in not_code
        if path.resolve().is_relative_to(repo)
    ]
    # `git add` fails ("paths are ignored by one of your .gitignore files") when an exclude
    # pathspec names an ignored path, as the store is in MLflow's layout (`mlruns/` in
    # .gitignore). Ignored paths are never code anyway: exclude only the ones git would see.
    for relative in _not_ignored(repo, inside):
        specs.append(f":(exclude,literal){relative}")
    return specs


def _not_ignored(repo: Path, paths: list[str]) -> list[str]:
    if not paths:
        return []
    result = subprocess.run(
        ["git", "check-ignore", "--stdin", "-z"],
        cwd=repo,
        input=b"\0".join(p.encode() for p in paths) + b"\0",
        capture_output=True,
        check=False,
    )
    ignored = {p.decode() for p in result.stdout.split(b"\0") if p}
    return [p for p in paths if p not in ignored]


def _git(repo: Path, args: list[str], env: dict[str, str] | None = None) -> bytes:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        raise SourceError(f"{repo}: git {args[0]} failed: {detail[-1] if detail else ''}")
    return result.stdout


def changed_paths(repo: Path, not_code: tuple[Path, ...] = ()) -> list[str]:
    """Paths (relative to the repo) that differ from HEAD, untracked non-ignored ones included."""
    out = _git(repo, ["status", "--porcelain", "-z", "--untracked-files=all", "--",
                      *_pathspecs(repo, not_code)])  # fmt: skip
    paths, entries, index = [], out.split(b"\0"), 0
    while index < len(entries):
        entry = entries[index].decode(errors="replace")
        index += 1
        if not entry:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # renames and copies carry the source path as the next entry
            index += 1
    return paths


def make_snapshot(repo: Path, not_code: tuple[Path, ...] = ()) -> bytes:
    """The binary patch that turns HEAD into the working tree (tracked and untracked files)."""
    import shutil  # (with tempfile: only for a dirty tree, not on every run of a git project)
    import tempfile

    git_dir = Path(_git(repo, ["rev-parse", "--absolute-git-dir"]).decode().strip())
    with tempfile.TemporaryDirectory(prefix="mlrun-snapshot-") as tmp:
        index = Path(tmp) / "index"
        if (git_dir / "index").exists():
            shutil.copyfile(git_dir / "index", index)  # keeps stat data: no rehash of clean files
        env = {**os.environ, "GIT_INDEX_FILE": str(index)}
        _git(repo, ["add", "--all", "--", *_pathspecs(repo, not_code)], env)
        return _git(repo, ["diff", "--cached", "--binary", "--no-color", "--no-ext-diff",
                           "--full-index", "HEAD"], env)  # fmt: skip
