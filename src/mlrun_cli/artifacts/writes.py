"""Writing a run's files: the errors a write answers with, and the stale partials it sweeps.

Shared by every writer of a run's folder (``FolderArtifacts``, the team server's run-file
endpoints in server/run_files.py, MLflow's artifact endpoint).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from mlrun_cli.errors import StoreError, UsageError

PARTIAL_MAX_AGE = 24 * 3600.0  # a partial this old is a receiver that died: swept


def written_error(relative: str, exc: OSError) -> UsageError | StoreError:
    """A failed write as one message that names the artifact, not this machine's paths: the
    path's fault (a name too long, a file in the way) or the machine's (a full disk)."""
    import errno

    if exc.errno in (errno.ENAMETOOLONG, errno.EISDIR, errno.ENOTDIR, errno.EEXIST):
        return UsageError(f"artifact path {relative!r}: {os.strerror(exc.errno).lower()}")
    reason = os.strerror(exc.errno).lower() if exc.errno else type(exc).__name__
    return StoreError(f"artifact {relative!r} could not be written: {reason}")


def sweep_partials(folder: Path, max_age: float = PARTIAL_MAX_AGE) -> None:
    """Remove the files in ``folder`` (a run's ``_mlrun/.partial``) older than ``max_age``."""
    import time

    cutoff = time.time() - max_age
    try:
        with os.scandir(folder) as scan:
            for entry in scan:
                with contextlib.suppress(OSError):
                    if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        Path(entry.path).unlink()
    except OSError:
        return


class ReplaceRefusedError(UsageError):
    """A write that would change a finished run's file (a server answers 409)."""


def check_replace(relative: str, status: str, *, replacing: bool) -> None:
    """Refuse to change the file ``relative`` of a run that is not RUNNING any more: what it
    recorded (each file's sha256) stays true. A file it does not have yet is welcome (the
    runner uploads right before finishing; ``mlrun sync`` after a lost connection)."""
    if replacing and status != "RUNNING":
        raise ReplaceRefusedError(
            f"artifact {relative!r}: the run is {status} and already has this file with "
            "other bytes; a finished run's files are not replaced"
        )
