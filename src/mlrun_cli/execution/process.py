"""Run one child process: stream and tee its output, forward interrupts, report the outcome.

The child shares mlrun's process group, so a terminal Ctrl-C reaches it directly: the child
owns Ctrl-C. If it is still alive shortly after mlrun was signalled (a signal sent to mlrun
alone, as CI runners do), mlrun forwards the signal, then escalates to SIGTERM and SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import FrameType

FORWARD_GRACE_S = 0.3
INTERRUPT_TIMEOUT_S = 5.0
TERMINATE_TIMEOUT_S = 3.0
PUMP_JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Request:
    """What to run: argv, where, with which environment, and where to tee the output."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    log_path: Path | None = None
    stdout_to_stderr: bool = False
    timeouts: tuple[float, float, float] = field(
        default=(FORWARD_GRACE_S, INTERRUPT_TIMEOUT_S, TERMINATE_TIMEOUT_S)
    )


@dataclass(frozen=True)
class Outcome:
    """How the child ended. ``exit_code`` is negative when a signal killed it."""

    exit_code: int
    started: float
    ended: float
    interrupted_by: int | None = None


def _pump(source: IO[bytes], sink: IO[bytes], log: IO[bytes] | None, lock: threading.Lock) -> None:
    read = os.read
    fd = source.fileno()
    while True:
        chunk = read(fd, 65536)
        if not chunk:
            break
        try:
            sink.write(chunk)
            sink.flush()
        except (OSError, ValueError):
            pass  # the terminal went away; keep draining so the child never blocks
        if log is not None:
            with lock:
                log.write(chunk)
    source.close()


class _Interrupts:
    """While the child runs, turns mlrun's first SIGINT/SIGTERM into an escalation thread.

    The main thread blocks in ``wait()`` (no polling latency); the handler only starts the
    thread that forwards the signal, then SIGTERM, then SIGKILL, each after its timeout.
    """

    def __init__(self, timeouts: tuple[float, float, float]) -> None:
        self.signum: int | None = None
        self._timeouts = timeouts
        self._proc: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Escalate against this child (a signal that came earlier is acted on now)."""
        self._proc = proc
        if self.signum is not None:
            self._start_escalation()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if self._proc is not None:
                self._start_escalation()

    def _start_escalation(self) -> None:
        threading.Thread(target=self._escalate, name="mlrun-interrupt", daemon=True).start()

    def _escalate(self) -> None:
        proc = self._proc
        assert proc is not None  # noqa: S101 - started only once a child exists
        grace, interrupt_timeout, terminate_timeout = self._timeouts
        forward = self.signum or signal.SIGINT
        steps: list[tuple[float, Callable[[], None]]] = [
            (grace, lambda: proc.send_signal(forward)),
            (interrupt_timeout, proc.terminate),
            (terminate_timeout, proc.kill),
        ]
        for delay, action in steps:
            try:
                proc.wait(timeout=delay)
                return
            except subprocess.TimeoutExpired:
                action()

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def run_process(request: Request, on_start: Callable[[int], None] | None = None) -> Outcome:
    """Run the request to completion, streaming its output; never raises on child failure."""
    log = request.log_path.open("ab") if request.log_path is not None else None
    lock = threading.Lock()
    started = time.time()
    try:
        with _Interrupts(request.timeouts) as interrupts:
            proc = subprocess.Popen(
                request.argv,
                cwd=request.cwd,
                env=request.env,
                stdin=None,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            interrupts.watch(proc)
            if on_start is not None:
                on_start(proc.pid)
            out_sink = sys.stderr.buffer if request.stdout_to_stderr else sys.stdout.buffer
            assert proc.stdout is not None  # noqa: S101 - PIPE was requested
            assert proc.stderr is not None  # noqa: S101 - PIPE was requested
            pumps = [
                threading.Thread(
                    target=_pump, args=(proc.stdout, out_sink, log, lock), daemon=True
                ),
                threading.Thread(
                    target=_pump, args=(proc.stderr, sys.stderr.buffer, log, lock), daemon=True
                ),
            ]
            for pump in pumps:
                pump.start()
            proc.wait()
            # A grandchild may keep the pipes open after the child exits: don't wait forever.
            for pump in pumps:
                pump.join(PUMP_JOIN_TIMEOUT_S)
            return Outcome(proc.returncode, started, time.time(), interrupts.signum)
    finally:
        if log is not None:
            log.close()
