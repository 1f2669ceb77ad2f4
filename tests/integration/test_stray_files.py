"""A run that writes untracked files into the user's work tree says so (they make the next
run dirty); the store inside the project never counts, ignored or not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_mlrun, sh

pytestmark = pytest.mark.integration


def _repo(folder: Path, command: str, ignore: str) -> Path:
    folder.mkdir()
    (folder / "MLproject").write_text(f"entry_points:\n  main:\n    command: {command}\n")
    (folder / "old.txt").write_text("left before the run\n")
    if ignore:
        (folder / ".gitignore").write_text(ignore)
    sh(folder, "git", "init", "-q", "-b", "main")
    sh(folder, "git", "add", "MLproject", *([".gitignore"] if ignore else []))
    sh(folder, "git", "commit", "-q", "-m", "p")
    return folder


def test_files_written_by_the_run_are_named(isolated: Path) -> None:
    project = _repo(isolated / "p", "mkdir -p out && touch mlflow.db out/model.pkl", "")
    result = run_mlrun("run", str(project), "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    assert "the run wrote 2 untracked file(s)" in result.stderr
    assert "mlflow.db, out/model.pkl" in result.stderr
    assert "old.txt" not in result.stderr.split("untracked file(s)")[1]


@pytest.mark.parametrize("ignore", ["", "mlruns/\n"])
def test_the_store_in_the_project_is_not_a_stray(isolated: Path, ignore: str) -> None:
    project = _repo(isolated / "p", "'true'", ignore)
    result = run_mlrun("run", str(project), "--env-manager", "local", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "mlruns").is_dir()
    assert "untracked file" not in result.stderr
