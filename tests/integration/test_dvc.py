"""DVC data end to end: real `dvc init/add/push`, a local-folder remote, fresh clones."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_mlrun, sh

pytestmark = pytest.mark.integration

READ = (
    "import mlrun_cli, pathlib\n"
    "text = pathlib.Path('data/table.csv').read_text()\n"
    "mlrun_cli.set_tag('first_line', text.splitlines()[0])\n"
    "mlrun_cli.set_tag('files', ','.join(sorted(p.name for p in pathlib.Path('data/images').iterdir())))\n"
)


def write_data(project: Path, version: str) -> None:
    (project / "data" / "images").mkdir(parents=True, exist_ok=True)
    (project / "data" / "table.csv").write_text(f"version {version}\n" + "1,2,3\n" * 100)
    for name in ("a.bin", "b.bin") if version == "1" else ("a.bin", "c.bin"):
        (project / "data" / "images" / name).write_bytes(f"{version}{name}".encode() * 50)
    for stale in (project / "data" / "images").iterdir():
        if stale.name not in (("a.bin", "b.bin") if version == "1" else ("a.bin", "c.bin")):
            stale.unlink()


@pytest.fixture
def dvc_repo(tmp_path: Path) -> dict[str, Path]:
    work = tmp_path / "work"
    project = work / "proj"
    project.mkdir(parents=True)
    sh(work, "git", "init", "-q", "-b", "main")
    sh(project, "dvc", "init", "-q", "--subdir")
    (project / "MLproject").write_text("entry_points:\n  main:\n    command: python read.py\n")
    (project / "read.py").write_text(READ)
    remote = tmp_path / "dvc-remote"
    sh(project, "dvc", "remote", "add", "-q", "-d", "store", str(remote))
    for version in ("1", "2"):
        write_data(project, version)
        sh(project, "dvc", "add", "-q", "data/table.csv", "data/images")
        sh(project, "dvc", "push", "-q")
        sh(work, "git", "add", "-A")
        sh(work, "git", "commit", "-qm", f"data v{version}")
        sh(work, "git", "tag", f"v{version}")
    bare = tmp_path / "remote.git"
    sh(tmp_path, "git", "clone", "-q", "--bare", str(work), str(bare))
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(bare), str(clone))
    return {"work": work, "remote": remote, "bare": bare, "clone": clone}


def run_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = run_mlrun("run", *args, "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def dvc_md5(project: Path, dvc_file: str) -> str:
    import yaml

    return str(yaml.safe_load((project / dvc_file).read_text())["outs"][0]["md5"])


def test_fresh_clone_pulls_then_a_warm_run_does_not(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["clone"] / "proj"
    assert not (project / "data" / "table.csv").exists()
    run = run_json(str(project))
    assert run["tags"] == {**run["tags"], "first_line": "version 2", "files": "a.bin,c.bin"}
    data = run["data"]
    assert data["pins"]["data/table.csv"]["md5"] == dvc_md5(project, "data/table.csv.dvc")
    assert data["pins"]["data/images"]["md5"] == dvc_md5(project, "data/images.dvc")
    assert data["pulled"]
    assert data["remote"] == str(dvc_repo["remote"])
    assert run["data_fingerprint"] == data["fingerprint"]
    status = subprocess.run(["dvc", "status", "-q"], cwd=project, check=False)
    assert status.returncode == 0  # dvc agrees the workspace matches
    again = run_json(str(project))
    assert again["data"]["pulled"] == []
    assert again["data"]["fingerprint"] == data["fingerprint"]
    shown = run_mlrun("runs", "show", run["run_id"]).stdout
    assert "data/table.csv" in shown


def test_changed_data_is_refused_or_recorded(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["work"] / "proj"
    (project / "data" / "table.csv").write_text("version local\n")
    refused = run_mlrun("run", str(project), "--env-manager", "local")
    assert refused.returncode == 5
    assert "error: data differs from what the commit pins: data/table.csv" in refused.stderr
    assert "dvc checkout" in refused.stderr
    run = run_json(str(project), "--allow-dirty-data", "--dirty", "allow")
    assert run["data"]["dirty"] is True
    actual = hashlib.md5(b"version local\n").hexdigest()  # noqa: S324
    assert run["data"]["pins"]["data/table.csv"]["md5"] == actual
    assert run["tags"]["first_line"] == "version local"


def test_data_version_takes_older_pins(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["clone"] / "proj"
    run = run_json(str(project), "--data-version", "v1")
    assert (run["tags"]["first_line"], run["tags"]["files"]) == ("version 1", "a.bin,b.bin")
    assert run["data"]["revision"] == "v1"
    sh(dvc_repo["work"], "git", "checkout", "-q", "v1")
    assert run["data"]["pins"]["data/table.csv"]["md5"] == dvc_md5(
        dvc_repo["work"] / "proj", "data/table.csv.dvc"
    )


def test_git_source_shares_one_dvc_cache(dvc_repo: dict[str, Path]) -> None:
    uri = f"file://{dvc_repo['bare']}#proj"
    first = run_json(uri)
    assert first["data"]["pulled"]
    assert first["tags"]["first_line"] == "version 2"
    older = run_json(uri, "--version", "v1")
    assert older["tags"]["first_line"] == "version 1"
    assert older["data"]["pulled"]  # v1's objects were not in the shared cache yet
    again = run_json(uri, "--version", "v1")
    assert again["data"]["pulled"] == []
    shared = Path(os.environ["MLRUN_CACHE_DIR"]) / "dvc-cache" / "files" / "md5"
    assert shared.is_dir()


def test_missing_remote_object_and_offline(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["clone"] / "proj"
    md5 = dvc_md5(project, "data/table.csv.dvc")
    offline = run_mlrun("run", str(project), "--env-manager", "local", "--offline")
    assert offline.returncode == 5
    assert "is not in the DVC cache" in offline.stderr
    assert "(--offline)" in offline.stderr
    (dvc_repo["remote"] / "files" / "md5" / md5[:2] / md5[2:]).unlink()
    missing = run_mlrun("run", str(project), "--env-manager", "local")
    assert missing.returncode == 5
    assert (
        f"DVC remote store ({dvc_repo['remote']}) has no object {md5} for data/table.csv"
        in missing.stderr
    )
    assert not (project / "data" / "table.csv").exists()  # nothing partial left


def test_no_remote_configured(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["clone"] / "proj"
    sh(project, "dvc", "remote", "remove", "store")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--dirty", "allow")
    assert result.returncode == 5
    assert "the project has no default DVC remote" in result.stderr


def test_corrupted_cache_object(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["work"] / "proj"
    md5 = dvc_md5(project, "data/table.csv.dvc")
    (project / "data" / "table.csv").unlink()
    cached = project / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    cached.chmod(0o644)
    cached.write_text("tampered")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--dirty", "allow")
    assert result.returncode == 5
    assert "corrupted DVC cache object" in result.stderr
    assert not (project / "data" / "table.csv").exists()


def test_malformed_dvc_file(dvc_repo: dict[str, Path]) -> None:
    project = dvc_repo["clone"] / "proj"
    (project / "data" / "table.csv.dvc").write_text("outs:\n- path: table.csv\n")
    result = run_mlrun("run", str(project), "--env-manager", "local", "--dirty", "allow")
    assert result.returncode == 5
    assert "error: data/table.csv.dvc: outs[0].md5: expected an md5 hash; got None" in result.stderr
    assert not (Path.cwd() / "mlruns").exists()  # a data error creates no run


def test_projects_without_dvc_never_import_it(tmp_path: Path) -> None:
    import sys

    probe = (
        "import sys\nfrom mlrun_cli.data.step import DataRequest, pin_data\n"
        f"print(pin_data(DataRequest(__import__('pathlib').Path({str(tmp_path)!r}), "
        f"__import__('pathlib').Path({str(tmp_path)!r}), True), print))\n"
        "print(any(m.startswith('dvc') for m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "False"]
    shutil.rmtree(tmp_path, ignore_errors=True)
