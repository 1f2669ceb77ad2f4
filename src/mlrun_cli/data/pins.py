"""Data pins: per path, the md5 a commit's ``dvc.lock`` and ``*.dvc`` files name.

Read as YAML; no data is hashed here. Paths are relative to the DVC root (the folder holding
``.dvc/``, at the repository root or a ``dvc init --subdir`` project folder).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlrun_cli.errors import DataError

_SKIP_DIRS = frozenset({".dvc", ".git", "mlruns", ".venv", "venv", "__pycache__", "node_modules"})


@dataclass(frozen=True)
class Pin:
    """One tracked path: its md5 (``...dir`` for folders), size, file count, where it is named."""

    path: str
    md5: str
    size: int | None
    nfiles: int | None
    source: str  # the .dvc file or "dvc.lock"
    is_output: bool = True  # False for a stage dependency (recorded, not restored)
    legacy: bool = False  # DVC 2 "md5-dos2unix" hashes, which mlrun does not recompute

    @property
    def is_dir(self) -> bool:
        """Whether the pin is a tracked folder."""
        return self.md5.endswith(".dir")


class PinReader(Protocol):
    """Where pin files are read from: the work tree, or a git revision."""

    def pin_files(self) -> list[str]: ...
    def read(self, relative: str) -> str: ...


@dataclass(frozen=True)
class WorkTreeReader:
    """Pin files as they are in the folder."""

    root: Path

    def pin_files(self) -> list[str]:
        """Every dvc.lock and *.dvc file below the root."""
        found = []
        for dirpath, dirs, files in os.walk(self.root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for name in sorted(files):
                if name == "dvc.lock" or name.endswith(".dvc"):
                    found.append((Path(dirpath) / name).relative_to(self.root).as_posix())
        return found

    def read(self, relative: str) -> str:
        """A pin file's text."""
        return (self.root / relative).read_text(encoding="utf-8")


@dataclass(frozen=True)
class GitRevisionReader:
    """Pin files as they are at a git revision (``--data-version``)."""

    repo: Path  # the repository's top level
    prefix: str  # the DVC root relative to the repository ('' or 'sub/dir')
    revision: str

    def _git(self, *args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=self.repo, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise DataError(f"--data-version {self.revision}: {result.stderr.strip()}")
        return result.stdout

    def _commit(self) -> str:
        for candidate in (self.revision, f"origin/{self.revision}"):
            probe = subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"],
                cwd=self.repo, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if probe.returncode == 0:
                return probe.stdout.strip()
        raise DataError(f"--data-version {self.revision}: unknown revision in {self.repo}")

    def pin_files(self) -> list[str]:
        """dvc.lock and *.dvc files at the revision."""
        commit = self._commit()
        listing = self._git("ls-tree", "-r", "--name-only", commit, "--", self.prefix or ".")
        found = []
        for path in listing.splitlines():
            relative = posixpath.relpath(path, self.prefix) if self.prefix else path
            name = posixpath.basename(relative)
            if name == "dvc.lock" or (name.endswith(".dvc") and ".dvc/" not in relative):
                found.append(relative)
        return sorted(found)

    def read(self, relative: str) -> str:
        """A pin file's text at the revision."""
        path = posixpath.join(self.prefix, relative) if self.prefix else relative
        return self._git("show", f"{self._commit()}:{path}")


def _entry(item: object, where: str, source: str, base: str, *, is_output: bool) -> Pin:
    if not isinstance(item, dict):
        raise DataError(f"{source}: {where}: expected a mapping with 'path' and 'md5'")
    path, md5 = item.get("path"), item.get("md5")
    if not isinstance(path, str) or not path:
        raise DataError(f"{source}: {where}.path: expected a path; got {path!r}")
    if md5 is None and "hash" not in item and "etag" in item:
        md5 = item["etag"]  # imported from cloud storage: an etag is its identity
    if not isinstance(md5, str) or not md5:
        raise DataError(f"{source}: {where}.md5: expected an md5 hash; got {md5!r}")
    size, nfiles = item.get("size"), item.get("nfiles")
    relative = posixpath.normpath(posixpath.join(base, path))
    return Pin(
        relative, md5, size if isinstance(size, int) else None,
        nfiles if isinstance(nfiles, int) else None, source, is_output,
        legacy=item.get("hash") != "md5",
    )  # fmt: skip


def _lock_pins(data: dict[str, object], relative: str, base: str) -> list[Pin]:
    stages = data.get("stages", {})
    if not isinstance(stages, dict):
        raise DataError(f"{relative}: stages: expected a mapping")
    pins = []
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise DataError(f"{relative}: stages.{name}: expected a mapping")
        for kind, is_output in (("deps", False), ("outs", True)):
            for index, item in enumerate(stage.get(kind) or []):
                where = f"stages.{name}.{kind}[{index}]"
                pins.append(_entry(item, where, relative, base, is_output=is_output))
    return pins


def read_pins(reader: PinReader) -> list[Pin]:
    """Every pin named by the reader's dvc.lock and *.dvc files (outputs and dependencies)."""
    import yaml

    pins: list[Pin] = []
    for relative in reader.pin_files():
        base = posixpath.dirname(relative)
        try:
            data = yaml.safe_load(reader.read(relative))
        except yaml.YAMLError as exc:
            raise DataError(f"{relative}: invalid YAML: {exc}") from exc
        except (ValueError, OverflowError) as exc:  # e.g. an int over 4,300 digits
            raise DataError(f"{relative}: invalid YAML value: {str(exc).split(';')[0]}") from exc
        if data is None:
            continue
        if not isinstance(data, dict):
            raise DataError(f"{relative}: expected a mapping")
        if posixpath.basename(relative) == "dvc.lock":
            pins += _lock_pins(data, relative, base)
            continue
        outs = data.get("outs")
        if not isinstance(outs, list):
            raise DataError(f"{relative}: outs: expected a list")
        pins += [
            _entry(item, f"outs[{index}]", relative, base, is_output=True)
            for index, item in enumerate(outs)
        ]
    return pins


def inside(root: Path, relative: str, what: str) -> Path:
    """``root / relative``, refused unless it stays inside ``root`` (symlinks included).

    A pin's path comes from a file in the repository (or a recorded run): an absolute path, a
    ``..`` climb or a symlinked folder on the way would make a restore write outside the
    project. The last component itself may be a symlink (DVC's link cache types): a restore
    replaces the link, never writes through it.
    """
    posix = relative.replace("\\", "/")
    parts = posix.split("/")
    if not posix or posixpath.isabs(posix) or ".." in parts or parts[-1] in ("", "."):
        raise DataError(f"{what}: path {relative!r} is not inside the DVC root {root}")
    target = root / posix
    real_root = root.resolve()
    parent = target.parent.resolve()
    if parent != real_root and not parent.is_relative_to(real_root):
        raise DataError(
            f"{what}: path {relative!r} leads outside the DVC root {root} (through a symlink "
            f"to {parent})"
        )
    return target


def check_pins(pins: list[Pin] | tuple[Pin, ...], dvc_root: Path) -> None:
    """Refuse, before anything is read or written, every output pin that leaves the DVC root.

    Stage dependencies may live elsewhere (DVC allows external deps): they are recorded, never
    restored, so they are not refused.
    """
    for pin in pins:
        if pin.is_output:
            inside(dvc_root, pin.path, pin.source)


def data_fingerprint(pins: list[Pin]) -> str:
    """sha256 over the sorted (path, md5) pairs."""
    digest = hashlib.sha256()
    for path, md5 in sorted({(p.path, p.md5) for p in pins}):
        digest.update(f"{path}\0{md5}\n".encode())
    return digest.hexdigest()
