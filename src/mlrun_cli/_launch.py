"""Child processes that die with mlrun: on Linux a tiny launcher arms ``PR_SET_PDEATHSIG``
(SIGKILL) and then becomes the program (same pid), so a SIGKILLed mlrun takes along the
installers and git processes it started instead of leaving them writing into its caches."""

from __future__ import annotations

import os
import sys

# Runs as ``python -I -S -c LAUNCHER PARENT_PID ARGV...``: arm the death signal, make sure the
# parent did not die before it was armed, then become the installer (same pid, same group).
LAUNCHER = """
import os, sys
try:
    import ctypes, signal
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
except (ImportError, OSError, AttributeError):
    pass  # no ctypes: the process group kill and the next build's sweep still apply
if os.getppid() != int(sys.argv[1]):
    os._exit(137)
try:
    os.execvp(sys.argv[2], sys.argv[2:])
except OSError as exc:
    print(f"cannot run {sys.argv[2]!r}: {exc.strerror}", flush=True)
    os._exit(127)
"""
CANNOT_RUN = 127


def launch_argv(argv: list[str]) -> list[str]:
    """``argv`` wrapped so that the process dies with mlrun (Linux; unchanged elsewhere)."""
    if not sys.platform.startswith("linux"):
        return argv
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, str(os.getpid()), *argv]
