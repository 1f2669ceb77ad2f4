"""The output relay: copies the job's stdout and stderr to mlrun's terminal and the output log.

A process of its own, in a session of its own, started by ``start`` for ``process.run_process``:
forked from mlrun (a millisecond) when mlrun has no other thread, else run as
``python -I -S relay.py LOG OUT_FD ERR_FD READ_OUT READ_ERR``. It holds the read ends of the
job's pipes, so the job never writes into a pipe whose reader died: if mlrun itself is killed,
the job keeps running, its output keeps reaching the log (every chunk is written through at
once), and the relay exits when the last process of the job closes its output. Standard
library only, and nothing imported from mlrun (it also runs as a script).
"""

from __future__ import annotations

import contextlib
import os
import select
import selectors
import signal
import subprocess
import sys
import threading


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _FinishError(Exception):
    """SIGTERM from mlrun: copy what is already in the pipes, then stop."""


def _finish(_signum: int, _frame: object) -> None:
    raise _FinishError


class _Copier:
    def __init__(self, log_path: str, targets: dict[int, int]) -> None:
        self.log = (
            os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if log_path else None
        )
        self.targets = targets
        self.open_targets = {fd for fd in targets.values() if fd >= 0}  # -1: the log only

    def copy(self, source: int, chunk: bytes) -> None:
        target = self.targets[source]
        if target in self.open_targets:
            try:
                _write_all(target, chunk)
            except OSError:
                self.open_targets.discard(target)  # the terminal went away; keep logging
        if self.log is not None:
            try:
                _write_all(self.log, chunk)
            except OSError:
                self.log = None  # disk full: keep the job's output flowing, stop logging


def main(argv: list[str]) -> None:
    """Copy until both pipes reach end of file; a terminal that goes away is just dropped.

    On SIGTERM (a background process of the job holds the pipes open past mlrun's bound),
    copy what the pipes already hold and stop.
    """
    log_path, out_fd, err_fd, read_out, read_err = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is mlrun's to relay, not ours
    copier = _Copier(log_path, {int(read_out): int(out_fd), int(read_err): int(err_fd)})
    selector = selectors.DefaultSelector()
    for source in copier.targets:
        selector.register(source, selectors.EVENT_READ)
    signal.signal(signal.SIGTERM, _finish)
    try:
        while selector.get_map():
            for key, _ in selector.select():
                source = int(key.fd)
                chunk = os.read(source, 65536)
                if chunk:
                    copier.copy(source, chunk)
                else:
                    selector.unregister(source)
                    os.close(source)
    except _FinishError:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for key in list(selector.get_map().values()):
            source = int(key.fd)
            os.set_blocking(source, False)
            try:
                while chunk := os.read(source, 65536):
                    copier.copy(source, chunk)
            except BlockingIOError:
                pass


class Relay:
    """A started relay: its pid and a pipe that reaches end of file when it exits."""

    def __init__(self, pid: int, done: int, popen: subprocess.Popen[bytes] | None) -> None:
        self.pid = pid
        self._done = done
        self._popen = popen
        self._reaped = False

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the relay ended within ``timeout`` seconds (None: wait as long as it takes)."""
        if not self._reaped:
            if not select.select([self._done], [], [], timeout)[0]:
                return False
            if self._popen is not None:
                self._popen.wait()
            else:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(self.pid, 0)
            os.close(self._done)
            self._reaped = True
        return True

    def signal(self, signum: int) -> None:
        """Send a signal (SIGTERM: copy what the pipes hold, then stop)."""
        if not self._reaped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)


def _only_fds(keep: set[int]) -> None:
    """In the forked relay: close every descriptor it does not need (mlrun's store, files)."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (OSError, ValueError):
        limit = 1024
    previous = 2
    for fd in sorted(fd for fd in keep if fd > 2):
        os.closerange(previous + 1, fd)
        previous = fd
    os.closerange(previous + 1, max(limit, previous + 1))


def start(log_path: str, out_target: int, err_target: int) -> tuple[Relay, int, int]:
    """Start a relay; return it and the write ends of the job's stdout and stderr pipes."""
    out_read, out_write = os.pipe()
    err_read, err_write = os.pipe()
    done_read, done_write = os.pipe()
    argv = [log_path, str(out_target), str(err_target), str(out_read), str(err_read)]
    popen = None
    try:
        # fork() with other threads alive may deadlock the child (and Python 3.12+ warns):
        # then pay for a fresh interpreter instead.
        if hasattr(os, "fork") and threading.active_count() == 1:
            pid = os.fork()
            if pid == 0:  # the relay; it must never return into mlrun's code
                code = 1
                try:
                    os.setsid()
                    _only_fds({out_read, err_read, done_write})
                    main(argv)
                    code = 0
                finally:
                    os._exit(code)
        else:
            popen = subprocess.Popen(
                [sys.executable, "-I", "-S", __file__, *argv],
                stdin=subprocess.DEVNULL,
                pass_fds=(out_read, err_read, done_write),
                start_new_session=True,  # outlives mlrun; the terminal's Ctrl-C is not for it
            )
            pid = popen.pid
    except BaseException:
        for fd in (out_write, err_write, done_read):
            os.close(fd)
        raise
    finally:
        for fd in (out_read, err_read, done_write):
            os.close(fd)
    return Relay(pid, done_read, popen), out_write, err_write


if __name__ == "__main__":
    main(sys.argv[1:])
