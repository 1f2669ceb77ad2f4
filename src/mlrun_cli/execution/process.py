"""Run one child process: stream and tee its output, relay interrupts, report the outcome.

The child runs in its own process group, so that a signal reaches the whole job (bash and the
programs it starts), exactly once. mlrun relays the first SIGINT/SIGTERM it receives (a terminal
Ctrl-C reaches mlrun only) to the child's group, then, while any process of the group is left,
SIGTERM after INTERRUPT_TIMEOUT_S (time to save a checkpoint) and SIGKILL after
TERMINATE_TIMEOUT_S more. A second Ctrl-C skips straight to SIGKILL. The job's output goes
through a relay process (relay.py) that outlives mlrun, so killing mlrun kills neither the job
nor its log. A child in a background group must not read the
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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun_cli.errors import Terminated
from mlrun_cli.execution.relay import Relay
from mlrun_cli.execution.relay import start as start_relay
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType

INTERRUPT_TIMEOUT_S = 10.0
TERMINATE_TIMEOUT_S = 5.0
_HAS_PROC = Path("/proc/self/stat").exists()
TREE_SIGNAL_S = 0.5  # an entry point killed by SIGINT/SIGTERM: how long mlrun's copy may lag
LINGER_S = 5.0  # how long the job's other processes may go on logging after the entry point


class Request(Record):
    """What to run: argv, where, with which environment, and where to tee the output."""

    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str]
    log_path: Path | None = None
    stdout_to_stderr: bool = False
    echo: bool = True  # False: the output goes to the log only (a sweep's parallel trials)
    timeouts: tuple[float, float] = (INTERRUPT_TIMEOUT_S, TERMINATE_TIMEOUT_S)


class Outcome(Record):
    """How the child ended. ``exit_code`` is negative when a signal killed it."""

    exit_code: int
    started: float
    ended: float
    interrupted_by: int | None = None
    lingering: tuple[int, ...] = ()  # the job's processes still running after the entry point


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group still runs (zombies left to an init that does
    not reap them, as in some containers, do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _HAS_PROC or bool(group_members(pgid))


def group_members(pgid: int) -> list[int]:
    """The pids of a process group's members (Linux /proc; empty where it cannot tell)."""
    members = []
    for entry in Path("/proc").iterdir() if _HAS_PROC else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return sorted(members)


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
        self._thread: threading.Thread | None = None
        self.late_signals = 0
        self._undecided: int | None = None

    def watch(self, proc: subprocess.Popen[bytes]) -> None:
        """Relay to this child from now on (a signal that came earlier is relayed now)."""
        with self._lock:
            self._proc = proc
        if self.signum is not None:
            self._start()

    def _child_ended(self, signum: int) -> bool | None:
        """Whether the entry point has already exited other than by ``signum`` (peek, never
        reap); None when it was reaped and its status is not known yet. A process tree
        stopped at once (Ray's job stop, ``scancel``, ``kill -- -PGID``) signals the entry
        point and mlrun together, in any order: that is an interrupt, not a late signal."""
        proc = self._proc
        if proc is None:
            return False
        if proc.returncode is not None:
            return proc.returncode != -signum
        try:
            info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return None  # reaped this instant by proc.wait(): decided once its code is known
        if info is None:
            return False
        return not (info.si_code in (os.CLD_KILLED, os.CLD_DUMPED) and info.si_status == signum)

    def settle(self, returncode: int) -> None:
        """Once the entry point's exit code is known: decide a signal that came as it was
        reaped, and give mlrun's own copy of a signal that stopped the whole tree a moment
        (it may land just after the exit)."""
        undecided, self._undecided = self._undecided, None
        if undecided is not None:
            self._interrupt_or_late(undecided, returncode != -undecided)
        deadline = time.monotonic() + TREE_SIGNAL_S
        while self.signum is None and -returncode in (signal.SIGINT, signal.SIGTERM):
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        ended = self._child_ended(signum) if self.signum is None else False
        if ended is None:
            self._undecided = signum
            return
        self._interrupt_or_late(signum, ended)

    def _interrupt_or_late(self, signum: int, late: bool) -> None:
        if late:
            # After the entry point's exit a signal does not interrupt it: it only reaches
            # what is left of the job and stops waiting for it (see _linger).
            self.late_signals += 1
            self._signal_group(signum)
            return
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
            self._thread = threading.Thread(
                target=self._escalate, name="mlrun-interrupt", daemon=True
            )
        self._thread.start()

    def _signal_group(self, signum: int) -> None:
        # The whole group, even once bash is gone: `cmd &` jobs outlive it, with SIGINT ignored.
        proc = self._proc
        assert proc is not None  # noqa: S101 - escalation starts only once a child exists
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
        """Whether the job's whole process group ended within ``delay`` (cut short by a
        second signal)."""
        proc = self._proc
        assert proc is not None  # noqa: S101 - see _signal_group
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not self._force.is_set():
            if not group_alive(proc.pid):
                return True
            time.sleep(0.05)
        return not group_alive(proc.pid)

    def finish(self) -> None:
        """Wait for a started escalation to end (the group is empty or was sent SIGKILL)."""
        thread = self._thread
        if thread is not None:
            thread.join()

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


def _linger(
    proc: subprocess.Popen[bytes], relay: Relay, interrupts: _Interrupts
) -> tuple[int, ...]:
    """After the entry point exits, wait (up to LINGER_S, or until a signal) for the rest of
    its process group and for its output; return the pids still running then (left alone)."""
    deadline = time.monotonic() + LINGER_S
    while group_alive(proc.pid) and time.monotonic() < deadline and not interrupts.late_signals:
        time.sleep(0.05)
    if not relay.wait(0.0 if interrupts.late_signals else max(0.0, deadline - time.monotonic())):
        relay.signal(signal.SIGTERM)  # a background process holds the pipes: copy what is
        relay.wait()  # there, then stop
    return tuple(group_members(proc.pid)) if group_alive(proc.pid) else ()


def run_process(
    request: Request,
    on_start: Callable[[int], None] | None = None,
    on_exit: Callable[[int], None] | None = None,
) -> Outcome:
    """Run the request to completion, streaming its output; never raises on child failure.

    ``on_exit`` is called with the exit code as soon as the entry point has ended (signals
    from then on no longer interrupt it: the caller decides what they mean).
    """
    if request.log_path is not None:
        request.log_path.touch()
    started = time.time()
    with _Interrupts(request.timeouts) as interrupts:
        out_target = 2 if request.stdout_to_stderr else 1
        err_target = 2
        if not request.echo:  # a sweep's parallel trial: its output goes to its log only
            out_target = err_target = -1
        relay, out_write, err_write = start_relay(
            str(request.log_path or ""), out_target, err_target
        )
        try:
            proc = subprocess.Popen(
                request.argv,
                cwd=request.cwd,
                env=request.env,
                stdin=_stdin(),
                stdout=out_write,
                stderr=err_write,
                start_new_session=True,  # its own process group (and no controlling tty)
            )
        except BaseException:
            relay.signal(signal.SIGKILL)
            raise
        finally:
            os.close(out_write)
            os.close(err_write)
        interrupts.watch(proc)
        if on_start is not None:
            on_start(proc.pid)
        proc.wait()
        interrupts.settle(proc.returncode)
        interrupted_by = interrupts.signum  # a signal from now on comes after the exit
        if on_exit is not None:
            on_exit(proc.returncode)
        if interrupted_by is not None:
            interrupts.finish()  # the escalation goes on until the whole group is gone
        lingering = _linger(proc, relay, interrupts)
        return Outcome(proc.returncode, started, time.time(), interrupted_by, lingering)


class LateSignals:
    """Once the entry point has exited, a first SIGINT/SIGTERM no longer interrupts mlrun: the
    run's status follows the entry point's exit code and what it logged is recorded. A second
    one stops recording and leaves the rest to the next mlrun command."""

    def __init__(self, warn: Callable[[str], None]) -> None:
        self.exited = False
        self._warn = warn
        self._signals = 0
        self._previous: dict[int, object] = {}

    def child_exited(self, _exit_code: int) -> None:
        """Called by run_process as soon as the entry point has ended."""
        self.exited = True

    def _handle(self, signum: int, _frame: object) -> None:
        self._signals += 1
        if not self.exited or self._signals > 1:
            raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        self._warn(
            "the entry point has ended; recording what it logged (interrupt again to leave "
            "that to the next mlrun command)"
        )

    def __enter__(self) -> LateSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
