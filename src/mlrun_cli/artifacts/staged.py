"""What a client's staging folder holds beyond its files: symlinks that lead out of it."""

from __future__ import annotations

import os
from pathlib import Path

from mlrun_cli.artifacts.run import PARTIAL_DIR


def outside_links(folder: Path) -> list[str]:
    """The symlinks under ``folder`` (relative, sorted) whose target is not a file inside it
    (elsewhere on the machine, or dangling): a staged run's files leave them out."""
    try:
        base = os.path.realpath(folder, strict=True)
    except OSError:
        return []
    found = []
    for top, folders, names in os.walk(base):
        shown = Path(top).relative_to(base)
        if shown.as_posix() == PARTIAL_DIR:
            folders.clear()
            continue
        for name in [*names, *folders]:
            path = Path(top, name)
            if not path.is_symlink():
                continue
            target = os.path.realpath(path)
            inside = target.startswith(base.rstrip("/") + "/") and Path(target).is_file()
            if not inside and not (name in folders and target.startswith(base + "/")):
                found.append((shown / name).as_posix())
    return sorted(found)
