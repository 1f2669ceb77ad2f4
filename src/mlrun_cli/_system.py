"""Facts about the machine and user recorded with every run."""

from __future__ import annotations

import getpass
import os


def current_user() -> str:
    """The login name, or the numeric uid where there is no passwd entry (containers)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def hostname() -> str:
    """This machine's host name (orphaned runs are only judged on the host that ran them).

    ``os.uname()`` answers what ``gethostname()`` does without importing socket (~5 ms of
    every store command's start)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()
