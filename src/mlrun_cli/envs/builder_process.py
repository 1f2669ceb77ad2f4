"""Installer processes (uv, pip) that never outlive the build that started them.

A SIGKILLed mlrun cannot clean up, so three mechanisms work together:

- each installer runs in its own process group, killed whole when the build ends any other
  way than success (an exception, Ctrl-C, SIGTERM);
- on Linux, a tiny launcher sets ``PR_SET_PDEATHSIG`` (SIGKILL) before exec'ing the installer,
  so the kernel kills it the moment mlrun dies, even by SIGKILL;
- every installer carries ``MLRUN_ENV_BUILD=KEY`` in its environment and its group id is
  written to ``KEY.builder``: the next build of the same env, holding the build lock, kills
  whatever tagged process is left in that group (an installer's own children, which the
  death signal does not reach) and waits for it before it touches the folder.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from mlrun_cli.errors import EnvError

TAG = "MLRUN_ENV_BUILD"
STALE_WAIT_S = 10.0


def kill_group(pgid: int) -> None:
    """SIGKILL a process group (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _tagged_members(pgid: int, key: str) -> list[int]:
    """Live processes of group ``pgid`` that carry this build's tag (Linux /proc)."""
    tag = f"{TAG}={key}".encode()
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":  # pgrp; zombies hold nothing
                continue
            if tag in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def stop_stale_builders(holder: Path, key: str) -> None:
    """Kill (and wait for) installers a dead build of ``key`` left running.

    Called with the build lock held, before the env folder is removed or rebuilt. Only
    processes tagged with this key are touched: a recycled group id is never a target.
    """
    try:
        pgid = int(holder.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + STALE_WAIT_S
    while members := _tagged_members(pgid, key):
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if time.monotonic() > deadline:
            raise EnvError(
                f"an earlier build of environment {key} is still running (pids "
                f"{', '.join(map(str, members))}) and could not be stopped"
            )
        time.sleep(0.05)
    holder.unlink(missing_ok=True)
