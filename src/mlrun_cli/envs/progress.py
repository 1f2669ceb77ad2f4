"""Installer output (uv's or pip's) -> short status lines, as the phases happen.

uv, with its output not a terminal, prints one line per phase (``Resolved 45 packages in
1.2s``, ``Downloading numpy (16.1MiB)``, ``Prepared ...``, ``Installed ...``) and `` + name==1.0``
per installed package; pip prints ``Collecting``, ``Downloading ... (16.3 MB)``, ``Installing
collected packages`` and ``Successfully installed a-1 b-2``. Status lines stay short: a
terminal shows them after the build's title, then the elapsed time, and all of it must fit
in 80 columns (names are cut at 16 characters; no status is longer than 40).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

_UV_PHASE = re.compile(r"^(Resolved|Prepared|Installed|Uninstalled|Audited) (\d+) packages?\b")
_UV_DOWNLOADING = re.compile(r"^Downloading (\S+) \(([\d.]+)([KMG]i?B)\)")
_UV_COMPILED = re.compile(r"^Bytecode compiled (\d+) files?")
_UV_ADDED = re.compile(r"^ \+ ([A-Za-z0-9][\w.-]*)==(\S+)")
_PIP_COLLECTING = re.compile(r"^Collecting (\S+)")
_PIP_DOWNLOADING = re.compile(r"^\s*Downloading (\S+) \(([\d.]+) ([kMG]?B)\)")
_PIP_INSTALLING = re.compile(r"^Installing collected packages: (.*)$")
_PIP_INSTALLED = re.compile(r"^Successfully installed (.*)$")
_UNITS = {"B": 1, "kB": 1e3, "KiB": 1024, "MB": 1e6, "MiB": 1024**2, "GB": 1e9, "GiB": 1024**3}
_NEXT = {"Resolved": "downloading", "Prepared": "installing", "Installed": "done"}


def human_bytes(size: float) -> str:
    """``16.1MiB``-style sizes, as uv prints them."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}{unit}"
    return f"{size:.0f}B"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


class InstallProgress:
    """Feed it the installer's lines; it calls ``step`` with a status line at each phase and
    remembers what was installed (``installed``: name -> version)."""

    def __init__(self, step: Callable[[str], None]) -> None:
        self._step = step
        self._downloaded = 0.0
        self._collected = 0
        self.installed: dict[str, str] = {}

    def __call__(self, line: str) -> None:
        """One line of installer output."""
        if added := _UV_ADDED.match(line):
            self.installed[added.group(1)] = added.group(2)
        elif phase := _UV_PHASE.match(line):
            word, count = phase.group(1), int(phase.group(2))
            after = _NEXT.get(word)
            status = f"{word.lower()} {_plural(count, 'package')}"
            if word == "Prepared" and self._downloaded:  # the downloads' total, where it fits
                total = f"{status}, {human_bytes(self._downloaded)}"
                status = total if len(f"{total}, {after}") <= 40 else status
            self._step(f"{status}, {after}" if after and after != "done" else status)
        elif downloading := _UV_DOWNLOADING.match(line) or _PIP_DOWNLOADING.match(line):
            size = float(downloading.group(2)) * _UNITS.get(downloading.group(3), 1)
            self._downloaded += size
            name = re.split(r"-\d", downloading.group(1).rsplit("/", 1)[-1])[0][:16]
            self._step(f"downloading {name} ({human_bytes(size)})")  # this package's size
        elif compiled := _UV_COMPILED.match(line):
            self._step(f"compiled {compiled.group(1)} files")
        elif collecting := _PIP_COLLECTING.match(line):
            self._collected += 1
            self._step(f"collecting {collecting.group(1)[:16]} (#{self._collected})")
        elif installing := _PIP_INSTALLING.match(line):
            count = len(installing.group(1).split(","))
            self._step(f"installing {_plural(count, 'package')}")
        elif done := _PIP_INSTALLED.match(line):
            for item in done.group(1).split():
                name, _, version = item.rpartition("-")
                if name:
                    self.installed[name] = version
