"""Previews of a run's artifact files (read through ``TrackingStore.artifacts``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import PurePosixPath

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


@dataclass(frozen=True)
class Preview:
    """How to show a file: kind (text, json, csv, image, binary) and its content."""

    kind: str
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()
    truncated: bool = False
    media_type: str = ""


def read_text(data: bytes, limit: int = PREVIEW_BYTES) -> tuple[str, bool] | None:
    """The first ``limit`` bytes of ``data`` (read with one more) as UTF-8 text, and whether
    there was more; None if binary."""
    truncated = len(data) > limit
    data = data[:limit]
    if b"\x00" in data:
        return None
    return data.decode("utf-8", errors="replace"), truncated


def preview(path: str, head: bytes) -> Preview:
    """A preview of the artifact ``path`` from its first ``PREVIEW_BYTES + 1`` bytes."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in IMAGE_TYPES:
        return Preview("image", media_type=IMAGE_TYPES[suffix])
    read = read_text(head)
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
