"""The ``virtualenv`` builder: virtualenv + pip, the conservative choice."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from mlrun_cli.envs.base import venv_python

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from mlrun_cli.envs.interpreters import Interpreter
    from mlrun_cli.envs.logged import BuildLog


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


class VirtualenvBuilder:
    """virtualenv seeds pip from its bundled wheels (no download), then pip installs."""

    name = "virtualenv"

    def create(self, interpreter: Interpreter, target: Path, log: BuildLog) -> None:
        """``python -m virtualenv --python INTERPRETER TARGET``."""
        log.run(
            [sys.executable, "-m", "virtualenv", "--quiet", "--no-periodic-update",
             "--python", str(interpreter.path), str(target)],
            "creating the virtualenv (virtualenv)",
            _env(),
        )  # fmt: skip

    def install(
        self,
        target: Path,
        requirements: Path,
        *,
        no_deps: bool,
        log: BuildLog,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        """``pip install --no-compile -r FILE`` (runs compile what they import)."""
        python = str(venv_python(target))
        argv = [python, "-m", "pip", "install", "--no-compile", "--progress-bar", "off",
                "-r", str(requirements)]  # fmt: skip
        if no_deps:
            argv.append("--no-deps")
        log.run(argv, "installing packages (pip install)", _env(), on_line)
