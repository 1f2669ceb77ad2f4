"""Files a run wrote into the user's git work tree: they make every later run dirty.

MLflow code that still writes locally (``mlflow.set_tracking_uri("file:./mlruns")``, a model
saved to ``model.pkl``) leaves untracked files that the next run's dirty snapshot includes, so
``--reuse`` never hits and ``--dirty refuse`` refuses. After a run, mlrun says which.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

_SHOWN = 5


def files_written_since(repo: Path, since_ms: int, not_code: tuple[Path, ...] = ()) -> list[str]:
    """Untracked, non-ignored files (relative to ``repo``) modified at or after ``since_ms``."""
    from mlrun_cli.source.snapshot import _pathspecs

    result = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--untracked-files=all", "--",
         *_pathspecs(repo, not_code)],
        cwd=repo, capture_output=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        return []
    written = []
    for entry in result.stdout.decode(errors="replace").split("\0"):
        if not entry.startswith("?? "):
            continue
        try:
            modified = (repo / entry[3:]).stat().st_mtime_ns // 1_000_000
        except OSError:
            continue
        if modified >= since_ms:
            written.append(entry[3:])
    return sorted(written)


def stray_files_warning(repo: Path, since_ms: int, not_code: tuple[Path, ...] = ()) -> str | None:
    """The warning for files a run left in the work tree, or None."""
    written = files_written_since(repo, since_ms, not_code)
    if not written:
        return None
    shown = ", ".join(written[:_SHOWN]) + (
        f" (+{len(written) - _SHOWN} more)" if len(written) > _SHOWN else ""
    )
    return (
        f"the run wrote {len(written)} untracked file(s) into {repo}: {shown}; the next run's "
        "dirty snapshot will include them (write them elsewhere, log them as artifacts, or "
        "add them to .gitignore)"
    )
