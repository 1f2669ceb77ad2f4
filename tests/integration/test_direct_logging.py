"""The training-code API outside `mlrun run`: with mlrun installed it writes a run to the default
store; in an environment mlrun built (only the client, through a .pth) it fails with a hint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_mlrun, write_project

pytestmark = pytest.mark.integration

SCRIPT = "import mlrun_cli\nmlrun_cli.log_metric('m', 1.5)\nprint('logged')\n"


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("MLRUN_") or k in (
        "MLRUN_HOME", "MLRUN_CACHE_DIR")}  # fmt: skip


def test_inside_a_built_environment_direct_logging_fails_with_a_hint(tmp_path: Path) -> None:
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    project = write_project(tmp_path / "p", "entry_points:\n  main:\n    command: python t.py\n",
                            {"python_env.yaml": f"python: '{version}'\n", "t.py": SCRIPT})  # fmt: skip
    built = run_mlrun("env", "build", str(project), "--json")
    assert built.returncode == 0, built.stderr
    env_python = next(Path(os.environ["MLRUN_CACHE_DIR"], "envs").glob("*/bin/python"))
    proc = subprocess.run([str(env_python), str(project / "t.py")], cwd=tmp_path, env=_plain_env(),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mlrun_cli.tracking.client.TrackingClientError: MLRUN_EVENTS is not set")
    assert "`mlrun run`" in last
    assert "pip install mlrun-cli" in last
    assert not (tmp_path / "mlruns").exists()
    # The same script under mlrun run, in that very environment, logs.
    result = run_mlrun("run", str(project), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["metrics"] == {"m": 1.5}


def test_with_mlrun_installed_direct_logging_writes_the_default_store(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "t.py"], cwd=tmp_path, env=_plain_env(),
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    listing = run_mlrun("runs", "search", "--json", "--tracking-uri", str(tmp_path / "mlruns"))
    (run,) = json.loads(listing.stdout)["runs"]
    assert (run["status"], run["metrics"]) == ("FINISHED", {"m": 1.5})


def test_direct_logging_records_a_non_utf8_argv_escaped(tmp_path: Path) -> None:
    (tmp_path / "t.py").write_text(SCRIPT)
    proc = subprocess.run([os.fsencode(sys.executable), b"t.py", b"caf\xe9"], cwd=tmp_path,
                          env=_plain_env(), capture_output=True, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    listing = run_mlrun("runs", "search", "--json", "--tracking-uri", str(tmp_path / "mlruns"))
    (run,) = json.loads(listing.stdout)["runs"]
    assert run["command"].endswith("t.py caf\\xe9")
