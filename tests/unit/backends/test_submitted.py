"""The submitter's code version travels with the uploaded copy; the worker records it."""

from __future__ import annotations

import hashlib
import shutil
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
    (top / ".git").mkdir()
    (top / "mlruns").mkdir()
    patch = b"diff --git a/x b/x\n"
    code = CodeVersion("local-git", str(project), "c" * 40, dirty=True, subdirectory="proj",
                       snapshot_sha256=hashlib.sha256(patch).hexdigest())  # fmt: skip
    return Checkout(project, code, patch, top, "main")


def test_staged_folder_links_the_project_and_holds_the_code_version(tmp_path: Path) -> None:
    checkout = _checkout(tmp_path / "repo")
    with submitted.staged(checkout, (tmp_path / "repo" / "mlruns",)) as folder:
        assert sorted(p.name for p in folder.iterdir()) == [".mlrun-submitted", "proj"]
        assert (folder / "proj").is_symlink()
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
