"""The ``uv`` builder (default): ``uv venv`` + ``uv pip install``."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

from mlrun_cli.envs.base import venv_python
from mlrun_cli.errors import EnvError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mlrun_cli.envs.interpreters import Interpreter
    from mlrun_cli.envs.logged import BuildLog


def uv_binary() -> str:
    """The uv executable shipped with the ``uv`` package (a dependency), else uv on PATH."""
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found is None:
            raise EnvError(
                "uv is not installed: pip install uv, or use --env-manager virtualenv"
            ) from None
        return found


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # mlrun finds interpreters itself and never downloads one.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    # A project's own uv.toml / pyproject settings must not change what the spec says.
    env["UV_NO_CONFIG"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


class UvBuilder:
    """Fast isolated environments with uv."""

    name = "uv"

    def create(self, interpreter: Interpreter, target: Path, log: BuildLog) -> None:
        """``uv venv --python INTERPRETER TARGET``."""
        log.run(
            [uv_binary(), "venv", "--quiet", "--python", str(interpreter.path), str(target)],
            "creating the virtualenv (uv venv)",
            _env(),
        )

    def install(
        self,
        target: Path,
        requirements: Path,
        *,
        no_deps: bool,
        log: BuildLog,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        """``uv pip install -r FILE`` into the env."""
        argv = [uv_binary(), "pip", "install", "--python", str(venv_python(target)),
                "-r", str(requirements)]  # fmt: skip
        if no_deps:
            argv.append("--no-deps")
        log.run(argv, "installing packages (uv pip install)", _env(), on_line)
