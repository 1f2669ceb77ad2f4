"""The README's shell-completion commands do what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_the_real_usage() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "--show-completion bash" not in readme
    assert "_MLRUN_COMPLETE=source_zsh mlrun" in readme


def test_another_shells_script(tmp_path: Path) -> None:
    env = {**os.environ, "_MLRUN_COMPLETE": "source_zsh", "HOME": str(tmp_path)}
    env["PYTHONPATH"] = str(ROOT / "src")
    done = subprocess.run(
        [sys.executable, "-m", "mlrun_cli"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.lstrip().startswith("#compdef mlrun")
    env["_MLRUN_COMPLETE"] = "source_fish"
    fish = subprocess.run(
        [sys.executable, "-m", "mlrun_cli"], env=env, capture_output=True, text=True, check=False
    )
    assert "complete --command mlrun" in fish.stdout
