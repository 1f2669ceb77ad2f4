"""A team server's view of a run's files (``ServedArtifacts``): its receiving folder, with the
destination behind it (here a second folder standing for S3; tests/integration/
test_server_s3.py runs the real one)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.artifacts.local import LocalArtifacts
from mlrun_cli.artifacts.run import PARTIAL_DIR, ArtifactEntry, ArtifactInfo, FolderArtifacts
from mlrun_cli.artifacts.served import ServedArtifacts
from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


class FolderDestination(LocalArtifacts):
    """An ArtifactStore over another folder (``root/<run_id>/<path>``): the local destination
    (listings, sizes), but remote, so files are sent there and fetched back."""

    remote = True

    def put(self, run_id: str, relative: str, source: Path) -> None:
        FolderArtifacts(run_id, self.root / run_id).put(relative, source)

    def fetch(self, run_id: str, relative: str, target: Path, partial: Path) -> bool:
        found = FolderArtifacts(run_id, self.root / run_id).file(relative)
        if found is None:
            return False
        shutil.copyfile(found, partial)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial.replace(target)
        return True


def test_received_files_go_on_and_missing_ones_come_back(tmp_path: Path) -> None:
    destination = FolderDestination(tmp_path / "s3")
    received = tmp_path / "received" / "r1"
    files = ServedArtifacts("r1", received, destination)
    source = tmp_path / "model.txt"
    source.write_bytes(b"weights")
    files.put("model/model.txt", source)
    assert (tmp_path / "s3" / "r1" / "model" / "model.txt").read_bytes() == b"weights"
    shutil.rmtree(received)  # a new server host
    assert files.list() == [ArtifactInfo("model/model.txt", 7)]
    assert files.list("other") == []
    assert not received.exists()  # listing downloads nothing
    assert files.info("model/model.txt") == ArtifactInfo("model/model.txt", 7)
    assert not (received / "model").exists()  # nor does asking for a size
    assert files.entries() == [ArtifactEntry("model", None)]
    assert files.entries("model") == [ArtifactEntry("model.txt", 7)]
    assert files.read_bytes("model/model.txt", 2, 3) == b"igh"
    assert (received / "model" / "model.txt").is_file()  # fetched once, then local
    assert files.info("absent.txt") is None
    with pytest.raises(NotFoundError):
        files.read_bytes("absent.txt")
    with pytest.raises(UsageError):
        files.info("../r2/model.txt")


def test_a_fetch_never_writes_through_a_symlink_out_of_the_run(tmp_path: Path) -> None:
    destination = FolderDestination(tmp_path / "s3")
    source = tmp_path / "model.txt"
    source.write_bytes(b"weights")
    destination.put("r1", "ldir/secret.txt", source)
    destination.put("r1", "other/x.txt", source)
    received = tmp_path / "received" / "r1"
    received.mkdir(parents=True)
    outside = tmp_path / "outside"
    (received / "ldir").symlink_to(outside)  # dangling: a fetch would create it
    (tmp_path / "received" / "r2").mkdir()
    (received / "other").symlink_to("../r2")
    files = ServedArtifacts("r1", received, destination)
    assert files.file("ldir/secret.txt") is None
    assert files.file("other/x.txt") is None
    assert files.info("ldir/secret.txt") is None
    with pytest.raises(NotFoundError):
        files.read_bytes("other/x.txt")
    assert not outside.exists()
    assert list((tmp_path / "received" / "r2").iterdir()) == []
    assert not (received / PARTIAL_DIR).exists()  # nothing fetched, nothing half-written


def test_a_local_destination_is_listed_once(tmp_path: Path) -> None:
    from mlrun_cli.artifacts.local import LocalArtifacts

    root = tmp_path / "artifacts"
    (root / "r1" / "a").mkdir(parents=True)
    (root / "r1" / "a" / "m.txt").write_text("m")
    files = ServedArtifacts("r1", root / "r1", LocalArtifacts(root))
    assert files.list("a") == [ArtifactInfo("a/m.txt", 1)]
    assert files.file("b/absent.txt") is None
    assert not (root / "r1" / "b").exists()
