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


def main(argv: list[str]) -> None:
    """Copy until both pipes reach end of file; a terminal that goes away is just dropped."""
    log_path, out_fd, err_fd, read_out, read_err = argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is mlrun's to relay, not ours
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if log_path else None
    targets = {int(read_out): int(out_fd), int(read_err): int(err_fd)}
    open_targets = set(targets.values())
    selector = selectors.DefaultSelector()
    for source in targets:
        selector.register(source, selectors.EVENT_READ)
    while selector.get_map():
        for key, _ in selector.select():
            source = int(key.fd)
            chunk = os.read(source, 65536)
            if not chunk:
                selector.unregister(source)
                os.close(source)
                continue
            target = targets[source]
            if target in open_targets:
                try:
                    _write_all(target, chunk)
                except OSError:
                    open_targets.discard(target)  # the terminal or pipe went away; keep logging
            if log is not None:
                try:
                    _write_all(log, chunk)
                except OSError:
                    log = None  # disk full: keep the job's output flowing, stop logging


if __name__ == "__main__":
    main(sys.argv[1:])
