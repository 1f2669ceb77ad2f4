"""A run's files in a folder (``FolderArtifacts``): what a SQLite or PostgreSQL store opened
here answers with, and the path rule every implementation shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from mlrun_cli.artifacts.run import (
    ArtifactEntry,
    ArtifactInfo,
    FolderArtifacts,
    exists,
    relative_path,
)
from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def files(tmp_path: Path) -> FolderArtifacts:
    folder = tmp_path / "artifacts" / "r1"
    (folder / "_mlrun").mkdir(parents=True)
    (folder / "model.txt").write_bytes(b"weights")
    (folder / "_mlrun" / "output.log").write_bytes(b"line 1\nline 2\n")
    (folder / "_mlrun" / ".partial").mkdir()
    (folder / "_mlrun" / ".partial" / "0f1e2d").write_bytes(b"partial")  # being received
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
    assert files.info("_mlrun/.partial/0f1e2d") is None
    assert files.read_bytes("model.txt", offset=99999999999999999999) == b""
    assert files.read_bytes("model.txt", 2, limit=99999999999999999999) == b"ights"
    assert files.entries() == [ArtifactEntry("_mlrun", None), ArtifactEntry("model.txt", 7)]
    assert files.entries("_mlrun") == [ArtifactEntry("output.log", 14)]


def test_names_that_look_like_partials_are_ordinary_files(files: FolderArtifacts) -> None:
    (files.folder / ".w.upload").write_bytes(b"logged")
    (files.folder / ".m.bin.download").write_bytes(b"logged")
    assert [a.path for a in files.list()] == [
        ".m.bin.download",
        ".w.upload",
        "_mlrun/output.log",
        "model.txt",
    ]
    assert files.read_bytes(".w.upload") == b"logged"


def test_stale_partials_are_swept(files: FolderArtifacts) -> None:
    import os

    stale = files.folder / "_mlrun" / ".partial" / "0f1e2d"
    os.utime(stale, (1, 1))
    fresh = files.partial()
    fresh.write_bytes(b"x")
    assert not stale.exists()
    assert fresh.parent == stale.parent
    assert files.partial() != fresh  # a name of its own each time


def test_writes_stay_inside_the_run(files: FolderArtifacts, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    other = tmp_path / "artifacts" / "r2"
    other.mkdir()
    (other / "model.txt").write_text("theirs")
    (files.folder / "ldir").symlink_to(outside)  # dangling
    (files.folder / "other").symlink_to("../r2")
    (files.folder / "sub").mkdir()
    source = tmp_path / "new.txt"
    source.write_text("mine")
    for bad in ("ldir/secret.txt", "other/model.txt"):
        with pytest.raises(UsageError, match="leads out of the run's folder"):
            files.put(bad, source)
    with pytest.raises(UsageError, match="is a folder"):
        files.put("sub", source)
    with pytest.raises(UsageError, match=r"'model\.txt' is a file"):
        files.put("model.txt/x", source)
    with pytest.raises(UsageError, match="mlrun's own"):
        files.put("_mlrun/.partial/x", source)
    with pytest.raises(UsageError, match="at most 255 bytes"):
        files.put("x" * 300, source)
    assert not outside.exists()
    assert (other / "model.txt").read_text() == "theirs"
    assert list((files.folder / "_mlrun" / ".partial").iterdir()) == [
        files.folder / "_mlrun" / ".partial" / "0f1e2d"
    ]
    (files.folder / "alias.txt").symlink_to("model.txt")  # inside: written through
    files.put("alias.txt", source)
    assert files.read_bytes("model.txt") == b"mine"


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


def test_long_names_are_refused_and_listing_skips_nothing_else(files: FolderArtifacts) -> None:
    for bad in ("x" * 300, "a/" + "é" * 200):
        with pytest.raises(UsageError, match="at most 255 bytes"):
            relative_path(bad)
        with pytest.raises(UsageError):
            files.list(bad)
    assert relative_path("x" * 255) == "x" * 255


def test_clean_paths() -> None:
    assert relative_path("a//b/") == "a/b"
    assert relative_path("", folder=True) == ""
    assert relative_path("_mlrun/", folder=True) == "_mlrun"
