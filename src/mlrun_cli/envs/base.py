"""The environment a run executes in, the builder protocol, and the builder name table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from mlrun_cli.errors import UsageError
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mlrun_cli.envs.interpreters import Interpreter
    from mlrun_cli.envs.lock import EnvLock
    from mlrun_cli.envs.logged import BuildLog

LOCAL = "local"
DEFAULT_ENV_MANAGER = "uv"
ENV_MANAGERS = ("local", "uv", "virtualenv")


class Env(Record):
    """An environment ready to run commands: its interpreter, the PATH entry, its lock."""

    manager: str
    python: Path
    bin_dir: Path
    python_version: str
    lock: EnvLock | None = None
    key: str | None = None
    root: Path | None = None  # the virtualenv's folder; None for the local interpreter
    # Variables the child's environment must have (set) or lack (None) to run in this env.
    child_vars: tuple[tuple[str, str | None], ...] = ()

    @property
    def isolated(self) -> bool:
        """Whether this is a virtualenv of mlrun's (not the interpreter running mlrun)."""
        return self.root is not None


class EnvBuilder(Protocol):
    """Creates a virtual environment and installs requirement files into it."""

    name: str

    def create(self, interpreter: Interpreter, target: Path, log: BuildLog) -> None:
        """Create an empty virtual environment at ``target`` for ``interpreter``."""
        ...

    def install(
        self,
        target: Path,
        requirements: Path,
        *,
        no_deps: bool,
        log: BuildLog,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        """Install a requirements file (exact pins only when ``no_deps``), not byte-compiled:
        runs compile what they import into the env (see ``bytecode.py``).
        ``on_line`` receives the installer's output as it comes."""
        ...


def _uv() -> EnvBuilder:
    from mlrun_cli.envs.uv import UvBuilder

    return UvBuilder()


def _virtualenv() -> EnvBuilder:
    from mlrun_cli.envs.virtualenv import VirtualenvBuilder

    return VirtualenvBuilder()


BUILDERS: dict[str, Callable[[], EnvBuilder]] = {"uv": _uv, "virtualenv": _virtualenv}


def check_env_manager(name: str) -> str:
    """Validate an ``--env-manager`` value."""
    if name not in ENV_MANAGERS:
        raise UsageError(f"--env-manager: expected one of {', '.join(ENV_MANAGERS)}; got {name!r}")
    return name


def get_builder(name: str) -> EnvBuilder:
    """The builder for an isolated env manager."""
    check_env_manager(name)
    return BUILDERS[name]()


def venv_python(root: Path) -> Path:
    """A virtualenv's interpreter."""
    return root / "bin" / "python"
