"""The output relay: copies the job's stdout and stderr to mlrun's terminal and the output log.

Run as its own small process (``python -I -S relay.py LOG OUT_FD ERR_FD READ_OUT READ_ERR``),
in a session of its own, by ``process.run_process``. It holds the read ends of the job's pipes,
so the job never writes into a pipe whose reader died: if mlrun itself is killed, the job keeps
running, its output keeps reaching the log (every chunk is written through at once), and the
relay exits when the last process of the job closes its output. Standard library only, and
nothing imported from mlrun: ``-S`` keeps its start-up to a few milliseconds.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys


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
        self.open_targets = set(targets.values())

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


if __name__ == "__main__":
    main(sys.argv[1:])
