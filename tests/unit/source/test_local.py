from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from mlrun_cli.errors import SourceError
from mlrun_cli.source.local import content_hash, local_checkout


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def test_git_checkout_records_commit_and_dirtiness(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "proj.v2").mkdir(parents=True)
    (repo / "proj.v2" / "MLproject").write_text("entry_points: {}\n")
    (repo / "other.txt").write_text("x")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    head = git(repo, "rev-parse", "HEAD")
    clean = local_checkout(str(repo / "proj.v2"))
    assert (clean.code.kind, clean.code.commit, clean.code.dirty) == ("local-git", head, False)
    assert clean.code.subdirectory == "proj.v2"
    (repo / "proj.v2" / "mlruns").mkdir()
    (repo / "proj.v2" / "mlruns" / "mlrun.db").write_text("")  # the store is not code
    assert local_checkout(str(repo / "proj.v2")).code.dirty is False
    # The commit is the whole repository, so a change anywhere in it makes the run dirty.
    (repo / "other.txt").write_text("changed outside the project")
    dirty = local_checkout(str(repo / "proj.v2"))
    assert dirty.code.dirty is True
    assert dirty.snapshot is not None
    assert b"changed outside the project" in dirty.snapshot
    assert local_checkout(str(repo)).code.subdirectory == ""


def test_plain_folder_records_a_content_hash(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)")
    first = local_checkout(str(folder)).code
    assert (first.kind, first.commit) == ("local", None)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (folder / "mlruns").mkdir()
    (folder / "mlruns" / "mlrun.db").write_text("")
    assert content_hash(folder) == first.content_hash
    (folder / "train.py").write_text("print(2)")
    assert content_hash(folder) != first.content_hash


def test_missing_or_file_paths_are_source_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        local_checkout(str(tmp_path / "nope"))
    (tmp_path / "f").write_text("")
    with pytest.raises(SourceError, match="expected a folder; got a file"):
        local_checkout(str(tmp_path / "f"))


def test_git_is_asked_only_where_a_repository_may_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlrun_cli.source import local

    monkeypatch.delenv("GIT_DIR", raising=False)
    monkeypatch.delenv("GIT_WORK_TREE", raising=False)
    plain = tmp_path / "plain" / "deep"
    plain.mkdir(parents=True)
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    git(repo, "init", "-q")
    (tmp_path / "link").symlink_to(repo / "sub")
    assert not local._may_be_git(plain)
    assert local._may_be_git(repo / "sub")
    assert local._may_be_git(tmp_path / "link")  # git discovers from the real path
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert local._may_be_git(plain)  # GIT_DIR names the repository: git decides
