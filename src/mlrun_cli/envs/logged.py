"""Run installer commands with their output saved to a build log, failing with its last lines."""

from __future__ import annotations

import os
import subprocess
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.errors import EnvError

if TYPE_CHECKING:
    from pathlib import Path

TAIL_LINES = 15


@dataclass(frozen=True)
class BuildLog:
    """Where one environment build writes its installers' output."""

    path: Path

    def run(self, argv: list[str], what: str, env: dict[str, str] | None = None) -> None:
        """Run ``argv``; on failure raise EnvError with the output's last lines and the log."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            try:
                code = subprocess.run(
                    argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=env or dict(os.environ), check=False,
                ).returncode  # fmt: skip
            except FileNotFoundError as exc:
                raise EnvError(f"{what}: cannot run {argv[0]!r}: {exc.strerror}") from exc
        if code != 0:
            tail = self.tail()
            raise EnvError(
                f"{what} failed (exit code {code}); full log: {self.path}\n" + tail,
                hint="fix the environment spec (python_env.yaml / conda.yaml) and run again",
            )

    def tail(self) -> str:
        """The last lines of the log, indented."""
        try:
            lines = self.path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join("  " + line for line in deque(lines, maxlen=TAIL_LINES))
