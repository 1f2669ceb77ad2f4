"""Zip projects: a local archive, file:// and http URLs, #subdir, reproduce, unsafe members."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.conftest import run_mlrun
from tests.servers import serve_folder

pytestmark = pytest.mark.integration

MLPROJECT = "entry_points:\n  main:\n    command: python t.py\n"
TRAIN = "import mlrun_cli\nmlrun_cli.log_metric('v', {v})\n"


def make_zip(path: Path, members: dict[str, str], top: str = "repo-main/proj/") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zipped:
        for name, text in members.items():
            zipped.writestr(top + name, text)
    return path


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = run_mlrun("run", *args, "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_zip_project_runs_and_reproduces(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "dl" / "p.zip", {"MLproject": MLPROJECT, "t.py": TRAIN.format(v=1)}
    )
    run = run_json(f"{archive}#repo-main/proj")
    assert run["metrics"]["v"] == 1.0
    source = run["source"]
    assert source["kind"] == "zip"
    assert source["uri"] == str(archive)
    assert source["subdirectory"] == "repo-main/proj"
    assert len(source["content_hash"]) == 64
    same = run_json(f"file://{archive}#repo-main/proj")
    assert same["fingerprint"] == run["fingerprint"]
    result = run_mlrun("reproduce", run["run_id"], "--verify", "--json")
    assert result.returncode == 0, result.stderr
    make_zip(archive, {"MLproject": MLPROJECT, "t.py": TRAIN.format(v=2)})  # replaced
    # The recorded extraction is in the cache: reproduce still gets the recorded code.
    again = run_mlrun("reproduce", run["run_id"], "--json")
    assert json.loads(again.stdout)["run"]["metrics"]["v"] == 1.0


def test_zip_project_over_http(tmp_path: Path) -> None:
    served = tmp_path / "served"
    make_zip(served / "p.zip", {"MLproject": MLPROJECT, "t.py": TRAIN.format(v=3)}, top="")
    with serve_folder(served) as (base, seen):
        url = base.replace("http://", "http://bob:tok3n@") + "/p.zip"
        run = run_json(url)
        assert run["metrics"]["v"] == 3.0
        assert run["source"]["uri"] == base.replace("http://", "http://***@") + "/p.zip"
        assert seen[0].startswith("Basic ")
        missing = run_mlrun("run", f"{base}/nope.zip", "--env-manager", "local")
    assert missing.returncode == 4
    assert "cannot download zip project" in missing.stderr
    assert "HTTP 404" in missing.stderr


def test_zip_errors(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "p.zip", {"MLproject": MLPROJECT, "t.py": TRAIN.format(v=1)})
    no_project = run_mlrun("run", str(archive), "--env-manager", "local")
    assert no_project.returncode == 4
    assert "the archive holds only the folder 'repo-main'" in no_project.stderr
    assert f"hint: name the project inside it: {archive}#repo-main" in no_project.stderr
    wrong_sub = run_mlrun("run", f"{archive}#nope", "--env-manager", "local")
    assert wrong_sub.returncode == 4
    assert "no folder 'nope'; the archive has: repo-main" in wrong_sub.stderr
    version = run_mlrun("run", f"{archive}#repo-main/proj", "--version", "v1")
    assert version.returncode == 2
    assert "a zip project has no versions" in version.stderr
    (tmp_path / "bad.zip").write_text("not a zip")
    bad = run_mlrun("run", str(tmp_path / "bad.zip"), "--env-manager", "local")
    assert bad.returncode == 4
    assert "not a zip archive" in bad.stderr
    escaping = tmp_path / "evil.zip"
    with zipfile.ZipFile(escaping, "w") as zipped:
        zipped.writestr("MLproject", MLPROJECT)
        zipped.writestr("../outside.txt", "x")
    evil = run_mlrun("run", str(escaping), "--env-manager", "local")
    assert evil.returncode == 4
    assert "member '../outside.txt' escapes" in evil.stderr
    assert not (tmp_path / "outside.txt").exists()
    linked = tmp_path / "link.zip"
    with zipfile.ZipFile(linked, "w") as zipped:
        zipped.writestr("MLproject", MLPROJECT)
        info = zipfile.ZipInfo("data")
        info.external_attr = 0o120777 << 16
        zipped.writestr(info, "/etc")
    link = run_mlrun("run", str(linked), "--env-manager", "local")
    assert link.returncode == 4
    assert "is a symlink" in link.stderr


def test_more_unsafe_or_broken_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(name: str, build: object, expected: str) -> None:
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zipped:
            build(zipped)  # type: ignore[operator]
        result = run_mlrun("run", str(path), "--env-manager", "local")
        assert result.returncode == 4, result.stderr
        assert expected in result.stderr
        assert "Traceback" not in result.stderr

    with pytest.warns(UserWarning, match="Duplicate name"):
        refused("dup.zip", lambda z: (z.writestr("MLproject", MLPROJECT),
                                      z.writestr("MLproject", "x")), "appears twice")  # fmt: skip
    refused("clash.zip", lambda z: (z.writestr("a", "x"), z.writestr("a/b", "y")),
            "cannot extract")  # fmt: skip
    monkeypatch.setenv("MLRUN_ZIP_MAX_BYTES", "1000")
    refused("bomb.zip", lambda z: z.writestr("big.bin", b"0" * 5000), "expands to more than 1000")
    monkeypatch.delenv("MLRUN_ZIP_MAX_BYTES")
    empty = tmp_path / "empty.zip"
    zipfile.ZipFile(empty, "w").close()
    result = run_mlrun("run", str(empty), "--env-manager", "local")
    assert result.returncode == 2  # no entry point 'main' in an empty project
    assert "Traceback" not in result.stderr


def test_scripts_without_mlproject_and_healing_of_changed_members(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    code = (
        "import mlrun_cli, pathlib\n"
        "mlrun_cli.log_metric('v', 7)\n"
        "pathlib.Path('train.py').write_text('raise SystemExit(3)')\n"
        "pathlib.Path('out.txt').write_text('output')\n"
    )
    make_zip(archive, {"train.py": code}, top="")
    first = run_json(str(archive), "-e", "train.py")  # no MLproject: runs like a folder
    assert first["metrics"]["v"] == 7.0
    # The run rewrote its own train.py in the shared extraction: the next run gets the
    # archive's code again (restored), and the run's output file stays.
    second = run_json(str(archive), "-e", "train.py")
    assert second["metrics"]["v"] == 7.0
    assert second["fingerprint"] == first["fingerprint"]


def test_relative_zip_paths_are_recorded_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = make_zip(
        tmp_path / "z" / "p.zip", {"MLproject": MLPROJECT, "t.py": TRAIN.format(v=5)}, top=""
    )
    monkeypatch.chdir(tmp_path / "z")
    run = run_json("p.zip")
    assert run["source"]["uri"] == str(archive)
