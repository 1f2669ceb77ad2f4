"""Real environments (uv and virtualenv) in a per-test cache, built from local packages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrun_cli.envs.cache import Lease
from tests.conftest import mlrun_argv, run_mlrun, write_project
from tests.packages import make_source_project, make_wheel

pytestmark = pytest.mark.integration

CHECK = """\
import json, sys, mlrun_cli, tinypkg
try:
    import yaml  # installed next to mlrun, must not leak into the isolated env
    leaked = True
except ImportError:
    leaked = False
mlrun_cli.log_metric("leaked", int(leaked))
mlrun_cli.log_param("tinypkg", tinypkg.VERSION)
print(sys.prefix)
"""


def env_project(tmp_path: Path, deps: list[str], name: str = "p") -> Path:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypkg", "1.0")
    lines = "".join(f"  - {line}\n" for line in ["--no-index", f"--find-links {wheels}", *deps])
    return write_project(
        tmp_path / name,
        "entry_points:\n  main:\n    command: python check.py\n",
        {"python_env.yaml": f"python: '3.11'\ndependencies:\n{lines}", "check.py": CHECK},
    )


def envs_dir() -> Path:
    return Path(os.environ["MLRUN_CACHE_DIR"]) / "envs"


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_isolated_env_is_built_once_locked_and_recorded(tmp_path: Path, manager: str) -> None:
    project = env_project(tmp_path, ["tinypkg==1.0"])
    first = run_mlrun("run", str(project), "--env-manager", manager, "--json")
    assert first.returncode == 0, first.stderr
    assert "started" in first.stderr
    run = json.loads(first.stdout)
    assert run["params"]["tinypkg"] == "1.0"
    assert run["metrics"]["leaked"] == 0
    env = run["environment"]
    assert env["manager"] == manager
    assert env["packages"]["tinypkg"] == "1.0"
    assert env["python"].startswith("3.11.")
    assert "tinypkg==1.0" in env["lock"]
    assert "--no-index" in env["lock"]
    second = run_mlrun("run", str(project), "--env-manager", manager, "--json")
    assert "started" not in second.stderr  # cache hit: nothing built
    assert json.loads(second.stdout)["environment"]["lock_sha256"] == env["lock_sha256"]
    (key,) = [p.name for p in envs_dir().iterdir() if p.is_dir()]
    assert key == env["key"]
    shown = run_mlrun("runs", "show", run["run_id"])
    assert f"{manager}, Python 3.11." in shown.stdout
    listing = run_mlrun("env", "list", "--json")
    (listed,) = json.loads(listing.stdout)["environments"]
    assert (listed["builder"], listed["projects"]) == (manager, [str(project)])
    assert "tinypkg==1.0" in run_mlrun("env", "show", key[:6]).stdout


def test_changed_requirements_file_gives_a_new_env(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["-r requirements.txt"])
    (project / "requirements.txt").write_text("tinypkg==1.0\n")
    assert run_mlrun("run", str(project)).returncode == 0
    make_wheel(tmp_path / "wheels", "tinypkg", "2.0")
    (project / "requirements.txt").write_text("tinypkg==2.0\n")
    result = run_mlrun("run", str(project), "--json")
    assert json.loads(result.stdout)["params"]["tinypkg"] == "2.0"
    assert len([p for p in envs_dir().iterdir() if p.is_dir()]) == 2


def test_same_requirements_elsewhere_share_one_env(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import sh

    project = env_project(tmp_path, ["-r requirements.txt"])
    (project / "requirements.txt").write_text("tinypkg==1.0\n")
    first = json.loads(run_mlrun("run", str(project), "--json").stdout)["environment"]["key"]
    copy = shutil.copytree(project, tmp_path / "copy")
    second = run_mlrun("run", str(copy), "--json")
    assert "started" not in second.stderr  # no build: the copy's requirements are the same
    assert json.loads(second.stdout)["environment"]["key"] == first
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "one"]):
        sh(copy, "git", *command)
    (copy / "check.py").write_text(CHECK + "print('edited')\n")
    sh(copy, "git", "commit", "-qam", "two")
    for rev in ("HEAD~1", "HEAD"):  # two checkouts at two paths, one environment
        result = run_mlrun("run", str(copy), "--version", rev, "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["environment"]["key"] == first
    assert len([p for p in envs_dir().iterdir() if p.is_dir()]) == 1


def test_bytecode_lands_in_the_env_never_in_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as on this machine and many others
    project = env_project(tmp_path, ["tinypkg==1.0"])
    (project / "helper.py").write_text("VALUE = 1\n")
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    command: python -c 'import helper, tinypkg'\n"
    )
    run = json.loads(run_mlrun("run", str(project), "--json").stdout)
    root = envs_dir() / run["environment"]["key"]
    assert list(root.rglob("__pycache__/tinypkg*.pyc")) == []  # installed uncompiled
    compiled = [p.relative_to(root / ".pycache") for p in (root / ".pycache").rglob("*.pyc")]
    assert any(p.name.startswith("helper.") for p in compiled), compiled
    assert any("tinypkg" in p.parts for p in compiled), compiled  # by the run, into the env
    assert list(project.rglob("*.pyc")) == []
    probe = "import sysconfig; print(sysconfig.get_paths()['stdlib'])"
    python = root / "bin" / "python"
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True)
    stdlib = Path(out.stdout.strip())
    if list((stdlib / "__pycache__").glob("*.pyc")):  # the stdlib's own pycs are reused
        mirror = root / ".pycache" / stdlib.relative_to(stdlib.anchor)
        assert mirror.is_symlink()  # one mirror for every env of this interpreter
        assert list(mirror.glob("os.*.pyc"))


def test_build_shows_installer_phases_and_top_level_packages(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["tinypkg"])
    result = run_mlrun("run", str(project))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any("resolved 1 package, downloading" in line for line in lines), lines
    assert any("installed 1 package (" in line for line in lines), lines
    assert "mlrun: + tinypkg==1.0" in lines
    assert any("pins no Python version" not in line for line in lines)  # '3.11' is a pin
    project = write_project(
        tmp_path / "nopin", "entry_points:\n  main:\n    command: python -c pass\n",
        {"python_env.yaml": "dependencies: []\n"},
    )  # fmt: skip
    result = run_mlrun("run", str(project))
    assert "mlrun: python_env.yaml pins no Python version: using 3." in result.stderr


def test_a_python_specifier_records_the_exact_version(tmp_path: Path) -> None:
    import platform

    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n",
        {"python_env.yaml": 'python: ">=3.10"\n'},
    )  # fmt: skip
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["environment"]["python"] == platform.python_version()
    assert f"asks for Python >=3.10: using {platform.python_version()}" in result.stderr
    newer = f"{sys.version_info.major}.{sys.version_info.minor + 20}"
    (project / "python_env.yaml").write_text(f'python: ">={newer}"\n')
    missing = run_mlrun("run", str(project))
    assert missing.returncode == 3
    assert f"error: no Python >={newer} found" in missing.stderr
    assert "--python-downloads" in missing.stderr


def test_conda_packages_install_with_pip_and_strict_refuses_the_rest(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "tinypkg", "1.0")
    conda = (
        "dependencies:\n  - python=3.11\n  - tinypkg=1.0\n  - cudatoolkit\n"
        f"  - pip:\n    - --no-index\n    - --find-links {wheels}\n"
    )
    project = write_project(
        tmp_path / "p", "conda_env: conda.yaml\nentry_points:\n  main:\n    command: python check.py\n",
        {"conda.yaml": conda, "check.py": CHECK},
    )  # fmt: skip
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["params"]["tinypkg"] == "1.0"
    assert "'cudatoolkit' has no PyPI equivalent" in result.stderr
    strict = run_mlrun("run", str(project), "--strict")
    assert strict.returncode == 2
    assert strict.stderr.startswith("error: conda.yaml: dependencies[2]: 'cudatoolkit' has no")
    assert "(refused by --strict)" in strict.stderr


def test_unknown_python_exits_3_and_creates_no_run(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: python -c pass\n",
        {"python_env.yaml": "python: '2.1'\n"},
    )  # fmt: skip
    result = run_mlrun("run", str(project))
    assert result.returncode == 3
    assert (
        "error: no Python 2.1 found (searched PATH, pyenv and uv installs; found: " in result.stderr
    )
    assert "hint: install one" in result.stderr
    assert not (Path.cwd() / "mlruns").exists()  # failed before anything was recorded


def test_failed_install_shows_the_installer_and_leaves_nothing(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["no-such-package==9.9"])
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 3
    assert "error: installing dependencies" not in result.stderr  # the message names the tool
    assert "installing packages (uv pip install) failed (exit code" in result.stderr
    assert "full log: " in result.stderr
    assert "no-such-package" in result.stderr  # the installer's own last lines
    assert [p for p in envs_dir().iterdir() if p.is_dir()] == []
    assert not (Path.cwd() / "mlruns").exists()


def slow_project(tmp_path: Path, delay: float) -> tuple[Path, Path]:
    source = make_source_project(tmp_path / "slowpkg-src", "slowpkg", delay=delay)
    project = write_project(
        tmp_path / "p", "entry_points:\n  main:\n    command: python -c 'import slowpkg'\n",
        {"python_env.yaml": f"python: '3.11'\ndependencies:\n  - --no-index\n  - {source}\n"},
    )  # fmt: skip
    return project, source


def test_concurrent_runs_build_the_env_once(tmp_path: Path) -> None:
    project, source = slow_project(tmp_path, delay=2)
    procs = [
        subprocess.Popen(mlrun_argv("run", str(project)), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert (source / "builds.log").read_text().count("build") == 1, outputs
    assert sum("started" in err for _, err in outputs) == 1, outputs


def test_sigkilled_build_is_never_reused(tmp_path: Path) -> None:
    project, source = slow_project(tmp_path, delay=60)
    proc = subprocess.Popen(
        mlrun_argv("run", str(project)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (source / "builds.log").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    (half,) = [p for p in envs_dir().iterdir() if p.is_dir()]
    assert not (half / ".complete").exists()
    (source / "delay").write_text("0")
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert "slowpkg" in json.loads(result.stdout)["environment"]["packages"]
    assert (half / ".complete").exists()
    assert (source / "builds.log").read_text().count("build") == 2


def builders_of_this_test() -> list[str]:
    """Command lines of live installer processes tagged by this test's builds."""
    tag, cache = b"MLRUN_ENV_BUILD=", f"MLRUN_CACHE_DIR={os.environ['MLRUN_CACHE_DIR']}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z" and cache in environ and any(v.startswith(tag) for v in environ):
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, IndexError):
            continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_builders_die_with_mlrun(tmp_path: Path, signum: int) -> None:
    project, source = slow_project(tmp_path, delay=60)
    proc = subprocess.Popen(
        mlrun_argv("run", str(project)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while not (source / "builds.log").exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.kill(proc.pid, signum)  # mlrun alone, as the OOM killer or `kill -9 PID` does
    proc.wait()
    # uv itself goes with mlrun (its own group killed, or the parent-death signal).
    while any("uv pip install" in line for line in builders_of_this_test()):
        assert time.monotonic() < deadline, builders_of_this_test()
        time.sleep(0.1)
    (source / "delay").write_text("0")
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert "hint:" not in result.stderr
    assert builders_of_this_test() == []  # the next build stopped what was left (the backend)


def test_build_from_lock_installs_exact_versions(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["tinypkg"])
    make_wheel(tmp_path / "wheels", "tinypkg", "2.0")
    built = json.loads(run_mlrun("env", "build", str(project), "--json").stdout)
    assert "tinypkg==2.0" in built["lock"]
    lock = tmp_path / "lock.txt"
    lock.write_text(built["lock"].replace("tinypkg==2.0", "tinypkg==1.0"))
    again = run_mlrun("env", "build", "--from-lock", str(lock), "--json")
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert "tinypkg==1.0" in data["lock"]
    assert data["key"].startswith("L")


def test_reproduce_reuses_the_env_whose_lock_matches(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["tinypkg==1.0"])
    run = json.loads(run_mlrun("run", str(project), "--json").stdout)
    again = run_mlrun("reproduce", run["run_id"], "--json")
    assert again.returncode == 0, again.stderr
    assert "started" not in again.stderr  # nothing built: the spec's env has the same lock
    assert json.loads(again.stdout)["run"]["environment"]["key"] == run["environment"]["key"]
    lock = tmp_path / "lock.txt"
    lock.write_text(run["environment"]["lock"])
    built = json.loads(run_mlrun("env", "build", "--from-lock", str(lock), "--json").stdout)
    assert built["key"] == run["environment"]["key"]
    assert len([p for p in envs_dir().iterdir() if p.is_dir()]) == 1


def test_show_of_an_incomplete_env_is_one_error_line() -> None:
    (envs_dir() / "deadbeef").mkdir(parents=True)
    result = run_mlrun("env", "show", "dead")
    assert result.returncode == 3
    assert result.stderr.startswith("error: environment deadbeef is incomplete")
    assert "Traceback" not in result.stderr


def test_prune_skips_envs_in_use(tmp_path: Path) -> None:
    project = env_project(tmp_path, ["tinypkg==1.0"])
    key = json.loads(run_mlrun("env", "build", str(project), "--json").stdout)["key"]
    os.utime(envs_dir() / key / ".complete", (0, 0))
    (envs_dir() / "deadbeef").mkdir()  # an interrupted build's leftovers
    lease = Lease(key)
    lease.shared()
    try:
        dry = run_mlrun("env", "prune", "--older-than", "1d", "--dry-run")
        assert f"would remove {key}" in dry.stdout
        assert "would remove deadbeef" in dry.stdout
        busy = run_mlrun("env", "prune", "--older-than", "1d")
        assert "removed deadbeef" in busy.stdout
        assert key not in busy.stdout
        refused = run_mlrun("env", "rm", key)
        assert refused.returncode == 3
        assert "in use" in refused.stderr
    finally:
        lease.release()
    assert f"removed {key}" in run_mlrun("env", "prune", "--older-than", "1d").stdout
    assert not (envs_dir() / key).exists()


def test_child_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    host = tmp_path / "host"
    host.mkdir()
    (host / "hostonly.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(host))
    project = write_project(
        tmp_path / "p",
        "entry_points:\n  main:\n    command: python probe.py\n",
        {"probe.py": "import os, sys, importlib.util, mlrun_cli\n"
                     "mlrun_cli.set_tag('leak', str(importlib.util.find_spec('hostonly') is not None))\n"
                     "mlrun_cli.set_tag('venv', os.environ.get('VIRTUAL_ENV') == sys.prefix)\n"},
    )  # fmt: skip
    run = json.loads(run_mlrun("run", str(project), "--json").stdout)
    assert (run["tags"]["leak"], run["tags"]["venv"]) == ("False", "True")
    local = json.loads(run_mlrun("run", str(project), "--env-manager", "local", "--json").stdout)
    assert local["tags"]["leak"] == "True"  # local means no isolation, as documented
