"""Shared timing helpers: whole-process wall time, median of several runs."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def mlrun_exe() -> str:
    """The installed ``mlrun`` console script next to this interpreter (no shell shims)."""
    script = BIN / "mlrun"
    if not script.exists():
        sys.exit(f"no mlrun script at {script}: pip install -e . first")
    return str(script)


def sh(cwd: Path, *argv: str) -> str:
    """Run a setup command (git, dvc) with a git identity; fail loudly; return stdout."""
    identity = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
    env = dict(os.environ)
    for role in ("AUTHOR", "COMMITTER"):
        env.update({f"GIT_{role}_{key}": value for key, value in identity.items()})
    return subprocess.run(argv, cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def ensure_bytecode() -> None:
    """Byte-compile mlrun_cli as ``pip install`` does (an editable checkout under
    PYTHONDONTWRITEBYTECODE would otherwise recompile every module on every call)."""
    import compileall

    import mlrun_cli

    compileall.compile_dir(Path(mlrun_cli.__file__).parent, quiet=1)


def wall(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Seconds one process takes, start to exit."""
    start = time.perf_counter()
    subprocess.run(
        argv, cwd=cwd, env=env or dict(os.environ), check=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def median_wall(argv: list[str], cwd: Path, runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time after one warm-up run."""
    wall(argv, cwd, env)
    return statistics.median(wall(argv, cwd, env) for _ in range(runs))


def report(rows: list[tuple[str, float, float | None, str]]) -> bool:
    """Print name, measured, target; return whether every target was met."""
    ok = True
    for name, value, target, extra in rows:
        verdict = ""
        if target is not None:
            met = value <= target
            ok &= met
            verdict = f"(target <= {target:.2f}s: {'ok' if met else 'MISSED'})"
        print(f"{name:<48} {value:7.3f}s {verdict} {extra}")
    return ok
