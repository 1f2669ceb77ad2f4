"""Git sources end to end: real repositories in tmp_path with a bare repo as the remote."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_mlrun

pytestmark = pytest.mark.integration

SUB = "models/v1.2"
MLPROJECT = "entry_points:\n  main:\n    command: python train.py\n"
TRAIN = "import mlrun_cli\nfrom version import VERSION\nmlrun_cli.set_tag('code', VERSION)\nprint('code', VERSION)\n"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", "-c", "protocol.file.allow=always", *args],
        cwd=cwd, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def commit_version(work: Path, version: str) -> str:
    (work / SUB / "version.py").write_text(f"VERSION = {version!r}\n")
    git(work, "add", ".")
    git(work, "commit", "-qm", version)
    return git(work, "rev-parse", "HEAD")


@pytest.fixture
def repos(tmp_path: Path) -> dict[str, object]:
    work = tmp_path / "work"
    (work / SUB).mkdir(parents=True)
    (work / SUB / "MLproject").write_text(MLPROJECT)
    (work / SUB / "train.py").write_text(TRAIN)
    (work / ".gitignore").write_text("mlruns/\n*.log\n")
    git(work, "init", "-q", "-b", "main")
    first = commit_version(work, "one")
    git(work, "tag", "v1")
    second = commit_version(work, "two")
    git(work, "checkout", "-q", "-b", "feature")
    third = commit_version(work, "three")
    git(work, "checkout", "-q", "main")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(remote))
    return {
        "work": work,
        "remote": remote,
        "url": f"file://{remote}",
        "commits": (first, second, third),
    }


def run_json(*args: str, cwd: Path | None = None) -> dict[str, object]:
    result = run_mlrun("run", *args, "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_bare_repo_url_with_subdirectory(repos: dict) -> None:  # type: ignore[type-arg]
    run = run_json(f"{repos['url']}#{SUB}")
    source = run["source"]
    assert (source["kind"], source["commit"], source["subdirectory"]) == (
        "git",
        repos["commits"][1],
        SUB,
    )
    assert source["uri"] == repos["url"]
    assert run["tags"]["code"] == "two"


@pytest.mark.parametrize(
    ("version", "expected"),
    [("v1", "one"), ("feature", "three"), ("main", "two"), ("FULL0", "one"), ("SHORT0", "one")],
)
def test_versions(repos: dict, version: str, expected: str) -> None:  # type: ignore[type-arg]
    first = repos["commits"][0]
    version = {"FULL0": first, "SHORT0": first[:8]}.get(version, version)
    run = run_json(f"{repos['url']}#{SUB}", "--version", version)
    assert run["tags"]["code"] == expected
    assert run["source"]["version"] == version


def test_local_repo_at_another_version_leaves_the_checkout_alone(repos: dict) -> None:  # type: ignore[type-arg]
    work = repos["work"]
    (work / "scratch.txt").write_text("uncommitted")  # the user's work in progress
    before = (git(work, "rev-parse", "--abbrev-ref", "HEAD"), git(work, "status", "--porcelain"),
              git(work, "remote", "-v"), git(work, "stash", "list"))  # fmt: skip
    run = run_json(str(work / SUB), "-v", "v1")
    assert run["tags"]["code"] == "one"
    assert run["source"]["kind"] == "local-git"
    assert run["source"]["subdirectory"] == SUB
    after = (git(work, "rev-parse", "--abbrev-ref", "HEAD"), git(work, "status", "--porcelain"),
             git(work, "remote", "-v"), git(work, "stash", "list"))  # fmt: skip
    assert after == before
    assert (work / SUB / "version.py").read_text() == "VERSION = 'two'\n"


@pytest.mark.parametrize(
    ("uri_suffix", "args", "code", "message"),
    [
        (f"#{SUB}", ["-v", "nope"], 4, "unknown revision 'nope' in file://"),
        ("#models/v9", [], 4, "no folder 'models/v9'; models has: v1.2/"),
        ("#models", [], 4, "#models: no MLproject or python_env.yaml there"),
    ],
)
def test_source_errors(
    repos: dict, uri_suffix: str, args: list[str], code: int, message: str
) -> None:  # type: ignore[type-arg]
    result = run_mlrun("run", f"{repos['url']}{uri_suffix}", *args)
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if "nope" in message:
        assert "(branches and tags: feature, main, v1)" in result.stderr


def test_version_needs_git(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    result = run_mlrun("run", str(tmp_path / "plain"), "--version", "main")
    assert result.returncode == 2
    assert "is not a git repository" in result.stderr


def test_unreachable_remote_and_token_redaction(tmp_path: Path) -> None:
    result = run_mlrun("run", "https://alice:s3cr3t-token@127.0.0.1:9/org/repo.git")
    assert result.returncode == 4
    assert "error: cannot clone https://***@127.0.0.1:9/org/repo.git" in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
    mirrors = Path(os.environ["MLRUN_CACHE_DIR"]) / "git" / "mirrors"
    assert [p.name for p in mirrors.iterdir() if p.is_dir()] == []  # nothing half-cloned kept


def test_offline_uses_the_mirror_as_it_is(repos: dict) -> None:  # type: ignore[type-arg]
    uri = f"{repos['url']}#{SUB}"
    assert run_json(uri)["tags"]["code"] == "two"
    work = repos["work"]
    commit_version(work, "four")
    git(work, "push", "-q", str(repos["remote"]), "main")
    assert run_json(uri, "--offline")["tags"]["code"] == "two"
    assert run_json(uri)["tags"]["code"] == "four"
    fresh = run_mlrun("run", f"file://{repos['remote']}-missing.git", "--offline")
    assert fresh.returncode == 4
    assert "--offline: no cached copy of" in fresh.stderr


def test_leftovers_of_an_interrupted_clone_are_not_reused(repos: dict) -> None:  # type: ignore[type-arg]
    cache = Path(os.environ["MLRUN_CACHE_DIR"]) / "git"
    (cache / "mirrors" / ".tmp-deadbeef.git-123").mkdir(parents=True)
    (cache / "mirrors" / ".tmp-deadbeef.git-123" / "HEAD").write_text("garbage")
    assert run_json(f"{repos['url']}#{SUB}")["tags"]["code"] == "two"


def test_dirty_snapshot_round_trip(repos: dict, tmp_path: Path) -> None:  # type: ignore[type-arg]
    work = repos["work"]
    (work / SUB / "version.py").write_text("VERSION = 'dirty'\n")
    (work / SUB / "new_module.py").write_text("X = 1\n")
    (work / SUB / "weights.bin").write_bytes(bytes(range(256)) * 4)
    git(work, "add", f"{SUB}/new_module.py")  # staged
    (work / "ignored.log").write_text("not code")
    run = run_json(str(work / SUB))
    assert run["source"]["dirty"] is True
    assert run["tags"]["code"] == "dirty"
    patch = Path(run["artifact_uri"]) / "_mlrun" / "dirty.patch"
    assert run["source"]["snapshot_sha256"] == next(
        a["sha256"] for a in run["artifacts"] if a["path"] == "_mlrun/dirty.patch"
    )
    rebuilt = tmp_path / "rebuilt"
    git(tmp_path, "clone", "-q", str(repos["remote"]), str(rebuilt))
    git(rebuilt, "checkout", "-q", run["source"]["commit"])
    git(rebuilt, "apply", "--binary", str(patch))
    for relative in (
        f"{SUB}/version.py",
        f"{SUB}/new_module.py",
        f"{SUB}/weights.bin",
        f"{SUB}/train.py",
    ):
        assert (rebuilt / relative).read_bytes() == (work / relative).read_bytes()
    assert not (rebuilt / "ignored.log").exists()
    assert git(work, "diff", "--cached", "--name-only") == f"{SUB}/new_module.py"  # index untouched


def test_dirty_refuse_and_allow(repos: dict) -> None:  # type: ignore[type-arg]
    work = repos["work"]
    (work / SUB / "version.py").write_text("VERSION = 'dirty'\n")
    (work / "notes.txt").write_text("x")
    refused = run_mlrun("run", str(work / SUB), "--dirty", "refuse")
    assert refused.returncode == 4
    assert (
        f"has uncommitted changes (--dirty refuse): {SUB}/version.py, notes.txt" in refused.stderr
    )
    allowed = run_json(str(work / SUB), "--dirty", "allow")
    assert allowed["source"]["dirty"] is True
    assert allowed["source"]["snapshot_sha256"] is None
    assert "_mlrun/dirty.patch" not in {a["path"] for a in allowed["artifacts"]}


def test_submodules_are_initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "version.py").write_text("VERSION = 'from-submodule'\n")
    git(lib, "init", "-q", "-b", "main")
    git(lib, "add", ".")
    git(lib, "commit", "-qm", "lib")
    main = tmp_path / "main"
    main.mkdir()
    (main / "MLproject").write_text("entry_points:\n  main:\n    command: python train.py\n")
    (main / "train.py").write_text("import sys\nsys.path.insert(0, 'lib')\n" + TRAIN)
    git(main, "init", "-q", "-b", "main")
    git(main, "submodule", "-q", "add", str(lib), "lib")
    git(main, "add", ".")
    git(main, "commit", "-qm", "main")
    remote = tmp_path / "main.git"
    git(tmp_path, "clone", "-q", "--bare", str(main), str(remote))
    # Local-path submodules need git's file protocol allowed (off by default since git 2.38).
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "protocol.file.allow")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "always")
    assert run_json(f"file://{remote}")["tags"]["code"] == "from-submodule"
