"""A team server's view of a run's files (``ServedArtifacts``): its receiving folder, with the
destination behind it (here a second folder standing for S3; tests/integration/
test_server_s3.py runs the real one)."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from mlrun_cli.artifacts.run import ArtifactInfo, FolderArtifacts
from mlrun_cli.artifacts.served import ServedArtifacts
from mlrun_cli.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from pathlib import Path


class FolderDestination:
    """An ArtifactStore over another folder (``root/<run_id>/<path>``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, run_id: str, relative: str, source: Path) -> None:
        FolderArtifacts(run_id, self.root / run_id).put(relative, source)

    def fetch(self, run_id: str, relative: str, target: Path) -> bool:
        found = FolderArtifacts(run_id, self.root / run_id).file(relative)
        if found is None:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, target)
        return True

    def list(self, run_id: str) -> list[ArtifactInfo]:
        return FolderArtifacts(run_id, self.root / run_id).list()


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
    assert files.read_bytes("model/model.txt", 2, 3) == b"igh"
    assert (received / "model" / "model.txt").is_file()  # fetched once, then local
    assert files.info("absent.txt") is None
    with pytest.raises(NotFoundError):
        files.read_bytes("absent.txt")
    with pytest.raises(UsageError):
        files.info("../r2/model.txt")
