"""Run one child process: stream and tee its output, relay interrupts, report the outcome.

The child runs in its own process group, so that a signal reaches the whole job (bash and the
programs it starts), exactly once. mlrun relays the first SIGINT/SIGTERM it receives (a terminal
Ctrl-C reaches mlrun only) to the child's group, then, if the job is still running, SIGTERM after
INTERRUPT_TIMEOUT_S (time to save a checkpoint) and SIGKILL after TERMINATE_TIMEOUT_S more. A
second Ctrl-C skips straight to SIGKILL. A child in a background group must not read the
terminal (it would be stopped), so a terminal stdin is replaced by /dev/null; piped stdin is
passed through.
"""

from __future__ import annotations

import contextlib
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

INTERRUPT_TIMEOUT_S = 10.0
TERMINATE_TIMEOUT_S = 5.0
PUMP_JOIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Request:
    """What to run: argv, where, with which environment, and where to tee the output."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    log_path: Path | None = None
    stdout_to_stderr: bool = False
    echo: bool = True  # False: the output goes to the log only (a sweep's parallel trials)
    timeouts: tuple[float, float] = field(default=(INTERRUPT_TIMEOUT_S, TERMINATE_TIMEOUT_S))


@dataclass(frozen=True)
class Outcome:
    """How the child ended. ``exit_code`` is negative when a signal killed it."""

    exit_code: int
    started: float
    ended: float
    interrupted_by: int | None = None


def _pump(
    source: IO[bytes], sink: IO[bytes] | None, log: IO[bytes] | None, lock: threading.Lock
) -> None:
    read = os.read
    fd = source.fileno()
    sink_open = sink is not None
    while True:
        chunk = read(fd, 65536)
        if not chunk:
            break
        if sink_open:
            assert sink is not None  # noqa: S101 - sink_open implies a sink
            try:
                sink.write(chunk)
                sink.flush()
            except (OSError, ValueError):
                sink_open = False  # the terminal or pipe went away; keep draining the child
        if log is not None:
            with lock:
                if not log.closed:  # closed when mlrun stopped waiting for a lingering pipe
                    log.write(chunk)
    source.close()


class _Interrupts:
    """Relays mlrun's SIGINT/SIGTERM to the child's process group, escalating in a thread."""

    def __init__(self, timeouts: tuple[float, float]) -> None:
        self.signum: int | None = None
        self._timeouts = timeouts
        self._proc: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}
        self._lock = threading.Lock()
        self._escalating = False
        self._force = threading.Event()

    def watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Relay to this child from now on (a signal that came earlier is relayed now)."""
        with self._lock:
            self._proc = proc
        if self.signum is not None:
            self._start()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
        else:
            self._force.set()  # a second signal: stop waiting politely
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._proc is None or self._escalating:
                return
            self._escalating = True
        threading.Thread(target=self._escalate, name="mlrun-interrupt", daemon=True).start()

    def _signal_group(self, signum: int) -> None:
        proc = self._proc
        assert proc is not None  # noqa: S101 - escalation starts only once a child exists
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signum)

    def _escalate(self) -> None:
        interrupt_timeout, terminate_timeout = self._timeouts
        self._signal_group(self.signum or signal.SIGINT)
        steps = ((interrupt_timeout, signal.SIGTERM), (terminate_timeout, signal.SIGKILL))
        for delay, signum in steps:
            if self._wait(delay):
                return
            self._signal_group(signal.SIGKILL if self._force.is_set() else signum)

    def _wait(self, delay: float) -> bool:
        """Whether the child ended within ``delay`` (cut short by a second signal)."""
        proc = self._proc
        assert proc is not None  # noqa: S101 - see _signal_group
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self._force.is_set():
            if proc.poll() is not None:
                return True
            time.sleep(0.05)
        return proc.poll() is not None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        else:
            WORKER_INTERRUPTS.enter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        WORKER_INTERRUPTS.leave(self)


class WorkerInterrupts:
    """Signals for children started from worker threads (a sweep's parallel trials).

    Only the main thread receives signals; it hands them on with :meth:`interrupt`, and each
    child then goes through the same relay and escalation as a foreground one (its run ends
    KILLED). Once interrupted, children started afterwards are interrupted at once, until
    :meth:`reset`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: set[_Interrupts] = set()
        self.signum: int | None = None

    def interrupt(self, signum: int) -> None:
        """Relay ``signum`` to every worker child (again: straight to SIGKILL)."""
        with self._lock:
            self.signum = self.signum or signum
            active = list(self._active)
        for interrupts in active:
            interrupts._handle(signum, None)

    def reset(self) -> None:
        """Forget an earlier interrupt (a new sweep starts)."""
        with self._lock:
            self.signum = None

    def enter(self, interrupts: _Interrupts) -> None:
        """A worker child is about to start."""
        with self._lock:
            self._active.add(interrupts)
            signum = self.signum
        if signum is not None:
            interrupts._handle(signum, None)

    def leave(self, interrupts: _Interrupts) -> None:
        """A worker child has ended."""
        with self._lock:
            self._active.discard(interrupts)


WORKER_INTERRUPTS = WorkerInterrupts()


def _stdin() -> int | None:
    try:
        return subprocess.DEVNULL if os.isatty(sys.stdin.fileno()) else None
    except (AttributeError, OSError, ValueError):
        return subprocess.DEVNULL


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
                stdin=_stdin(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,  # its own process group (and no controlling tty)
            )
            interrupts.watch(proc)
            if on_start is not None:
                on_start(proc.pid)
            out_sink = sys.stderr.buffer if request.stdout_to_stderr else sys.stdout.buffer
            sinks = (out_sink, sys.stderr.buffer) if request.echo else (None, None)
            assert proc.stdout is not None  # noqa: S101 - PIPE was requested
            assert proc.stderr is not None  # noqa: S101 - PIPE was requested
            pumps = [
                threading.Thread(target=_pump, args=(source, sink, log, lock), daemon=True)
                for source, sink in zip((proc.stdout, proc.stderr), sinks, strict=True)
            ]
            for pump in pumps:
                pump.start()
            proc.wait()
            # A background grandchild may keep the pipes open: wait a little, not forever.
            deadline = time.monotonic() + PUMP_JOIN_TIMEOUT_S
            for pump in pumps:
                pump.join(max(0.0, deadline - time.monotonic()))
            return Outcome(proc.returncode, started, time.time(), interrupts.signum)
    finally:
        if log is not None:
            with lock:
                log.close()
