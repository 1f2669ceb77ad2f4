"""The environment a run executes in, and the builder table that makes one."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from mlrun_cli.errors import UsageError


@dataclass(frozen=True)
class Env:
    """An environment ready to run commands: its interpreter and the directory put first on PATH."""

    manager: str
    python: Path
    bin_dir: Path
    python_version: str


def local_env() -> Env:
    """No isolation: the interpreter running mlrun, and whatever it has installed."""
    executable = Path(sys.executable)
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Env("local", executable, executable.parent, version)


ENV_MANAGERS = ("local",)


def check_env_manager(name: str) -> str:
    """Validate an ``--env-manager`` value."""
    if name not in ENV_MANAGERS:
        raise UsageError(f"--env-manager: expected one of {', '.join(ENV_MANAGERS)}; got {name!r}")
    return name
