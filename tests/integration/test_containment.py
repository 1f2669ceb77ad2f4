"""Nothing is written outside the project: DVC pins and #subdirectories that leave it are refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import run_mlrun, sh, write_project

pytestmark = pytest.mark.integration

PAYLOAD = b"restored by mlrun\n"
MD5 = hashlib.md5(PAYLOAD).hexdigest()  # noqa: S324 - DVC's content address


def _dvc_project(root: Path, pin_path: str, md5: str = MD5) -> Path:
    """A DVC project by hand (no dvc needed): a local remote holding the object, one pin."""
    project = write_project(root / "proj", "entry_points:\n  main:\n    command: echo ran\n")
    (project / ".dvc").mkdir()
    remote = root / "remote"
    obj = remote / "files" / "md5" / MD5[:2] / MD5[2:]
    obj.parent.mkdir(parents=True)
    obj.write_bytes(PAYLOAD)
    manifest = json.dumps([{"md5": MD5, "relpath": "f.txt"}]).encode()
    dir_md5 = hashlib.md5(manifest).hexdigest()  # noqa: S324
    dir_obj = remote / "files" / "md5" / dir_md5[:2] / (dir_md5[2:] + ".dir")
    dir_obj.parent.mkdir(parents=True, exist_ok=True)
    dir_obj.write_bytes(manifest)
    (project / ".dvc" / "config").write_text(
        f"[core]\n    remote = store\n['remote \"store\"']\n    url = {remote}\n"
    )
    md5 = dir_md5 + ".dir" if md5 == "dir" else md5
    (project / "x.dvc").write_text(f"outs:\n- md5: {md5}\n  path: {pin_path}\n  hash: md5\n")
    return project


@pytest.mark.parametrize("kind", ["absolute", "climb"])
def test_a_pin_outside_the_project_is_refused_before_writing(tmp_path: Path, kind: str) -> None:
    outside = tmp_path / "outside.txt"
    pin = str(outside) if kind == "absolute" else "../outside.txt"
    project = _dvc_project(tmp_path, pin)
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 5, result.stderr
    assert "not inside the DVC root" in result.stderr
    assert not outside.exists()
    assert "Traceback" not in result.stderr


def test_a_folder_pin_outside_never_renames_or_deletes_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me")
    project = _dvc_project(tmp_path, str(victim), md5="dir")
    sh(project, "git", "init", "-q", "-b", "main")
    sh(project, "git", "add", "-A")
    sh(project, "git", "commit", "-qm", "pin")
    # A git source runs in mlrun's own checkout, where pinned data is restored without asking.
    result = run_mlrun("run", f"file://{project}/.git", "--env-manager", "local")
    assert result.returncode == 5, result.stderr
    assert (victim / "precious.txt").read_text() == "keep me"


def test_a_pin_through_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    project = _dvc_project(tmp_path, "data/f.txt")
    (project / "data").symlink_to(elsewhere)
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 5, result.stderr
    assert "outside the DVC root" in result.stderr
    assert list(elsewhere.iterdir()) == []


def test_a_pin_inside_is_restored(tmp_path: Path) -> None:
    project = _dvc_project(tmp_path, "data/f.txt")
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    assert (project / "data" / "f.txt").read_bytes() == PAYLOAD


def test_a_symlinked_subdirectory_of_a_repository_is_refused(tmp_path: Path) -> None:
    outside = write_project(
        tmp_path / "outside", "entry_points:\n  main:\n    command: echo OUTSIDE\n"
    )
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "proj").symlink_to(outside)
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "a symlink to a folder outside")
    sh(tmp_path, "git", "clone", "-q", "--bare", str(repo), str(tmp_path / "repo.git"))
    for uri in (f"file://{tmp_path}/repo.git#proj", f"{repo}#proj", f"{repo}#proj/"):
        result = run_mlrun("run", uri, "--env-manager", "local")
        assert result.returncode == 4, (uri, result.stderr)
        assert "outside the repository" in result.stderr
        assert "OUTSIDE" not in result.stdout
