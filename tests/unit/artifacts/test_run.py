"""A run's files in a folder (``FolderArtifacts``): what a SQLite or PostgreSQL store opened
here answers with, and the path rule every implementation shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mlrun_cli.artifacts.run import ArtifactInfo, FolderArtifacts, exists, relative_path
from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def files(tmp_path: Path) -> FolderArtifacts:
    folder = tmp_path / "artifacts" / "r1"
    (folder / "_mlrun").mkdir(parents=True)
    (folder / "model.txt").write_bytes(b"weights")
    (folder / "_mlrun" / "output.log").write_bytes(b"line 1\nline 2\n")
    (folder / "_mlrun" / ".output.log.upload").write_bytes(b"partial")
    return FolderArtifacts("r1", folder)


def test_list_reads_and_sizes(files: FolderArtifacts) -> None:
    assert files.list() == [ArtifactInfo("_mlrun/output.log", 14), ArtifactInfo("model.txt", 7)]
    assert files.list("_mlrun") == [ArtifactInfo("_mlrun/output.log", 14)]
    assert files.list("_mlrun/") == files.list("_mlrun")
    assert files.list("nothing") == []
    assert files.info("model.txt") == ArtifactInfo("model.txt", 7)
    assert files.info("absent.txt") is None
    assert exists(files, "model.txt")
    assert not exists(files, "_mlrun")  # a folder is not a file
    assert files.read_bytes("_mlrun/output.log") == b"line 1\nline 2\n"
    assert files.read_bytes("_mlrun/output.log", offset=7) == b"line 2\n"
    assert files.read_bytes("_mlrun/output.log", offset=7, limit=4) == b"line"
    with pytest.raises(NotFoundError, match=r"run r1 has no artifact 'absent\.txt'"):
        files.read_bytes("absent.txt")


def test_a_run_without_a_folder_has_no_files(tmp_path: Path) -> None:
    files = FolderArtifacts("r2", tmp_path / "r2")
    assert files.list() == []
    assert files.info("model.txt") is None


def test_put_replaces_and_creates_folders(files: FolderArtifacts, tmp_path: Path) -> None:
    source = tmp_path / "plot.png"
    source.write_bytes(b"png")
    files.put("plots/plot.png", source)
    files.put("plots/plot.png", source)  # a retry is the same file
    assert files.read_bytes("plots/plot.png") == b"png"
    assert [a.path for a in files.list("plots")] == ["plots/plot.png"]
    same = files.folder / "model.txt"
    files.put("model.txt", same)  # already in place
    assert files.read_bytes("model.txt") == b"weights"


@pytest.mark.parametrize(
    "bad", ["../other/model.txt", "/etc/passwd", "a/../../x", "./model.txt", "a\\b", "a\x00b", ""]
)
def test_paths_that_could_leave_the_run_are_refused(files: FolderArtifacts, bad: str) -> None:
    with pytest.raises(UsageError, match="artifact path"):
        relative_path(bad)
    with pytest.raises(UsageError):
        files.read_bytes(bad)
    with pytest.raises(UsageError):
        files.info(bad)


def test_symlinks_resolving_outside_the_folder_are_not_files(
    files: FolderArtifacts, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (files.folder / "leak.txt").symlink_to(secret)
    (files.folder / "inside.txt").symlink_to(files.folder / "model.txt")
    assert files.info("leak.txt") is None
    assert "leak.txt" not in [a.path for a in files.list()]
    with pytest.raises(NotFoundError):
        files.read_bytes("leak.txt")
    assert files.read_bytes("inside.txt") == b"weights"


def test_clean_paths() -> None:
    assert relative_path("a//b/") == "a/b"
    assert relative_path("", folder=True) == ""
    assert relative_path("_mlrun/", folder=True) == "_mlrun"
