"""Get the environment a run needs: reuse the cached one in milliseconds, or build it once.

``provision`` (from a project's env spec) and ``provision_from_lock`` (exact versions, no
resolution; what reproduce uses) both return the Env and a Lease: a shared lock the caller
holds while the env is in use, so ``mlrun env prune`` never removes it under a running run.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlrun_cli import paths
from mlrun_cli.envs import bytecode, cache
from mlrun_cli.envs.base import LOCAL, Env, get_builder, venv_python
from mlrun_cli.envs.builder_process import stop_stale_builders
from mlrun_cli.envs.client_dir import install_client
from mlrun_cli.envs.interpreters import Interpreter, find_interpreter
from mlrun_cli.envs.local import local_env as local_env  # noqa: PLC0414 - re-exported
from mlrun_cli.envs.lock import EnvLock, freeze, parse_lock
from mlrun_cli.envs.logged import BuildLog
from mlrun_cli.envs.progress import InstallProgress
from mlrun_cli.envs.requirements import normalise, resolve_spec
from mlrun_cli.errors import EnvError
from mlrun_cli.spec.python_env import PythonEnvSpec

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from mlrun_cli.envs.base import EnvBuilder

    # A build: (folder, status callback, log) -> the lock, the metadata, lines to show after it.
    Build = Callable[
        [Path, Callable[[str], None], BuildLog], tuple[EnvLock, dict[str, Any], list[str]]
    ]


class ProgressReporter(Protocol):
    """Shows a long step (a spinner with the step and elapsed time on a terminal)."""

    def info(self, message: str) -> None: ...
    def progress(self, title: str) -> AbstractContextManager[Callable[[str], None]]: ...


TOP_LEVEL_SHOWN = 12
LINE_WIDTH = 80  # a terminal's columns that progress lines fit in
MIN_PYTHON = (3, 8)


def _requirements_file(root: Path, name: str, lines: tuple[str, ...]) -> Path:
    path = root / name
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def _metadata(key: str, builder: str, interpreter: Interpreter, **extra: Any) -> dict[str, Any]:
    return {
        "key": key,
        "builder": builder,
        "python": interpreter.version,
        "interpreter": str(interpreter.path),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **extra,
    }


def _obtain(
    key: str,
    build: Build,
    title: str,
    reporter: ProgressReporter,
    manager: str,
    project: Path | None,
) -> tuple[Env, cache.Lease]:
    root = cache.env_root(key)
    lease = cache.Lease(key)
    try:
        lease.shared()
        if not cache.is_complete(root):
            with lease.building():
                # Someone else may have finished it while we waited for the lock.
                if not cache.is_complete(root):
                    _build(key, build, title, reporter)
        return _ready(key, lease, manager, project)
    except BaseException:
        lease.release()
        raise


def _build(key: str, build: Build, title: str, reporter: ProgressReporter) -> None:
    """Build env ``key`` in place (the build lock is held)."""
    root = cache.env_root(key)
    holder = root.with_name(f"{key}.builder")
    # A killed build's installers may still write there: stop them before removing it.
    stop_stale_builders(holder, key)
    cache.discard(root)  # a half-built leftover (killed build): garbage
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = BuildLog(paths.cache_dir() / "logs" / f"{key}-{stamp}.log", key, holder)
    try:
        with reporter.progress(title) as step:
            lock, metadata, summary = build(root, step, log)
        cache.finish_build(root, metadata, lock.text)
    except BaseException:
        cache.discard(root)
        raise
    finally:
        holder.unlink(missing_ok=True)
    for line in summary:
        reporter.info(line)


def _ready(
    key: str, lease: cache.Lease, manager: str, project: Path | None
) -> tuple[Env, cache.Lease]:
    """A complete environment, held by ``lease``, ready to run commands."""
    root = cache.env_root(key)
    install_client(root)
    cache.mark_used(root, project)
    lock = parse_lock((root / cache.LOCK_FILE).read_text(), str(root / cache.LOCK_FILE))
    python = venv_python(root)
    bytecode.ensure_seeded(root, python)
    env = Env(
        manager, python, python.parent, lock.python, lock, key, root, bytecode.child_vars(root)
    )
    return env, lease


def _installed_summary(lock: EnvLock, requested: frozenset[str], key: str) -> list[str]:
    """``+ name==version`` for the top-level packages (as uv prints them), then the rest."""
    top = [(n, v) for n, v in lock.packages if normalise(n) in requested]
    lines = [f"+ {name}=={version}" for name, version in top[:TOP_LEVEL_SHOWN]]
    others = len(lock.packages) - len(lines)
    if others:
        what = (
            "packages"
            if not lines
            else "more packages"
            if top[TOP_LEVEL_SHOWN:]
            else "dependencies"
        )
        lines.append(f"+ {others} {what} (all of them: mlrun env show {key[:12]})")
    return lines


def _unpinned_python(source: str, interpreter: Interpreter, wanted: str | None) -> str | None:
    """Say which Python a spec without an exact version got (None: it named one)."""
    label = Path(source).name if source else "the project (no python_env.yaml)"
    if wanted is None:
        return (
            f"{label} pins no Python version: using {interpreter.version}, the Python running "
            f'mlrun ({interpreter.path}); pin one with python: "{interpreter.version}"'
        )
    if wanted != interpreter.version and not wanted[:1].isdigit():
        line = f"{label} asks for Python {wanted}: using {interpreter.version}"
        # The interpreter's path where the line still fits 80 columns (after "mlrun: ").
        where = f" ({interpreter.path})"
        return line + where if len("mlrun: " + line + where) <= LINE_WIDTH else line
    return None


def _reuse(key: str, manager: str, project: Path | None) -> tuple[Env, cache.Lease] | None:
    """Hold a cached environment found by lock hash (None if it was removed meanwhile)."""
    lease = cache.Lease(key)
    try:
        lease.shared()
        if cache.is_complete(cache.env_root(key)):
            return _ready(key, lease, manager, project)
    except BaseException:
        lease.release()
        raise
    lease.release()
    return None


def provision(
    manager: str,
    spec: PythonEnvSpec | None,
    project_dir: Path,
    reporter: ProgressReporter,
    python_downloads: bool = False,
) -> tuple[Env, cache.Lease | None]:
    """The environment for a project's env spec (None: current Python, no dependencies).

    ``python_downloads``: let uv download a managed Python when none on the machine fits.
    """
    if manager == LOCAL:
        return local_env()
    builder = get_builder(manager)
    resolved = resolve_spec(spec or PythonEnvSpec(None), project_dir)
    interpreter = find_interpreter(resolved.python, downloads=python_downloads)
    if interpreter.version_tuple < MIN_PYTHON:
        # Checked before building: mlrun locks an env with importlib.metadata (3.8+).
        raise EnvError(
            f"{Path(spec.source).name if spec else 'the project'} asks for Python "
            f"{resolved.python}: mlrun's environments need Python "
            f"{'.'.join(map(str, MIN_PYTHON))} or newer (found {interpreter.version})"
        )
    key = cache.spec_key(resolved, interpreter, builder.name)

    def build(
        root: Path, step: Callable[[str], None], log: BuildLog
    ) -> tuple[EnvLock, dict[str, Any], list[str]]:
        note = _unpinned_python(resolved.source, interpreter, resolved.python)
        if note is not None:
            reporter.info(note)
        step(f"creating it: {builder.name}, Python {interpreter.version}")
        builder.create(interpreter, root, log)
        for name, lines in (("build dependencies", resolved.build_dependencies),
                            ("dependencies", resolved.dependencies)):  # fmt: skip
            if lines:
                step(f"installing {name}")
                file = _requirements_file(root, f"mlrun-{name.replace(' ', '-')}.txt", lines)
                builder.install(root, file, no_deps=False, log=log, on_line=InstallProgress(step))
        step("locking")
        lock = freeze(venv_python(root), resolved.index_options)
        bytecode.seed_stdlib(root, venv_python(root))
        meta = _metadata(key, builder.name, interpreter, spec=resolved.source,
                         requested_python=resolved.python,
                         dependencies=list(resolved.dependencies))  # fmt: skip
        return lock, meta, _installed_summary(lock, resolved.requested(), key)

    # Short: a terminal shows "TITLE: STATUS" then the elapsed time, within 80 columns.
    title = f"building env {key[:8]}"
    return _obtain(key, build, title, reporter, manager, project_dir)


def provision_from_lock(
    manager: str, lock: EnvLock, reporter: ProgressReporter, project: Path | None = None
) -> tuple[Env, cache.Lease]:
    """An environment with exactly the locked versions, installed with no resolution.

    Any cached environment with the same lock (built from a spec or from a lock) is reused.
    """
    builder: EnvBuilder = get_builder(manager)
    existing = cache.find_by_lock(lock.sha256, builder.name)
    if existing is not None:
        reused = _reuse(existing, manager, project)
        if reused is not None:
            return reused
    interpreter = find_interpreter(lock.python)
    if interpreter.version != lock.python:
        raise EnvError(f"the lock needs Python {lock.python} exactly; found {interpreter.version}")
    key = cache.lock_key(lock.sha256, interpreter, builder.name)

    def build(
        root: Path, step: Callable[[str], None], log: BuildLog
    ) -> tuple[EnvLock, dict[str, Any], list[str]]:
        step(f"creating it: {builder.name}, Python {interpreter.version}")
        builder.create(interpreter, root, log)
        step(f"installing {len(lock.packages)} locked packages")
        locked = _requirements_file(root, "mlrun-from-lock.txt", tuple(lock.text.splitlines()))
        builder.install(root, locked, no_deps=True, log=log, on_line=InstallProgress(step))
        built = freeze(venv_python(root), lock.options)
        bytecode.seed_stdlib(root, venv_python(root))
        missing = sorted(set(lock.packages) - set(built.packages))
        if missing:
            raise EnvError(
                "the environment does not match the lock; missing: "
                + ", ".join(f"{n}=={v}" for n, v in missing)
            )
        meta = _metadata(key, builder.name, interpreter, from_lock=lock.sha256)
        return built, meta, [f"+ {len(built.packages)} locked packages"]

    title = f"building env {key[:8]} (lock)"
    return _obtain(key, build, title, reporter, manager, project)
