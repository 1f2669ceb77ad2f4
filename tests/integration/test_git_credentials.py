"""Credentials in a git URL reach git per command only: never a git config, a temp folder, a
record or a message. Git errors name their cause; clones show progress."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_cli.source.git import run_git
from mlrun_cli.source.uri import redact
from tests.conftest import mlrun_argv, run_mlrun, sh, write_project
from tests.gitserver import GitServer

pytestmark = pytest.mark.integration

TOKEN = "s3cr3t-T0KEN"  # noqa: S105 - a test credential


def _repos(tmp_path: Path) -> Path:
    """A bare super-repository with a relative submodule (../sub.git), both served."""
    root = tmp_path / "served"
    root.mkdir()
    sub = write_project(tmp_path / "sub", "entry_points:\n  main:\n    command: echo sub\n")
    sh(sub, "git", "init", "-q", "-b", "main")
    sh(sub, "git", "add", "-A")
    sh(sub, "git", "commit", "-qm", "sub")
    sh(tmp_path, "git", "clone", "-q", "--bare", str(sub), str(root / "sub.git"))
    show = "git config --get remote.origin.url; cat .git/config lib/.git 2>/dev/null; true"
    work = write_project(tmp_path / "super", f"entry_points:\n  main:\n    command: '{show}'\n")
    sh(work, "git", "init", "-q", "-b", "main")
    (work / ".gitmodules").write_text('[submodule "lib"]\n\tpath = lib\n\turl = ../sub.git\n')
    sh(work, "git", "-c", "protocol.file.allow=always", "submodule", "add", "-q",
       str(root / "sub.git"), "lib")  # fmt: skip
    (work / ".gitmodules").write_text('[submodule "lib"]\n\tpath = lib\n\turl = ../sub.git\n')
    sh(work, "git", "add", "-A")
    sh(work, "git", "commit", "-qm", "super")
    sh(tmp_path, "git", "clone", "-q", "--bare", str(work), str(root / "super.git"))
    return root


def _files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_a_token_url_with_relative_submodules_leaves_no_credential_on_disk(tmp_path: Path) -> None:
    server = GitServer(_repos(tmp_path), "user", TOKEN)
    with server.running():
        url = f"http://user:{TOKEN}@{server.url.removeprefix('http://')}/super.git"
        result = run_mlrun("run", url, "--env-manager", "local", "--json")
    assert result.returncode == 0, result.stderr
    run = json.loads(result.stdout)
    assert TOKEN not in result.stdout + result.stderr
    assert run["source"]["uri"] == redact(url)
    cache = Path(os.environ["MLRUN_CACHE_DIR"])
    assert _files_containing(cache, TOKEN) == []
    assert _files_containing(Path.cwd() / "mlruns", TOKEN) == []
    assert any("sub.git" in path for path, _ in server.requests)  # the submodule came over HTTP


def test_sigkill_during_the_first_clone_leaves_no_token_and_the_leftover_is_swept(
    tmp_path: Path,
) -> None:
    server = GitServer(_repos(tmp_path), "user", TOKEN)
    server.stall.set()
    mirrors = Path(os.environ["MLRUN_CACHE_DIR"]) / "git" / "mirrors"
    with server.running():
        url = f"http://user:{TOKEN}@{server.url.removeprefix('http://')}/super.git"
        proc = subprocess.Popen(mlrun_argv("run", url, "--env-manager", "local"),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        assert server.stalled.wait(60)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        server.release.set()
        leftovers = list(mirrors.glob(".tmp-*"))
        assert leftovers
        assert _files_containing(mirrors, TOKEN) == []
        server.stall.clear()
        result = run_mlrun("run", url, "--env-manager", "local")
    assert result.returncode == 0, result.stderr
    assert list(mirrors.glob(".tmp-*")) == []


def test_git_errors_name_the_cause_and_redact_an_ssh_password() -> None:
    url = "ssh://git:hunter2@mlrun-test.invalid/repo.git"
    with pytest.raises(Exception, match=r"ssh: Could not resolve hostname") as info:
        run_git(["ls-remote", url], url, "cannot fetch")
    assert "hunter2" not in str(info.value)
    assert "ssh://git:***@mlrun-test.invalid/repo.git" in str(info.value)


def test_clones_report_git_progress(tmp_path: Path) -> None:
    repo = write_project(tmp_path / "r", "entry_points:\n  main:\n    command: echo hi\n")
    sh(repo, "git", "init", "-q", "-b", "main")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "x")
    seen: list[str] = []
    run_git(["clone", "--mirror", "--quiet", f"file://{repo}", str(tmp_path / "m")],
            f"file://{repo}", "cannot clone", progress=seen.append)  # fmt: skip
    assert any(line.startswith(("Counting objects", "Enumerating objects", "Receiving objects"))
               for line in seen), seen  # fmt: skip
    result = run_mlrun("run", f"file://{repo}/.git", "--env-manager", "local")
    assert "git: cloning file://" in result.stderr, result.stderr
    assert sys.executable
