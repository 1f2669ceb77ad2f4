"""A virtualenv's python maps to its base installation's (one cache key for one Python)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlrun_cli.envs.interpreters import base_executable


def test_a_virtualenv_python_maps_to_its_base(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    base = base_executable(venv / "bin" / "python3")
    assert not base.is_relative_to(venv)
    assert base.is_file()
    probe = [str(base), "-c", "import sys; print(sys.prefix == sys.base_prefix)"]
    assert (
        subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip() == "True"
    )
    plain = tmp_path / "python3"
    plain.write_text("")
    assert base_executable(plain) == plain
