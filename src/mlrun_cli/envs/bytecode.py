"""Lazy byte-compilation into the environment.

Environments are installed without compiling (``uv pip install --compile-bytecode`` compiles
every installed file: seconds for scikit-learn, most of it never imported). Runs execute with
``PYTHONPYCACHEPREFIX=ENV/.pycache`` and without ``PYTHONDONTWRITEBYTECODE``, so the first run
compiles what it imports, once, into the cached env, and never writes beside the project's files.

With a prefix set, Python looks for *every* module's pyc under the prefix, the standard
library's too: without help the first run would recompile the stdlib modules it imports. The
build seeds the prefix with links to the interpreter's own stdlib pycs (copies where links are
refused). They stay valid by Python's own check (source mtime and size); a stale one is rewritten
by atomic replace, which never touches the linked original.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

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


def seed_stdlib(root: Path, python: Path) -> int:
    """Link the interpreter's compiled stdlib into the env's pyc prefix; return how many."""
    out = subprocess.run(
        [str(python), "-I", "-c", _PROBE], capture_output=True, text=True, check=False
    )
    lines = out.stdout.split("\n")
    if out.returncode != 0 or len(lines) < 2 or not lines[0]:
        return 0  # nothing to seed from: the first run compiles the stdlib it needs
    tag, stdlib = lines[0], Path(lines[1])
    count = 0
    for directory, subdirs, _ in os.walk(stdlib):
        # Installed packages are not the stdlib (and may be many): never walk into them.
        subdirs[:] = [d for d in subdirs if d not in ("site-packages", "dist-packages")]
        if Path(directory).name != "__pycache__":
            continue
        source_dir = Path(directory).parent
        target = prefix(root) / source_dir.relative_to(source_dir.anchor)
        for pyc in Path(directory).glob(f"*.{tag}.pyc"):  # not the -O / -OO variants
            target.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                try:
                    os.link(pyc, target / pyc.name)
                except OSError:  # another filesystem, or protected_hardlinks
                    shutil.copy2(pyc, target / pyc.name)
                count += 1
    return count
