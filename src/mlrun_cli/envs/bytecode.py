"""Lazy byte-compilation into the environment.

Environments are installed without compiling (``uv pip install --compile-bytecode`` compiles
every installed file: seconds for scikit-learn, most of it never imported). Runs execute with
``PYTHONPYCACHEPREFIX=ENV/.pycache`` and without ``PYTHONDONTWRITEBYTECODE``, so the first run
compiles what it imports, once, into the cached env, and never writes beside the project's files.

With a prefix set, Python looks for *every* module's pyc under the prefix, the standard
library's too: without help the first run would recompile the stdlib modules it imports. So the
prefix's stdlib folder is a symlink to a mirror shared by all envs of that interpreter (same
sources, so the same pycs), seeded once with links to the interpreter's own stdlib pycs. They
stay valid by Python's own check (source mtime and size); a stale one is rewritten by atomic
replace, which never touches the linked original.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from mlrun_cli import paths

PYCACHE = ".pycache"
_PROBE = (
    "import sys, sysconfig; print(sys.implementation.cache_tag); "
    "print(sysconfig.get_paths()['stdlib'])"
)


def prefix(root: Path) -> Path:
    """Where an environment's pycs go."""
    return root / PYCACHE


def child_vars(root: Path) -> tuple[tuple[str, str | None], ...]:
    """What a run in the env at ``root`` needs in its environment (None: unset)."""
    return (("PYTHONPYCACHEPREFIX", str(prefix(root))), ("PYTHONDONTWRITEBYTECODE", None))


def _mirror(stdlib: Path, tag: str) -> Path:
    """A pyc mirror of ``stdlib`` shared by every env of that interpreter, seeded once with
    links to the interpreter's own pycs (copies where links are refused)."""
    digest = hashlib.sha256(f"{tag}:{stdlib}".encode()).hexdigest()[:16]
    mirror = paths.cache_dir() / "stdlib-pycache" / digest
    if mirror.is_dir():
        return mirror
    staging = mirror.with_name(f".{digest}.{os.getpid()}.tmp")
    for directory, subdirs, _ in os.walk(stdlib):
        # Installed packages are not the stdlib (and may be many): never walk into them.
        subdirs[:] = [d for d in subdirs if d not in ("site-packages", "dist-packages")]
        if Path(directory).name != "__pycache__":
            continue
        target = staging / Path(directory).parent.relative_to(stdlib)
        for pyc in Path(directory).glob(f"*.{tag}.pyc"):  # not the -O / -OO variants
            target.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                try:
                    os.link(pyc, target / pyc.name)
                except OSError:  # another filesystem, or protected_hardlinks
                    shutil.copy2(pyc, target / pyc.name)
    staging.mkdir(parents=True, exist_ok=True)
    try:
        staging.rename(mirror)
    except OSError:  # another build won the race: its mirror is identical
        shutil.rmtree(staging, ignore_errors=True)
    return mirror


def seed_stdlib(root: Path, python: Path) -> Path | None:
    """Point the env's pyc prefix for the stdlib at the shared mirror; return the mirror."""
    out = subprocess.run(
        [str(python), "-I", "-c", _PROBE], capture_output=True, text=True, check=False
    )
    lines = out.stdout.split("\n")
    prefix(root).mkdir(exist_ok=True)  # seeded (or tried): ``ensure_seeded`` asks no more
    if out.returncode != 0 or len(lines) < 2 or not lines[0]:
        return None  # the first run compiles the stdlib it needs, into the env
    tag, stdlib = lines[0], Path(lines[1])
    mirror = _mirror(stdlib, tag)
    link = prefix(root) / stdlib.relative_to(stdlib.anchor)
    link.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # a concurrent run seeded it just now
        link.symlink_to(mirror, target_is_directory=True)
    return mirror


def ensure_seeded(root: Path, python: Path) -> None:
    """Seed an env built before lazy bytecode (one ``stat`` when it is seeded already)."""
    if not prefix(root).exists():
        seed_stdlib(root, python)
