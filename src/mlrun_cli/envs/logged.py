"""Run installer commands with their output saved to a build log, failing with its last lines.

Output is read as it comes: every line goes to the log and, when asked, to a callback that
turns the installer's phases into progress (see ``progress.py``).
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli._files import write_text_atomic
from mlrun_cli._launch import CANNOT_RUN, launch_argv
from mlrun_cli.envs.builder_process import TAG, kill_group
from mlrun_cli.errors import EnvError

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TAIL_LINES = 15


@dataclass(frozen=True)
class BuildLog:
    """Where one environment build writes its installers' output.

    ``key`` and ``holder`` (the env's ``KEY.builder`` file) let a later build find and stop
    installers this one left behind (see ``builder_process.py``).
    """

    path: Path
    key: str = ""
    holder: Path | None = None

    def run(
        self,
        argv: list[str],
        what: str,
        env: dict[str, str] | None = None,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        """Run ``argv``; on failure raise EnvError with the output's last lines and the log."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        child_env = {**(env or os.environ), TAG: self.key}
        with self.path.open("ab") as log:
            log.write(f"$ {' '.join(argv)}\n".encode())
            log.flush()
            try:
                proc = subprocess.Popen(
                    launch_argv(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, env=child_env, start_new_session=True,
                )  # fmt: skip
            except FileNotFoundError as exc:
                raise EnvError(f"{what}: cannot run {argv[0]!r}: {exc.strerror}") from exc
            if self.holder is not None:
                write_text_atomic(self.holder, f"{proc.pid}\n")
            try:
                assert proc.stdout is not None  # noqa: S101 - stdout=PIPE
                for raw in proc.stdout:
                    log.write(raw)
                    log.flush()
                    if on_line is not None:
                        on_line(raw.decode(errors="replace").rstrip("\r\n"))
                code = proc.wait()
            except BaseException:
                # Ctrl-C, SIGTERM, a failing callback: the installer dies with the build.
                kill_group(proc.pid)
                proc.wait()
                raise
            finally:
                proc.stdout.close()  # type: ignore[union-attr]
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            raise EnvError(f"{what} was killed by {name}; full log: {self.path}")
        last = (self.tail().splitlines() or [""])[-1].strip()
        if code == CANNOT_RUN and last.startswith("cannot run"):
            raise EnvError(f"{what}: {last}")
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
