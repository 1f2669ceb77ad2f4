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
import shlex
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


def base_executable(exe: Path) -> Path:
    """The installation's own interpreter for a virtualenv's ``python`` (from its pyvenv.cfg
    ``home``), else ``exe``. Environments are built from the base: the same Python reached
    through mlrun's own venv, pipx or the system shares one cache key, and an environment never
    depends on the virtualenv mlrun happened to be installed in."""
    cfg = exe.parent.parent / "pyvenv.cfg"
    try:
        lines = cfg.read_text(encoding="utf-8").splitlines()
    except OSError:
        return exe
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "home":
            home = Path(value.strip())
            for name in (exe.name, f"python{sys.version_info[0]}", "python"):
                if (home / name).is_file():
                    return home / name
    return exe


def current() -> Interpreter:
    """The interpreter running mlrun (the base installation's, for a virtualenv)."""
    version = ".".join(str(part) for part in sys.version_info[:3])
    return Interpreter(base_executable(Path(sys.executable)), version, sys.implementation.name)


def is_specifier(wanted: str) -> bool:
    """Whether a request is a specifier set (``>=3.10``) rather than a version (``3.11``)."""
    return wanted[:1] in "<>=!~"


def _numbers(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".") if part.isdigit())


def _clause(version: tuple[int, ...], operator: str, bound: str) -> bool:
    if bound.endswith(".*"):  # ==3.10.* / !=3.10.*: a prefix
        prefix = _numbers(bound[:-2])
        inside = version[: len(prefix)] == prefix
        return inside if operator == "==" else not inside
    target = _numbers(bound)
    if operator == "==" and len(target) < len(version):  # ==3.11 means 3.11.x, as for "3.11"
        return version[: len(target)] == target
    padded = target + (0,) * (len(version) - len(target))
    if operator == "~=":  # ~=3.10 -> >=3.10, ==3.*
        return version >= padded and version[: len(target) - 1] == target[:-1]
    checks = {">=": version >= padded, "<=": version <= padded, ">": version > padded,
              "<": version < padded, "==": version == padded, "!=": version != padded}  # fmt: skip
    return checks[operator]


def matches(version: str, wanted: str) -> bool:
    """``3.11.7`` matches ``3.11``, ``3.11.7`` and ``>=3.10,<3.13``; not ``3.1``."""
    if not is_specifier(wanted):
        return version == wanted or version.startswith(wanted + ".")
    numbers = _numbers(version)
    for raw in wanted.split(","):
        clause = raw.strip()
        operator = clause[:2] if clause[1:2] == "=" else clause[:1]
        if not _clause(numbers, operator, clause[len(operator) :].strip()):
            return False
    return True


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
        found.append(Interpreter(base_executable(exe), version, implementation))
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


def find_interpreter(wanted: str | None, downloads: bool = False) -> Interpreter:
    """The interpreter for ``wanted``: None is the one running mlrun; a specifier (``>=3.10``)
    prefers it too when it fits; a version gets the newest matching one.

    ``downloads``: when none is found, let uv install a managed Python (opt-in).
    """
    if wanted is None:
        return current()
    here = current()
    if here.version == wanted or (is_specifier(wanted) and matches(here.version, wanted)):
        return here
    candidates = discover(wanted)
    for interpreter in candidates:
        if interpreter.implementation == "cpython" and matches(interpreter.version, wanted):
            return interpreter
    if downloads:
        return _download(wanted)
    listing = ", ".join(sorted({i.version for i in candidates}, key=_key, reverse=True))
    raise EnvError(
        f"no Python {wanted} found (searched PATH, pyenv and uv installs; found: {listing})",
        hint=f"install one, e.g. `uv python install {shlex.quote(wanted)}` or `pyenv install`; "
        "or pass --python-downloads to let uv download it; or use --env-manager local",
    )


def _download(wanted: str) -> Interpreter:
    """``uv python install WANTED`` (a uv-managed Python), then find it like any other."""
    from mlrun_cli.envs.uv import uv_binary

    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "automatic"}
    out = subprocess.run(
        [uv_binary(), "python", "install", wanted], capture_output=True, text=True, env=env,
        stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    if out.returncode != 0:
        lines = (out.stderr or out.stdout).strip().splitlines()
        raise EnvError(
            f"no Python {wanted} found, and `uv python install {wanted}` failed: "
            + (lines[-1] if lines else f"exit code {out.returncode}")
        )
    found = [i for i in _uv_candidates() if matches(i.version, wanted)]
    if found:
        return max(found, key=lambda i: i.version_tuple)
    raise EnvError(f"uv installed Python {wanted}, but mlrun cannot find it under uv's folder")


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))
