"""Find a Python interpreter for a version request. Interpreters are found, never downloaded.

Places searched: the interpreter running mlrun, ``python3.X`` / ``python3`` / ``python`` on
PATH, pyenv's installed versions (``$PYENV_ROOT/versions/*``) and uv's installed interpreters
(``uv python dir``, default ``~/.local/share/uv/python``). Versions are read from directory
names where the layout fixes them (pyenv, uv) and asked of the interpreter otherwise, with the
answer cached by path and modification time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mlrun_cli import paths
from mlrun_cli._files import write_text_atomic
from mlrun_cli.errors import EnvError

_PROBE = "import sys, platform; print(platform.python_version(), sys.implementation.name)"
_VERSION_DIR = re.compile(r"^(\d+\.\d+\.\d+)$")
_UV_DIR = re.compile(r"^(cpython|pypy)-(\d+\.\d+\.\d+)(?:[+-]|$)")


@dataclass(frozen=True)
class Interpreter:
    """A Python executable and its full version (``3.11.7``)."""

    path: Path
    version: str
    implementation: str = "cpython"

    @property
    def version_tuple(self) -> tuple[int, ...]:
        """The version as integers, for ordering."""
        return tuple(int(part) for part in self.version.split("."))


def current() -> Interpreter:
    """The interpreter running mlrun."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Interpreter(Path(sys.executable), version, sys.implementation.name)


def matches(version: str, wanted: str) -> bool:
    """``3.11.7`` matches ``3.11`` and ``3.11.7``, not ``3.1``."""
    return version == wanted or version.startswith(wanted + ".")


def _pyenv_candidates() -> list[Interpreter]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = []
    for entry in sorted(root.glob("*")) if root.is_dir() else []:
        match = _VERSION_DIR.match(entry.name)
        exe = entry / "bin" / "python3"
        if match and exe.exists():
            found.append(Interpreter(exe, match.group(1)))
    return found


def _uv_candidates() -> list[Interpreter]:
    explicit = os.environ.get("UV_PYTHON_INSTALL_DIR")
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    root = Path(explicit) if explicit else Path(data) / "uv" / "python"
    found = []
    for entry in sorted(root.glob("*")) if root.is_dir() else []:
        match = _UV_DIR.match(entry.name)
        exe = entry / "bin" / "python3"
        if match and exe.exists():
            found.append(Interpreter(exe, match.group(2), match.group(1)))
    return found


def _probe_cache() -> Path:
    return paths.cache_dir() / "interpreters.json"


def _probe(paths_to_probe: list[Path]) -> list[Interpreter]:
    """Ask each executable its version, caching by (path, mtime)."""
    cache_file = _probe_cache()
    try:
        cache: dict[str, list[str]] = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    found, changed = [], False
    for exe in paths_to_probe:
        try:
            stamp = f"{exe}:{exe.stat().st_mtime_ns}"
        except OSError:
            continue
        if stamp not in cache:
            try:
                out = subprocess.run(
                    [str(exe), "-I", "-c", _PROBE], capture_output=True, text=True, timeout=10,
                    check=False,
                )  # fmt: skip
            except (OSError, subprocess.TimeoutExpired):
                continue
            parts = out.stdout.split()
            if out.returncode != 0 or len(parts) != 2:
                continue
            cache[stamp], changed = parts, True
        version, implementation = cache[stamp]
        found.append(Interpreter(exe, version, implementation))
    if changed:
        write_text_atomic(cache_file, json.dumps(cache))
    return found


def _path_candidates(wanted: str | None) -> list[Path]:
    names = ["python3", "python"]
    if wanted and wanted.count(".") >= 1:
        names.insert(0, "python" + ".".join(wanted.split(".")[:2]))
    seen: set[Path] = set()
    found = []
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        # pyenv shims fail for versions that are not selected; pyenv's dirs are read directly.
        if not directory or "shims" in Path(directory).parts:
            continue
        for name in names:
            exe = Path(directory) / name
            if exe.is_file() and os.access(exe, os.X_OK):
                real = exe.resolve()
                if real not in seen:
                    seen.add(real)
                    found.append(exe)
    return found


def discover(wanted: str | None = None) -> list[Interpreter]:
    """Every interpreter found, best first (newest version first, then search order)."""
    found = [current(), *_pyenv_candidates(), *_uv_candidates()]
    found += _probe(_path_candidates(wanted))
    unique: dict[tuple[Path, str], Interpreter] = {}
    for interpreter in found:
        unique.setdefault((interpreter.path.resolve(), interpreter.version), interpreter)
    return sorted(unique.values(), key=lambda i: i.version_tuple, reverse=True)


def find_interpreter(wanted: str | None) -> Interpreter:
    """The newest interpreter matching ``wanted`` (None: the one running mlrun)."""
    if wanted is None:
        return current()
    here = current()
    if here.version == wanted:
        return here
    candidates = discover(wanted)
    for interpreter in candidates:
        if interpreter.implementation == "cpython" and matches(interpreter.version, wanted):
            return interpreter
    listing = ", ".join(sorted({i.version for i in candidates}, key=_key, reverse=True))
    raise EnvError(
        f"no Python {wanted} found (searched PATH, pyenv and uv installs; found: {listing})",
        hint=f"install one, e.g. `uv python install {wanted}` or `pyenv install {wanted}`, "
        "or use --env-manager local",
    )


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))
