"""Small file-writing helpers shared by every module that keeps metadata on disk."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temp file in the same folder and rename: readers never see half a file,
    and concurrent writers of the same content simply replace each other."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
