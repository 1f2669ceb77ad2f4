"""The content-addressed environment cache: keys, per-key file locks, build-once, prune.

Layout under ``paths.env_cache_dir()``::

    KEY.lock            flock target: exclusive while building/removing, shared while in use
    KEY/                the virtualenv (bin/, lib/, pyvenv.cfg) plus mlrun's files:
      mlrun-env.json    key, builder, python, spec, created
      mlrun-lock.txt    the lock (exact packages)
      mlrun-projects    project folders that used it, one per line
      .complete         written last; its mtime is "last used". Without it, a folder is garbage.

Environments are built in place, not in a temporary folder renamed into place: virtualenvs embed
their absolute path (script shebangs), so a renamed one is broken. The exclusive lock and the
marker written last give the same guarantee: nobody ever uses a half-built environment.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlrun_cli import paths
from mlrun_cli._files import write_text_atomic
from mlrun_cli.errors import EnvError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlrun_cli.envs.interpreters import Interpreter
    from mlrun_cli.envs.requirements import ResolvedSpec

CACHE_FORMAT = 2  # 2: keys hold the contents of referenced files, never their paths
KEY_LENGTH = 20
MARKER = ".complete"
METADATA = "mlrun-env.json"
LOCK_FILE = "mlrun-lock.txt"
PROJECTS = "mlrun-projects"


def spec_key(spec: ResolvedSpec, interpreter: Interpreter, builder: str) -> str:
    """sha256 of everything that decides an environment's contents.

    Referenced files count by content only: the same requirements in a copied folder or at
    another commit's checkout (another absolute path) share one environment.
    """
    identity = {
        "format": CACHE_FORMAT,
        "builder": builder,
        "python": [str(interpreter.path), interpreter.version, interpreter.implementation],
        "platform": sysconfig.get_platform(),
        "build_dependencies": list(spec.keyed(spec.build_dependencies)),
        "dependencies": list(spec.keyed(spec.dependencies)),
        "referenced": sorted(digest for _, digest in spec.referenced),
    }
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:KEY_LENGTH]


def lock_key(lock_sha256: str, interpreter: Interpreter, builder: str) -> str:
    """Key of an environment built from a lock: the lock's hash (plus builder and interpreter)."""
    identity = f"{CACHE_FORMAT}:lock:{lock_sha256}:{builder}:{interpreter.path}"
    return "L" + hashlib.sha256(identity.encode()).hexdigest()[: KEY_LENGTH - 1]


def env_root(key: str) -> Path:
    """The folder of environment ``key``."""
    return paths.env_cache_dir() / key


def _open_lock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


class Lease:
    """Flocks on an environment: KEY.lock is shared while a run uses (or builds) the env and
    exclusive to remove it; KEY.build is exclusive while one process builds.

    Two files, so no lock is ever converted: flock converts by unlocking first, which would
    let ``prune`` slip in between a build and its use.
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self._fd: int | None = _open_lock(paths.env_cache_dir() / f"{key}.lock")

    def shared(self) -> None:
        """Hold the env in use (prune and rm skip it)."""
        assert self._fd is not None  # noqa: S101 - not released yet
        fcntl.flock(self._fd, fcntl.LOCK_SH)

    def exclusive(self, wait: bool = True) -> bool:
        """Own the env to remove it; False if it is in use and ``wait`` is False."""
        assert self._fd is not None  # noqa: S101 - not released yet
        flags = fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.flock(self._fd, flags)
        except BlockingIOError:
            return False
        return True

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Be the only process building this env (others wait, then find it complete)."""
        fd = _open_lock(paths.env_cache_dir() / f"{self.key}.build")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def release(self) -> None:
        """Drop the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def is_complete(root: Path) -> bool:
    """Whether a build finished (the marker is the last thing a build writes) and its lock is
    still there (an env whose lock was removed is damaged: it is rebuilt)."""
    return (root / MARKER).exists() and (root / LOCK_FILE).is_file()


def mark_used(root: Path, project: Path | None) -> None:
    """Record use: the marker's mtime is 'last used'; the project joins the list."""
    os.utime(root / MARKER)
    if project is not None:
        listing = root / PROJECTS
        try:
            known = listing.read_text().splitlines()
        except OSError:
            known = []
        if str(project) not in known:
            with listing.open("a") as handle:
                handle.write(f"{project}\n")


def finish_build(root: Path, metadata: dict[str, Any], lock_text: str) -> None:
    """Write the metadata and lock, then the marker (last)."""
    metadata = {**metadata, "lock_sha256": hashlib.sha256(lock_text.encode()).hexdigest()}
    write_text_atomic(root / METADATA, json.dumps(metadata, indent=2, sort_keys=True))
    write_text_atomic(root / LOCK_FILE, lock_text)
    write_text_atomic(root / MARKER, str(time.time()))


def discard(root: Path) -> None:
    """Remove an environment folder (complete or not)."""
    shutil.rmtree(root, ignore_errors=True)


@dataclass(frozen=True)
class CachedEnv:
    """An environment in the cache, for ``mlrun env list``."""

    key: str
    root: Path
    complete: bool
    metadata: dict[str, Any]
    last_used: float | None
    size: int
    projects: tuple[str, ...]


def _size(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).lstat().st_size
    return total


def list_envs(with_size: bool = True) -> list[CachedEnv]:
    """Every environment folder in the cache (incomplete ones too)."""
    base = paths.env_cache_dir()
    found = []
    for root in sorted(base.iterdir()) if base.is_dir() else []:
        if not root.is_dir() or root.name.startswith("."):
            continue
        complete = is_complete(root)
        try:
            metadata = json.loads((root / METADATA).read_text())
        except (OSError, ValueError):
            metadata = {}
        try:
            projects = tuple((root / PROJECTS).read_text().splitlines())
        except OSError:
            projects = ()
        last_used = (root / MARKER).stat().st_mtime if complete else None
        size = _size(root) if with_size else 0
        found.append(CachedEnv(root.name, root, complete, metadata, last_used, size, projects))
    return found


def find_by_lock(lock_sha256: str, builder: str) -> str | None:
    """The key of a complete environment of ``builder`` whose lock hashes to ``lock_sha256``.

    Any environment with that lock has exactly the packages a build from the lock would
    install, whether it was built from a spec or from a lock.
    """
    for env in list_envs(with_size=False):
        if not env.complete or env.metadata.get("builder") != builder:
            continue
        recorded = env.metadata.get("lock_sha256")
        if recorded is None:  # environments built before the hash was recorded
            try:
                text = (env.root / LOCK_FILE).read_text()
            except OSError:
                continue
            recorded = hashlib.sha256(text.encode()).hexdigest()
        if recorded == lock_sha256:
            return env.key
    return None


def read_lock(key: str) -> str:
    """The lock text of a complete environment (an incomplete one is an error, not a lock)."""
    root = env_root(key)
    if not is_complete(root):
        raise EnvError(
            f"environment {key} is incomplete (a build was interrupted or is running); "
            "it has no lock",
            hint="mlrun env prune removes interrupted builds",
        )
    return (root / LOCK_FILE).read_text()


def resolve_key(prefix: str) -> str:
    """A full key from a unique prefix."""
    keys = [env.key for env in list_envs(with_size=False) if env.key.startswith(prefix)]
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise UsageError(f"no environment {prefix!r} in {paths.env_cache_dir()}")
    raise UsageError(f"environment key prefix {prefix!r} is ambiguous: {', '.join(keys)}")


def remove(key: str) -> bool:
    """Remove an environment unless a run is using it; return whether it was removed."""
    lease = Lease(key)
    try:
        if not lease.exclusive(wait=False):
            return False
        discard(env_root(key))
        return True
    finally:
        lease.release()


def parse_age(text: str) -> float:
    """``30d``, ``12h``, ``90m``, ``45s`` (or plain seconds) -> seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    value, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "s")
    try:
        amount = float(value)
    except ValueError:
        raise UsageError(
            f"--older-than: expected a duration such as 30d, 12h or 90m; got {text!r}"
        ) from None
    return amount * units[unit]


def prune(older_than: float, dry_run: bool) -> list[tuple[CachedEnv, str]]:
    """Environments unused for ``older_than`` seconds and unfinished builds, with why.

    An environment a run is using (shared lease held) or a build in progress is never removed.
    """
    now = time.time()
    chosen = []
    for env in list_envs():
        if not env.complete:
            reason = "incomplete build"
        elif env.last_used is not None and now - env.last_used >= older_than:
            reason = f"unused for {(now - env.last_used) / 86400:.1f} days"
        else:
            continue
        if dry_run or remove(env.key):
            chosen.append((env, reason))
    return chosen
