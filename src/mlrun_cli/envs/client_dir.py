"""Make ``import mlrun_cli`` work inside isolated environments without installing mlrun there.

A directory under the cache holds only the standard-library training-code client (the package's
``__init__``, ``_version`` and ``tracking/client``); a ``.pth`` file in the environment's
site-packages appends it to ``sys.path``. None of mlrun's dependencies leak in, and a project
that installs mlrun-cli itself still gets its own copy (site-packages comes first).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from mlrun_cli import paths

PTH_NAME = "_mlrun_client.pth"
_CLIENT_FILES = ("__init__.py", "_version.py", "tracking/__init__.py", "tracking/client.py")


def _package_dir() -> Path:
    return Path(__file__).resolve().parent.parent


def client_dir() -> Path:
    """The directory holding this mlrun version's client, created once per content hash."""
    package = _package_dir()
    digest = hashlib.sha256()
    for name in _CLIENT_FILES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    target = paths.cache_dir() / "client" / digest.hexdigest()[:16]
    if not (target / "mlrun_cli" / "tracking" / "client.py").exists():
        staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        for name in _CLIENT_FILES:
            (staging / "mlrun_cli" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(package / name, staging / "mlrun_cli" / name)
        try:
            staging.rename(target)
        except OSError:  # another process won the race: its copy is identical
            shutil.rmtree(staging, ignore_errors=True)
    return target


def site_packages(root: Path) -> Path:
    """A virtualenv's site-packages folder (POSIX layout)."""
    found = sorted(root.glob("lib/python*/site-packages"))
    if not found:
        raise FileNotFoundError(f"no site-packages under {root}")
    return found[0]


def install_client(root: Path) -> None:
    """Point the environment at the current client (rewritten only when it changed)."""
    pth = site_packages(root) / PTH_NAME
    wanted = f"{client_dir()}\n"
    try:
        if pth.read_text() == wanted:
            return
    except OSError:
        pass
    pth.write_text(wanted)
