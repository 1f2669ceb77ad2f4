from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlrun_cli.envs.builder_process import stop_stale_builders
from mlrun_cli.envs.logged import BuildLog
from mlrun_cli.errors import EnvError


def test_output_streams_to_the_log_and_the_callback(tmp_path: Path) -> None:
    lines: list[str] = []
    log = BuildLog(tmp_path / "build.log", "KEY", tmp_path / "KEY.builder")
    log.run(["sh", "-c", 'echo one; echo "$MLRUN_ENV_BUILD" >&2'], "step", on_line=lines.append)
    assert lines == ["one", "KEY"]  # stderr too; the installer carries the build's tag
    assert "one\nKEY\n" in (tmp_path / "build.log").read_text()


def test_a_killed_installer_does_not_blame_the_spec(tmp_path: Path) -> None:
    with pytest.raises(EnvError) as info:
        BuildLog(tmp_path / "build.log").run(["sh", "-c", "kill -9 $$"], "installing (uv)")
    assert str(info.value).startswith("installing (uv) was killed by SIGKILL; full log: ")
    assert info.value.hint is None


def test_a_missing_installer_is_named(tmp_path: Path) -> None:
    with pytest.raises(EnvError) as info:
        BuildLog(tmp_path / "build.log").run(["/no/such/uv", "pip"], "installing (uv)")
    assert str(info.value) == "installing (uv): cannot run '/no/such/uv': No such file or directory"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_stale_builders_of_this_key_only_are_stopped(tmp_path: Path) -> None:
    def sleeper(key: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "MLRUN_ENV_BUILD": key}
        proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
        environ = Path(f"/proc/{proc.pid}/environ")
        deadline = time.monotonic() + 30
        while f"MLRUN_ENV_BUILD={key}".encode() not in environ.read_bytes():  # until exec'd
            assert time.monotonic() < deadline
            time.sleep(0.01)
        return proc

    ours, other = sleeper("KEY"), sleeper("OTHER")
    holder = tmp_path / "KEY.builder"
    try:
        for proc in (ours, other):
            holder.write_text(f"{proc.pid}\n")
            stop_stale_builders(holder, "KEY")
        assert ours.wait(timeout=10) == -9
        assert other.poll() is None  # another key's group is never touched
        assert not holder.exists() or holder.read_text() == f"{other.pid}\n"
    finally:
        other.kill()
        other.wait()
