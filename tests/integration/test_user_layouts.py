"""The layouts real users have: the store ``./mlruns`` inside a git project that ignores it,
data declared as a ``path`` parameter and tracked by DVC, fresh clones, ``file://`` URLs, inputs
outside the project and on remote stores."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import run_mlrun, sh
from tests.servers import serve_folder

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

MLPROJECT = """\
name: wine
entry_points:
  main:
    parameters:
      data: {type: path, default: data/train.csv}
    command: "python train.py {data}"
"""
TRAIN = """\
import sys
import mlrun_cli
lines = open(sys.argv[1]).read().splitlines()
mlrun_cli.set_tag("first", lines[0])
mlrun_cli.log_metric("rows", len(lines))
"""


def write_data(repo: Path, version: str) -> None:
    (repo / "data").mkdir(exist_ok=True)
    (repo / "data" / "train.csv").write_text(f"v{version}\n" + "1,2\n" * int(version))


@pytest.fixture
def user_repo(tmp_path: Path) -> dict[str, Path]:
    """MLflow's layout: MLproject at the top, mlruns/ ignored, data/train.csv under DVC."""
    repo = tmp_path / "repo"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "MLproject").write_text(MLPROJECT)
    (repo / "train.py").write_text(TRAIN)
    (repo / ".gitignore").write_text("mlruns/\n")
    sh(repo, "dvc", "init", "-q")
    remote = tmp_path / "dvc-remote"
    sh(repo, "dvc", "remote", "add", "-q", "-d", "store", str(remote))
    write_data(repo, "1")
    sh(repo, "dvc", "add", "-q", "data/train.csv")
    sh(repo, "dvc", "push", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    bare = tmp_path / "remote.git"
    sh(tmp_path, "git", "clone", "-q", "--bare", str(repo), str(bare))
    return {"repo": repo, "bare": bare, "remote": remote}


def run_json(*args: str, cwd: Path) -> dict:  # type: ignore[type-arg]
    result = run_mlrun("run", *args, "--env-manager", "local", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def reproduce(run_id: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    from tests.conftest import mlrun_argv

    return subprocess.run(
        mlrun_argv("reproduce", run_id, "--json", *args), cwd=cwd, capture_output=True,
        text=True, check=False, timeout=120,
    )  # fmt: skip


def commit_data(repo: Path, version: str) -> None:
    write_data(repo, version)
    sh(repo, "dvc", "add", "-q", "data/train.csv")
    sh(repo, "dvc", "push", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", f"v{version}")


def test_dirty_edit_with_the_store_inside_an_ignoring_repository(
    user_repo: dict[str, Path],
) -> None:
    repo = user_repo["repo"]
    run_json(".", cwd=repo)  # creates ./mlruns, which .gitignore lists
    with (repo / "train.py").open("a") as handle:
        handle.write("mlrun_cli.set_tag('edited', 'yes')\n")
    run = run_json(".", cwd=repo)
    assert run["source"]["dirty"] is True
    assert run["tags"]["edited"] == "yes"
    patch = next((repo / "mlruns" / "artifacts").glob(f"{run['run_id']}/_mlrun/dirty.patch"))
    assert b"edited" in patch.read_bytes()
    assert b"mlrun.db" not in patch.read_bytes()


def test_path_param_under_dvc_from_a_fresh_clone_and_a_git_url(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    sh(tmp_path, "git", "clone", "-q", str(user_repo["bare"]), str(clone))
    assert not (clone / "data" / "train.csv").exists()
    run = run_json(".", cwd=clone)
    assert run["tags"]["first"] == "v1"
    assert run["params"]["data"] == "data/train.csv"  # recorded relative to the project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    by_url = run_json(f"file://{user_repo['bare']}", cwd=elsewhere)
    assert by_url["tags"]["first"] == "v1"
    assert by_url["params"]["data"] == "data/train.csv"
    assert by_url["fingerprint"] == run["fingerprint"]  # same commit, data, params


def test_reproduce_reads_the_pinned_data_not_the_current_file(user_repo: dict[str, Path]) -> None:
    repo = user_repo["repo"]
    first = run_json(".", cwd=repo)
    commit_data(repo, "2")
    second = run_json(".", cwd=repo)
    assert second["tags"]["first"] == "v2"
    assert second["fingerprint"] != first["fingerprint"]
    result = reproduce(first["run_id"], "--verify", cwd=repo)
    assert result.returncode == 0, result.stderr
    reproduced = json.loads(result.stdout)["run"]
    assert reproduced["tags"]["first"] == "v1"
    assert reproduced["fingerprint"] == first["fingerprint"]
    assert (repo / "data" / "train.csv").read_text().startswith("v2")  # the user's file


def test_an_input_outside_the_project_is_hashed_and_fingerprinted(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    repo, outside = user_repo["repo"], tmp_path / "shared" / "big.csv"
    outside.parent.mkdir()
    outside.write_text("ext1\n")
    first = run_json(".", "-P", f"data={outside}", "--reuse", cwd=repo)
    md5 = hashlib.md5(b"ext1\n").hexdigest()  # noqa: S324 - DVC's content address
    assert first["params"]["data"] == str(outside)
    assert first["tags"]["mlrun.input.data"] == md5
    assert run_json(".", "-P", f"data={outside}", "--reuse", cwd=repo)["reused"] is True
    outside.write_text("ext2\n")
    changed = run_json(".", "-P", f"data={outside}", "--reuse", cwd=repo)
    assert changed.get("reused") is not True
    assert changed["fingerprint"] != first["fingerprint"]
    result = reproduce(first["run_id"], cwd=repo)
    assert result.returncode == 5, result.stderr
    assert f"input 'data' ({outside}) changed since the run: recorded md5 {md5}" in result.stderr


def test_an_ignored_input_inside_the_project_is_hashed(user_repo: dict[str, Path]) -> None:
    repo = user_repo["repo"]
    (repo / "scratch").mkdir()
    (repo / "scratch" / "x.csv").write_text("s1\n")
    with (repo / ".gitignore").open("a") as handle:
        handle.write("scratch/\n")
    sh(repo, "git", "commit", "-qam", "ignore scratch")
    run = run_json(".", "-P", "data=scratch/x.csv", cwd=repo)
    assert run["params"]["data"] == "scratch/x.csv"
    assert run["tags"]["mlrun.input.data"] == hashlib.md5(b"s1\n").hexdigest()  # noqa: S324
    pinned = run_json(".", cwd=repo)  # the DVC-tracked default: pinned, no input hash
    assert "mlrun.input.data" not in pinned["tags"]


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "train.csv").write_text("web\n1\n")
    with serve_folder(folder) as served:
        yield served


def test_https_input_is_downloaded_recorded_without_credentials_and_removed(
    user_repo: dict[str, Path], http_files: tuple[str, list[str]]
) -> None:
    base, seen = http_files
    repo = user_repo["repo"]
    url = base.replace("http://", "http://alice:s3cret@") + "/train.csv"
    run = run_json(".", "-P", f"data={url}", cwd=repo)
    assert run["tags"]["first"] == "web"
    assert run["params"]["data"] == base.replace("http://", "http://***@") + "/train.csv"
    assert run["tags"]["mlrun.input.data"] == hashlib.md5(b"web\n1\n").hexdigest()  # noqa: S324
    assert seen
    assert seen[0].startswith("Basic ")
    downloads = Path(os.environ["MLRUN_CACHE_DIR"]) / "downloads"
    assert list(downloads.iterdir()) == []
    assert "s3cret" not in json.dumps(run)
    missing = run_mlrun("run", ".", "--env-manager", "local", "-P", f"data={base}/nope.csv",
                        cwd=repo)  # fmt: skip
    assert missing.returncode == 5
    assert missing.stderr.strip().splitlines()[-1] == (
        f"error: cannot download {base}/nope.csv: HTTP 404 File not found"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def s3_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's standalone S3 server on loopback; credentials only in the environment."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("FSSPEC_S3_ENDPOINT_URL", endpoint)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_s3_input_is_downloaded_from_a_real_s3_api(
    user_repo: dict[str, Path], s3_server: str
) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server)
    client.create_bucket(Bucket="team-data")
    client.put_object(Bucket="team-data", Key="wine/train.csv", Body=b"s3\n1\n2\n")
    run = run_json(".", "-P", "data=s3://team-data/wine/train.csv", cwd=user_repo["repo"])
    assert run["tags"]["first"] == "s3"
    assert run["params"]["data"] == "s3://team-data/wine/train.csv"
    assert run["tags"]["mlrun.input.data"] == hashlib.md5(b"s3\n1\n2\n").hexdigest()  # noqa: S324
    offline = run_mlrun("run", ".", "--env-manager", "local", "--offline",
                        "-P", "data=s3://team-data/wine/train.csv", cwd=user_repo["repo"])  # fmt: skip
    assert offline.returncode == 5
    assert "--offline forbids downloading" in offline.stderr


def test_reproduce_a_local_repository_run_at_a_version_with_a_subdirectory(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "repo"
    project = repo / "proj"
    project.mkdir(parents=True)
    sh(repo, "git", "init", "-q", "-b", "main")
    (project / "MLproject").write_text("entry_points:\n  main:\n    command: python t.py\n")
    (project / "t.py").write_text("import mlrun_cli\nmlrun_cli.log_metric('v', 1)\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "one")
    first = sh(repo, "git", "rev-parse", "HEAD").strip()
    (project / "t.py").write_text("import mlrun_cli\nmlrun_cli.log_metric('v', 2)\n")
    sh(repo, "git", "commit", "-qam", "two")
    work = tmp_path / "work"
    for args in (("./repo/proj", "--version", first[:8]), (f"file://{repo}#proj", "-v", first)):
        run = run_json(*args, cwd=tmp_path)
        assert run["metrics"]["v"] == 1.0
        result = reproduce(run["run_id"], "--verify", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["run"]["metrics"]["v"] == 1.0
    assert not work.exists() or not any(work.iterdir())


def test_bool_parameters_reach_the_code_as_written(tmp_path: Path) -> None:
    # MLflow's own example: int(sys.argv[1]) with -P use_start_run=1.
    project = tmp_path / "p"
    project.mkdir()
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters:\n      use_start_run: {type: bool, default: true}\n"
        "    command: python t.py {use_start_run}\n"
    )
    (project / "t.py").write_text(
        "import sys, mlrun_cli\nmlrun_cli.set_tag('seen', str(int(sys.argv[1])))\n"
    )
    run = run_json(str(project), "-P", "use_start_run=1", cwd=tmp_path)
    assert run["tags"]["seen"] == "1"
    assert run["params"]["use_start_run"] == "1"
    bad = run_mlrun("run", str(project), "--env-manager", "local", "-P", "use_start_run=maybe")
    assert bad.returncode == 2
    assert "expected a bool" in bad.stderr


def test_the_branch_named_by_version_is_recorded(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    repo = user_repo["repo"]
    sh(repo, "git", "branch", "feature")
    sh(repo, "git", "tag", "v1")
    by_branch = run_json(str(repo), "--version", "feature", cwd=tmp_path)
    assert by_branch["tags"]["mlflow.source.git.branch"] == "feature"
    by_tag = run_json(str(repo), "--version", "v1", cwd=tmp_path)
    assert "mlflow.source.git.branch" not in by_tag["tags"]


def test_sh_entry_points_run_with_the_users_shell(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "MLproject").write_text("entry_points:\n  main:\n    command: 'true'\n")
    (project / "go.sh").write_text("mlrun_cli_tag=1\n")
    fake = tmp_path / "myshell"
    fake.write_text('#!/bin/sh\necho "myshell ran $1"\n')
    fake.chmod(0o755)
    from tests.conftest import mlrun_argv

    result = subprocess.run(
        mlrun_argv("run", str(project), "-e", "go.sh", "--env-manager", "local"),
        env={**os.environ, "SHELL": str(fake)}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "myshell ran go.sh" in result.stdout


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324 - DVC's content address


def test_an_ignored_input_of_a_local_run_is_reproduced_from_the_users_folder(
    user_repo: dict[str, Path],
) -> None:
    repo = user_repo["repo"]
    with (repo / ".gitignore").open("a") as handle:
        handle.write("raw.csv\n")
    sh(repo, "git", "commit", "-qam", "ignore raw")
    (repo / "raw.csv").write_text("raw\n")
    run = run_json(".", "-P", "data=raw.csv", cwd=repo)
    result = reproduce(run["run_id"], "--verify", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run"]["tags"]["first"] == "raw"
    (repo / "raw.csv").write_text("changed\n")
    changed = reproduce(run["run_id"], cwd=repo)
    assert changed.returncode == 5
    assert "changed since the run" in changed.stderr


def test_a_folder_input_with_ignored_or_linked_contents_is_hashed(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    repo = user_repo["repo"]
    (repo / "MLproject").write_text(MLPROJECT.replace("python train.py {data}", "ls {data}"))
    stuff = repo / "stuff"
    stuff.mkdir()
    (stuff / ".gitignore").write_text("*.bin\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "stuff")
    (stuff / "a.bin").write_text("one")
    first = run_json(".", "-P", "data=stuff", "--reuse", cwd=repo)
    assert "mlrun.input.data" in first["tags"]
    (stuff / "a.bin").write_text("two")
    assert run_json(".", "-P", "data=stuff", "--reuse", cwd=repo).get("reused") is not True
    outside = tmp_path / "real"
    outside.mkdir()
    (outside / "f.txt").write_text("r1")
    linked = tmp_path / "ind"
    linked.mkdir()
    (linked / "linked").symlink_to(outside)
    before = run_json(".", "-P", f"data={linked}", cwd=repo)["tags"]["mlrun.input.data"]
    (outside / "f.txt").write_text("r2")
    after = run_json(".", "-P", f"data={linked}", cwd=repo)["tags"]["mlrun.input.data"]
    assert before != after  # the symlinked folder's content counts


def test_monorepo_paths_outside_the_subdirectory_stay_relative(tmp_path: Path) -> None:
    repo = tmp_path / "mono"
    project = repo / "proj"
    project.mkdir(parents=True)
    sh(repo, "git", "init", "-q", "-b", "main")
    (project / "MLproject").write_text(MLPROJECT.replace("data/train.csv", "../data/train.csv"))
    (project / "train.py").write_text(TRAIN)
    (repo / ".gitignore").write_text("mlruns/\n")
    sh(repo, "dvc", "init", "-q")
    sh(repo, "dvc", "remote", "add", "-q", "-d", "store", str(tmp_path / "remote"))
    write_data(repo, "1")
    sh(repo, "dvc", "add", "-q", "data/train.csv")
    sh(repo, "dvc", "push", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "v1")
    first = run_json(".", cwd=project)
    assert first["params"]["data"] == "../data/train.csv"
    assert "mlrun.input.data" not in first["tags"]  # DVC pins it
    commit_data(repo, "2")
    result = reproduce(first["run_id"], "--verify", cwd=project)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["run"]["tags"]["first"] == "v1"


def test_unrecorded_changes_are_never_reused(user_repo: dict[str, Path]) -> None:
    repo = user_repo["repo"]
    clean = run_json(".", "--reuse", cwd=repo)
    (repo / "train.py").write_text(TRAIN + "mlrun_cli.set_tag('x', '1')\n")
    allowed = run_json(".", "--dirty", "allow", "--reuse", cwd=repo)
    assert allowed.get("reused") is not True
    again = run_json(".", "--dirty", "allow", "--reuse", cwd=repo)
    assert again.get("reused") is not True
    sh(repo, "git", "checkout", "train.py")
    assert run_json(".", "--reuse", cwd=repo)["run_id"] == clean["run_id"]


def test_http_inputs_keep_credentials_on_their_origin_and_refuse_short_bodies(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    repo = user_repo["repo"]
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (other_dir / "r.csv").write_text("moved\n")

    def short(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.write(b"partial\n" * 10)

    with serve_folder(other_dir) as (other, other_seen):

        def moved(handler: http.server.BaseHTTPRequestHandler) -> None:
            handler.send_response(302)
            handler.send_header("Location", f"{other}/r.csv")
            handler.end_headers()

        with serve_folder(tmp_path, {"/redir": moved, "/short": short}) as (base, _):
            url = base.replace("http://", "http://alice:TOPSECRET@")
            run = run_json(".", "-P", f"data={url}/redir", cwd=repo)
            assert run["tags"]["first"] == "moved"
            assert other_seen == [""]  # no credentials sent to the other origin
            cut = run_mlrun("run", ".", "--env-manager", "local", "-P", f"data={base}/short",
                            cwd=repo)  # fmt: skip
    assert cut.returncode == 5
    assert "incomplete: got 80 of 1000000 bytes" in cut.stderr
    downloads = Path(os.environ["MLRUN_CACHE_DIR"]) / "downloads"
    assert list(downloads.iterdir()) == []


def test_downloads_of_a_killed_run_are_swept(user_repo: dict[str, Path], tmp_path: Path) -> None:
    downloads = Path(os.environ["MLRUN_CACHE_DIR"]) / "downloads"
    stale = downloads / "run-999999999-abc"
    stale.mkdir(parents=True)
    (stale / "leftover").write_text("x")
    served = tmp_path / "served"
    served.mkdir()
    (served / "d.csv").write_text("d\n")
    with serve_folder(served) as (base, _):
        run_json(".", "-P", f"data={base}/d.csv", cwd=user_repo["repo"])
    assert not stale.exists()


def test_a_symlinked_project_path_still_pins_its_data(
    user_repo: dict[str, Path], tmp_path: Path
) -> None:
    link = tmp_path / "plink"
    link.symlink_to(user_repo["repo"])
    run = run_json(".", "-P", f"data={link}/data/train.csv", cwd=link)
    assert run["params"]["data"] == "data/train.csv"
    assert "mlrun.input.data" not in run["tags"]


def test_a_repository_path_with_spaces(tmp_path: Path) -> None:
    repo = tmp_path / "my repo"
    repo.mkdir()
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "MLproject").write_text("entry_points:\n  main:\n    command: python -c pass\n")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "one")
    run = run_json(str(repo), cwd=tmp_path)
    assert run["source"]["kind"] == "local-git"


def test_code_logging_its_path_param_as_received_is_not_a_change(
    user_repo: dict[str, Path],
) -> None:
    repo = user_repo["repo"]
    (repo / "train.py").write_text(TRAIN + "mlrun_cli.log_param('data', sys.argv[1])\n")
    result = run_mlrun("run", ".", "--env-manager", "local", "--json", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "param 'data'" not in result.stderr
    assert json.loads(result.stdout)["params"]["data"] == "data/train.csv"


def test_committed_symlinks_to_code_outside_the_repository_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "out"
    outside.mkdir()
    (outside / "train.py").write_text("print('OUTSIDE CODE RAN')\n")
    (outside / "MLproject").write_text("entry_points:\n  main:\n    command: echo OUTSIDE\n")
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    sh(repo, "git", "init", "-q", "-b", "main")
    (repo / "MLproject").write_text("entry_points:\n  main:\n    command: python train.py\n")
    (repo / "train.py").symlink_to(outside / "train.py")
    (repo / "sub" / "MLproject").symlink_to(outside / "MLproject")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "links")
    bare = tmp_path / "r.git"
    sh(tmp_path, "git", "clone", "-q", "--bare", str(repo), str(bare))
    for uri in (f"file://{bare}", f"file://{bare}#sub"):
        result = run_mlrun("run", uri, "--env-manager", "local", cwd=tmp_path)
        assert result.returncode == 4, result.stderr
        assert "outside the project's repository" in result.stderr
        assert "OUTSIDE" not in result.stdout
