"""The submitter's code version travels with the uploaded copy; the worker records it."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from mlrun_cli.backends import submitted
from mlrun_cli.errors import SourceError
from mlrun_cli.source.local import Checkout, SourceRequest, resolve_source, use_submitted
from mlrun_cli.tracking.models import CodeVersion


def _checkout(top: Path) -> Checkout:
    project = top / "proj"
    project.mkdir(parents=True)
    (project / "MLproject").write_text("entry_points: {}\n")
    subprocess.run(["git", "init", "-q", str(top)], check=True)
    (top / "mlruns").mkdir()
    (top / "mlruns" / "meta.yaml").write_text("")
    patch = b"diff --git a/x b/x\n"
    code = CodeVersion("local-git", str(project), "c" * 40, dirty=True, subdirectory="proj",
                       snapshot_sha256=hashlib.sha256(patch).hexdigest())  # fmt: skip
    return Checkout(project, code, patch, top, "main")


def test_staged_folder_links_the_project_and_holds_the_code_version(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "repo")
    with submitted.staged(checkout, (tmp_path / "repo" / "mlruns",)) as folder:
        assert sorted(p.name for p in folder.iterdir()) == [".mlrun-submitted", "proj"]
        assert (folder / "proj" / "MLproject").is_symlink()  # git's files, each linked
        copy = tmp_path / "uploaded"  # what the engine unpacks on the node
        shutil.copytree(folder, copy, symlinks=False)
    assert not folder.exists()
    loaded = submitted.load(copy)
    assert loaded == Checkout((copy / "proj").resolve(), checkout.code, checkout.snapshot,
                              copy.resolve(), "main")  # fmt: skip
    use_submitted(loaded)
    assert resolve_source(SourceRequest(str(copy / "proj"))) is loaded


def test_a_patch_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    with submitted.staged(_checkout(tmp_path / "repo")) as folder:
        copy = tmp_path / "uploaded"
        shutil.copytree(folder, copy, symlinks=False)
    (copy / submitted.PATCH_FILE).write_bytes(b"changed")
    with pytest.raises(SourceError, match="does not match its recorded hash"):
        submitted.load(copy)


def _git(top: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(top), "-c", "user.name=t", "-c", "user.email=t@t", *args],
                   check=True, capture_output=True)  # fmt: skip


def test_a_git_checkout_uploads_what_git_holds_a_gitignore_notwithstanding(
    tmp_path: Path,
) -> None:
    import os

    checkout = _checkout(tmp_path / "repo")
    top = tmp_path / "repo"
    (top / ".gitignore").write_text("proj/cfg/\nscratch.txt\n")
    (top / "proj" / "cfg").mkdir()
    (top / "proj" / "cfg" / "value.txt").write_text("7\n")
    (top / "proj" / "cfg" / "local.txt").write_text("not git's\n")
    (top / "proj" / "scratch.txt").write_text("ignored\n")
    (top / "proj" / "new.py").write_text("untracked, not ignored\n")
    _git(top, "add", ".gitignore", "proj/MLproject")
    _git(top, "add", "-f", "proj/cfg/value.txt")
    _git(top, "commit", "-qm", "c")
    with submitted.staged(checkout, (top / "mlruns",)) as folder:
        assert os.environ.get(submitted.IGNORE_GITIGNORE) == "1"
        copy = tmp_path / "uploaded"
        shutil.copytree(folder, copy, symlinks=False)
    assert submitted.IGNORE_GITIGNORE not in os.environ
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert files == [".gitignore", ".mlrun-submitted/code.json", ".mlrun-submitted/dirty.patch",
                     "proj/MLproject", "proj/cfg/value.txt", "proj/new.py"]  # fmt: skip


def test_a_users_own_submitted_folder_is_refused_not_dropped(tmp_path: Path) -> None:
    from mlrun_cli.errors import UsageError

    checkout = _checkout(tmp_path / "repo")
    (tmp_path / "repo" / ".mlrun-submitted").mkdir()
    with (
        pytest.raises(UsageError, match=r"\.mlrun-submitted: this name is mlrun's"),
        submitted.staged(checkout),
    ):
        pass
