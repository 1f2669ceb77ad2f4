"""The README's shell-completion commands do what it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_names_the_real_usage() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "mlrun --show-completion zsh" in readme


def test_show_completion_takes_a_shell(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "src")}

    def show(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mlrun_cli", "--show-completion", *args],
                              env=env, capture_output=True, text=True, check=False)  # fmt: skip

    assert show("zsh").stdout.lstrip().startswith("#compdef mlrun")
    assert "complete --command mlrun" in show("fish").stdout
    wrong = show("tcsh")
    assert (wrong.returncode, wrong.stdout) == (2, "")
    assert wrong.stderr == (
        "error: --show-completion: expected bash, zsh, fish or powershell; got 'tcsh'\n"
    )


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
