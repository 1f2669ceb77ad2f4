"""Environment locks: the exact package set of a built environment, as a pip requirements file.

    # mlrun environment lock v1
    # python: 3.11.7 cpython
    # platform: linux-x86_64
    --find-links /wheels          (index options the spec used, kept so the lock reinstalls)
    numpy==2.1.0
    pyyaml==6.0.2

Installing it with ``--no-deps`` reproduces the environment without any resolution.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.errors import EnvError
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from pathlib import Path

LOCK_HEADER = "# mlrun environment lock v1"

# Runs inside the environment's interpreter: standard library only.
FREEZE_SCRIPT = """
import importlib.metadata as m, platform, re, sys, sysconfig
seen = {}
for dist in m.distributions():
    name = dist.metadata["Name"]
    if name:
        seen.setdefault(re.sub(r"[-_.]+", "-", name).lower(), dist.version)
print(platform.python_version(), sys.implementation.name, sysconfig.get_platform())
for name in sorted(seen):
    print(f"{name}=={seen[name]}")
"""


class EnvLock(Record):
    """A parsed lock."""

    python: str
    implementation: str
    platform: str
    packages: tuple[tuple[str, str], ...]
    options: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The lock file's text (stable: equal environments give equal bytes)."""
        lines = [
            LOCK_HEADER,
            f"# python: {self.python} {self.implementation}",
            f"# platform: {self.platform}",
            *self.options,
            *(f"{name}=={version}" for name, version in self.packages),
        ]
        return "\n".join(lines) + "\n"

    @property
    def sha256(self) -> str:
        """The lock's identity."""
        from mlrun_cli._sha import hexdigest

        return hexdigest(self.text.encode())


def freeze_output_to_lock(output: str, options: tuple[str, ...] = ()) -> EnvLock:
    """Build a lock from FREEZE_SCRIPT's output."""
    lines = output.strip().splitlines()
    python, implementation, platform = lines[0].split()
    packages = tuple(tuple(line.split("==", 1)) for line in lines[1:] if "==" in line)
    return EnvLock(python, implementation, platform, packages, options)  # type: ignore[arg-type]


def freeze(python: Path, options: tuple[str, ...] = ()) -> EnvLock:
    """The lock of the environment whose interpreter is ``python``."""
    import subprocess

    out = subprocess.run(
        [str(python), "-I", "-c", FREEZE_SCRIPT], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise EnvError(f"cannot list the packages of {python}: {out.stderr.strip()[-500:]}")
    return freeze_output_to_lock(out.stdout, options)


def parse_lock(text: str, source: str) -> EnvLock:
    """Read a lock file written by mlrun (for ``env build --from-lock``)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != LOCK_HEADER:
        raise EnvError(f"{source}: not an mlrun environment lock (expected {LOCK_HEADER!r})")
    meta = {}
    options, packages = [], []
    for line in lines[1:]:
        if line.startswith("# ") and ":" in line:
            key, _, value = line[2:].partition(":")
            meta[key.strip()] = value.strip()
        elif line.startswith("-"):
            options.append(line)
        elif "==" in line:
            name, _, version = line.partition("==")
            packages.append((name.strip(), version.strip()))
        else:
            raise EnvError(f"{source}: expected name==version; got {line!r}")
    try:
        python, implementation = meta["python"].split()
        platform = meta["platform"]
    except (KeyError, ValueError):
        raise EnvError(f"{source}: missing '# python:' or '# platform:' header line") from None
    return EnvLock(python, implementation, platform, tuple(packages), tuple(options))
