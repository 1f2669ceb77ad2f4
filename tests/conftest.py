"""Fixtures shared by every test: an isolated HOME, caches and tracking store per test."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.postgres import PostgresServer
    from tests.server.backends import Backend

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_PROJECT = REPO / "example_project"


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own HOME, cache, data dir and working directory (so ./mlruns)."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MLRUN_HOME", str(home / "mlrun-home"))
    monkeypatch.setenv("MLRUN_CACHE_DIR", str(home / "mlrun-cache"))
    for name in (
        "MLRUN_TRACKING_URI",
        "MLRUN_EVENTS",
        "MLRUN_RUN_ID",
        "MLRUN_ARTIFACT_DIR",
        "MLRUN_EXPERIMENT_ID",
        "MLRUN_EXPERIMENT_NAME",
        "GITHUB_STEP_SUMMARY",
    ):
        monkeypatch.delenv(name, raising=False)  # fmt: skip
    monkeypatch.chdir(work)
    yield work


@dataclass
class Result:
    """A finished mlrun process."""

    returncode: int
    stdout: str
    stderr: str


def mlrun_argv(*args: str) -> list[str]:
    """argv running the mlrun CLI of this checkout with the test interpreter."""
    return [sys.executable, "-m", "mlrun_cli", *args]


def run_mlrun(*args: str, cwd: Path | None = None, timeout: float = 120) -> Result:
    """Run the real CLI in a subprocess, as a user would."""
    proc = subprocess.run(
        mlrun_argv(*args),
        cwd=cwd or Path.cwd(),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def mlrun() -> type:
    """Access to the subprocess helpers from tests."""

    class Helpers:
        run = staticmethod(run_mlrun)
        argv = staticmethod(mlrun_argv)

    return Helpers


def sh(cwd: Path, *argv: str) -> str:
    """Run a setup command (git, dvc) with a git identity; fail loudly; return stdout."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def write_project(directory: Path, mlproject: str, files: dict[str, str] | None = None) -> Path:
    """Create a project folder with an MLproject and extra files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "MLproject").write_text(mlproject)
    for name, text in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One real PostgreSQL for the session (tests/postgres.py); skipped only when its server
    binaries are not installed (``.ci/run`` installs them)."""
    from tests.postgres import start_server

    server = start_server()
    if server is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, isolated: Path) -> Backend:
    """A team server's backend store, once per backend: a SQLite file, then a fresh database
    of the session's PostgreSQL (the server suite runs on both)."""
    from tests.server.backends import postgres_backend_in, sqlite_backend

    if request.param == "sqlite":
        return sqlite_backend(isolated / "srv")
    return postgres_backend_in(isolated / "srv", request.getfixturevalue("postgres_server"))


@pytest.fixture
def postgres_backend(isolated: Path, postgres_server: PostgresServer) -> Backend:
    """A PostgreSQL backend only (for what SQLite has no counterpart of: a database restart)."""
    from tests.server.backends import postgres_backend_in

    return postgres_backend_in(isolated / "srv", postgres_server)
