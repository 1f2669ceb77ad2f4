"""``--env-manager local``: the interpreter running mlrun, no isolation.

Its own module, apart from provision.py: a local run imports none of the env building, caching
and locking-by-subprocess code (no builder, cache, interpreter discovery or requirements).
"""

from __future__ import annotations

import sys
from pathlib import Path

from mlrun_cli.envs.base import LOCAL, Env
from mlrun_cli.envs.lock import EnvLock


def local_env() -> tuple[Env, None]:
    """No isolation: the interpreter running mlrun, with the lock of what it has installed."""
    # The very executable running mlrun (a virtualenv's, with its packages), not its base.
    python = Path(sys.executable)
    version = ".".join(str(part) for part in sys.version_info[:3])  # interpreters.current()'s
    env = Env(LOCAL, python, python.parent, version, local_lock())
    return env, None


def local_lock() -> EnvLock:
    """Freeze the running interpreter's packages, cached until a sys.path folder changes
    (listing a large site-packages costs ~100 ms; its folder's mtime moves on any install)."""
    from mlrun_cli import paths
    from mlrun_cli._sha import hexdigest
    from mlrun_cli.envs.lock import parse_lock
    from mlrun_cli.errors import EnvError

    stamp = [(entry, Path(entry).stat().st_mtime_ns) for entry in sys.path if Path(entry).is_dir()]
    key = hexdigest(repr((sys.executable, stamp)).encode())[:16]
    cached = paths.cache_dir() / "local-locks" / f"{key}.txt"
    try:
        return parse_lock(cached.read_text(), str(cached))
    except (OSError, EnvError):
        pass
    return _freeze_here(cached)


def _freeze_here(cached: Path) -> EnvLock:
    """Run the freeze script in this interpreter (the cache missed) and keep its lock."""
    import contextlib
    import io

    from mlrun_cli._files import write_text_atomic
    from mlrun_cli.envs.lock import FREEZE_SCRIPT, freeze_output_to_lock

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(FREEZE_SCRIPT, {})  # noqa: S102 - our own constant script, also run in child envs
    lock = freeze_output_to_lock(buffer.getvalue())
    write_text_atomic(cached, lock.text)
    return lock
