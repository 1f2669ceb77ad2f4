"""A run's artifact files: safe lookup (no path leaves the run's folder) and previews."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

PREVIEW_BYTES = 256 * 1024
CSV_ROWS = 50
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
               ".gif": "image/gif", ".webp": "image/webp"}  # fmt: skip
TEXT_SUFFIXES = {
    ".txt",
    ".log",
    ".md",
    ".py",
    ".yaml",
    ".yml",
    ".toml",
    ".cfg",
    ".ini",
    ".patch",
    ".diff",
    ".sh",
    ".lock",
    ".json",
    ".csv",
    ".tsv",
    ".html",
    "",
}


def safe_path(root: Path, relative: str) -> Path | None:
    """The file ``relative`` names inside ``root``; None when it escapes or is not a file.

    Refused: absolute paths, ``..`` parts, backslashes, NUL, and symlinks that resolve outside.
    """
    if not relative or "\x00" in relative or "\\" in relative:
        return None
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or any(part in ("..", ".") for part in parts):
        return None
    try:
        base = root.resolve(strict=True)
        target = (root / Path(*parts)).resolve(strict=True)
    except (OSError, RuntimeError, TypeError):
        return None
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


@dataclass(frozen=True)
class Preview:
    """How to show a file: kind (text, json, csv, image, binary) and its content."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    truncated: bool = False
    media_type: str = ""


def read_text(path: Path, limit: int = PREVIEW_BYTES) -> tuple[str, bool] | None:
    """The first ``limit`` bytes as UTF-8 text, and whether there was more; None if binary."""
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    truncated = len(data) > limit
    data = data[:limit]
    if b"\x00" in data:
        return None
    return data.decode("utf-8", errors="replace"), truncated


def preview(path: Path) -> Preview:
    """A preview of one artifact file."""
    suffix = path.suffix.lower()
    if suffix in IMAGE_TYPES:
        return Preview("image", media_type=IMAGE_TYPES[suffix])
    read = read_text(path)
    if read is None:
        return Preview("binary")
    text, truncated = read
    if suffix == ".json" and not truncated:
        try:
            return Preview("json", json.dumps(json.loads(text), indent=2, ensure_ascii=False))
        except ValueError:
            return Preview("text", text, truncated=truncated)
    if suffix in (".csv", ".tsv"):
        reader = csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
        rows: list[tuple[str, ...]] = []
        try:
            for row in reader:
                rows.append(tuple(row))
                if len(rows) > CSV_ROWS:
                    break
        except csv.Error:
            return Preview("text", text, truncated=truncated)
        return Preview("csv", rows=tuple(rows[:CSV_ROWS]), truncated=len(rows) > CSV_ROWS)
    if suffix in (".patch", ".diff"):
        return Preview("diff", text, truncated=truncated)
    return Preview("text", text, truncated=truncated)


def diff_lines(text: str) -> list[tuple[str, str]]:
    """A unified diff as (css class, line) pairs."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---", "diff ", "index ")):
            kind = "meta"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = ""
        lines.append((kind, line))
    return lines
