"""Every on-disk location mlrun uses, in one place so tests can redirect all of them.

Resolution order for each: an explicit ``MLRUN_*`` environment variable, then the platform's
conventional location (``XDG_CACHE_HOME`` / ``~/.cache``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE_DIR = "mlruns"
STORE_DB_NAME = "mlrun.db"


def home() -> Path:
    """mlrun's per-user data directory."""
    explicit = os.environ.get("MLRUN_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mlrun"


def cache_dir() -> Path:
    """Root of every cache (environments, git mirrors, DVC cache)."""
    explicit = os.environ.get("MLRUN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlrun"


def env_cache_dir() -> Path:
    """Where built Python environments live, one directory per cache key."""
    return cache_dir() / "envs"


def git_cache_dir() -> Path:
    """Where bare git mirrors and per-commit checkouts live."""
    return cache_dir() / "git"


def default_store_dir(cwd: Path | None = None) -> Path:
    """The default tracking store: ``./mlruns`` relative to where mlrun is invoked."""
    return (cwd or Path.cwd()) / DEFAULT_STORE_DIR
