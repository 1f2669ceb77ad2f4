"""``.mlrunignore``: gitignore-style patterns for the content hash of a non-git project folder.

Supported: blank lines and ``#`` comments, ``*`` / ``?`` / ``[...]`` / ``**`` globs, a leading
``/`` anchoring to the folder, a trailing ``/`` matching folders only, and ``!`` re-including.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from pathlib import Path

IGNORE_FILE = ".mlrunignore"


class _Rule(Record):
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool


def _glob_to_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out.append(re.escape(char))
            else:
                out.append(pattern[i : end + 1])
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


class IgnoreRules:
    """Patterns read from a folder's ``.mlrunignore`` (empty when there is none)."""

    def __init__(self, lines: list[str]) -> None:
        self._rules: list[_Rule] = []
        for raw in lines:
            line = raw.rstrip("\n").rstrip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line[1:] if negate else line
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = line.startswith("/") or "/" in line
            body = _glob_to_regex(line.lstrip("/"))
            prefix = "^" if anchored else "^(?:.*/)?"
            self._rules.append(_Rule(re.compile(prefix + body + "$"), negate, dir_only))

    @classmethod
    def for_folder(cls, folder: Path) -> IgnoreRules:
        """The folder's rules."""
        try:
            return cls((folder / IGNORE_FILE).read_text().splitlines())
        except OSError:
            return cls([])

    def ignored(self, relative: str, is_dir: bool) -> bool:
        """Whether a path (relative, '/'-separated) is excluded; the last matching rule wins."""
        result = False
        for rule in self._rules:
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.match(relative):
                result = not rule.negate
        return result
