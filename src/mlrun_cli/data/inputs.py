"""What ``path`` parameters name: checked after the data step, recorded so a rerun finds them.

- A path inside the repository (or folder) the project belongs to is recorded relative to the
  project (``data/train.csv``, ``../shared/cfg.txt`` in a monorepo), so ``reproduce`` and
  ``--reuse`` resolve it against their own checkout, where the pinned version was restored.
- A path the code and data records do not pin (outside the repository; git-ignored and not
  tracked by DVC; a folder holding such files; anything uncommitted under ``--dirty allow``)
  is an *unpinned input*: its DVC-style md5 is recorded as the tag ``mlrun.input.NAME`` and
  enters the fingerprint; ``reproduce`` refuses when it changed.
- A URL (``https://``, ``s3://``, ``gs://``...) is downloaded for the life of the run (see
  ``downloads``) and recorded without credentials, with its md5.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli import paths
from mlrun_cli.data.hashing import HashState, dir_md5
from mlrun_cli.errors import DataError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from contextlib import AbstractContextManager

    from mlrun_cli.data.step import DataPin
    from mlrun_cli.spec.params import BoundParam

INPUT_TAG_PREFIX = "mlrun.input."
_NEVER_DATA = ("mlruns", ".git", ".dvc")  # folders never part of an input's content


@dataclass(frozen=True)
class Input:
    """One ``path`` parameter after the data step."""

    name: str
    recorded: str  # project-relative path, absolute path, or URL without credentials
    local: str  # the absolute local path the command gets
    md5: str | None  # content hash of an unpinned input; None when git or DVC pins it


@dataclass(frozen=True)
class Inputs:
    """Every ``path`` parameter of a run, and the scratch folder holding downloads."""

    items: tuple[Input, ...] = ()
    scratch: Path | None = None

    def local_values(self) -> dict[str, str]:
        """Name -> the path the command gets."""
        return {item.name: item.local for item in self.items}

    def recorded_values(self) -> dict[str, str]:
        """Name -> the value recorded with the run (and fingerprinted)."""
        return {item.name: item.recorded for item in self.items}

    def hashes(self) -> tuple[tuple[str, str], ...]:
        """(name, md5) of the unpinned inputs, sorted."""
        return tuple(sorted((i.name, i.md5) for i in self.items if i.md5 is not None))

    def tags(self) -> tuple[tuple[str, str], ...]:
        """The run tags that record the unpinned inputs' hashes."""
        return tuple((INPUT_TAG_PREFIX + name, md5) for name, md5 in self.hashes())

    def cleanup(self) -> None:
        """Remove the downloads."""
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


@dataclass(frozen=True)
class InputContext:
    """Where the run's project is and what already pins its files."""

    project: Path
    top: Path  # the repository or folder the project belongs to
    git: bool  # a git work tree: committed files (and a recorded snapshot) pin it
    data: DataPin | None = None
    offline: bool = False
    unrecorded_changes: bool = False  # --dirty allow: uncommitted state is in no record
    not_code: tuple[Path, ...] = ()  # the tracking store's own paths
    original_top: Path | None = None  # reproduce: where the run read inputs the checkout lacks
    archive_sha: str | None = None  # a zip project: only the archive's members are pinned


def resolve_inputs(
    params: Iterable[BoundParam],
    context: InputContext,
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]],
    expected: Mapping[str, str] | None = None,
) -> Inputs:
    """Check, record, hash and download the ``path`` parameters.

    ``expected``: name -> md5 recorded by the original run (``reproduce``): a missing or changed
    unpinned input is a data error naming it.
    """
    from mlrun_cli.data.downloads import download_input, new_scratch
    from mlrun_cli.spec.params import is_remote_path

    items: list[Input] = []
    scratch: Path | None = None
    state = HashState(paths.cache_dir() / "inputs")
    try:
        for param in params:
            if param.type != "path":
                continue
            if is_remote_path(param.value):
                scratch = scratch or new_scratch()
                shown, local, md5 = download_input(param.name, param.value, scratch,
                                                   context.offline, progress)  # fmt: skip
                item = Input(param.name, shown, local, md5)
            else:
                item = _local(param.name, Path(param.value), context, state, expected)
            if expected is not None and item.name in expected and item.md5 != expected[item.name]:
                raise DataError(
                    f"input {item.name!r} ({item.recorded}) changed since the run: recorded "
                    f"md5 {expected[item.name]}, now {item.md5 or 'pinned by the checkout'}"
                )
            items.append(item)
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    finally:
        state.save()
    return Inputs(tuple(items), scratch)


def _within(path: Path, folder: Path) -> Path | None:
    """``path`` relative to ``folder`` when it lies inside it, comparing the written paths and
    the symlink-resolved ones (a symlinked project folder still contains its files)."""
    written, base = Path(os.path.normpath(path)), Path(os.path.normpath(folder))
    if written == base or written.is_relative_to(base):
        return written.relative_to(base)
    real, real_base = Path(os.path.realpath(path)), Path(os.path.realpath(folder))
    if real == real_base or real.is_relative_to(real_base):
        return real.relative_to(real_base)
    return None


def _local(
    name: str,
    path: Path,
    context: InputContext,
    state: HashState,
    expected: Mapping[str, str] | None,
) -> Input:
    in_top = _within(path, context.top)
    if not path.exists() and in_top is not None and context.original_top is not None:
        # reproduce: an ignored input is not in the clean checkout; the run read it here
        path = context.original_top / in_top
    if not path.exists():
        where = f"input {name!r}" if expected is not None else f"parameter {name!r}"
        error = DataError if expected is not None else UsageError
        raise error(f"{where}: expected an existing path; not found at {path}")
    if in_top is None:
        return Input(name, str(path), str(path), _md5(path, state.md5, ()))
    project_in_top = _within(context.project, context.top) or Path()
    recorded = Path(os.path.relpath(context.top / in_top, context.top / project_in_top))
    pinned = not context.unrecorded_changes and _pinned(path, in_top, context)
    md5 = None if pinned else _md5(path, state.md5, context.not_code)
    return Input(name, recorded.as_posix(), str(path), md5)


def _dvc_pinned(path: Path, context: InputContext) -> bool:
    if context.data is None:
        return False
    resolved, root = path.resolve(), context.data.dvc_root.resolve()
    return any(
        resolved == (pinned := root / pin.path) or resolved.is_relative_to(pinned)
        for pin in context.data.pins
    )


def _pinned(path: Path, relative: Path, context: InputContext) -> bool:
    """True when the run's code or data record already fixes this path's whole content."""
    if _dvc_pinned(path, context):
        return True
    if not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(context.top)):
        return False  # a symlink out of the repository: its content is in no record
    if path.is_dir() and _escaping_links(path, context.top):
        return False
    rel = relative.as_posix()
    if context.archive_sha is not None:
        from mlrun_cli.source.archive import archive_members

        members = archive_members(context.archive_sha)
        if not path.is_dir():
            return rel in members
        inside = (Path(d, f) for d, _, names in os.walk(path) for f in names)
        return all(f.relative_to(context.top).as_posix() in members for f in inside)
    if context.git:
        ignored = subprocess.run(
            ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", rel],
            cwd=context.top, capture_output=True, check=False,
        ).stdout.split(b"\0")  # fmt: skip
        unpinned = [
            p for p in (context.top / os.fsdecode(raw) for raw in ignored if raw)
            if not _never_data(p, context) and not _dvc_pinned(p, context)
        ]  # fmt: skip
        return not unpinned
    from mlrun_cli.source.ignore import IgnoreRules

    rules = IgnoreRules.for_folder(context.top)
    if rules.ignored(rel, path.is_dir()):
        return False
    if path.is_dir():
        for dirpath, dirs, files in os.walk(path):
            base = Path(dirpath).relative_to(context.top).as_posix()
            if any(rules.ignored(f"{base}/{f}", is_dir=False) for f in files):
                return False
            dirs[:] = [d for d in dirs if not rules.ignored(f"{base}/{d}", is_dir=True)]
    return True


def _never_data(path: Path, context: InputContext) -> bool:
    resolved = path.resolve()
    inside = _within(path, context.top)
    if inside is not None and any(part in _NEVER_DATA for part in inside.parts):
        return True
    return any(resolved == p.resolve() or resolved.is_relative_to(p.resolve())
               for p in context.not_code)  # fmt: skip


def _escaping_links(folder: Path, top: Path) -> bool:
    real_top = os.path.realpath(top)
    for dirpath, dirs, files in os.walk(folder):
        for name in (*dirs, *files):
            entry = Path(dirpath) / name
            if entry.is_symlink() and not Path(os.path.realpath(entry)).is_relative_to(real_top):
                return True
    return False


def _md5(path: Path, md5: Callable[[Path], str], not_code: tuple[Path, ...]) -> str:
    """DVC's hash of a file or folder; folders follow symlinks (what the code reads) and skip
    the tracking store and version-control folders."""
    if not path.is_dir():
        return md5(path)
    skipped = {os.path.realpath(p) for p in not_code}
    entries: list[tuple[str, str]] = []
    seen: set[str] = set()
    for dirpath, dirs, files in os.walk(path, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = sorted(d for d in dirs if d not in _NEVER_DATA
                         and os.path.realpath(Path(dirpath) / d) not in skipped)  # fmt: skip
        for name in files:
            file = Path(dirpath) / name
            if os.path.realpath(file) in skipped or not file.is_file():
                continue
            entries.append((file.relative_to(path).as_posix(), md5(file)))
    return dir_md5(entries)


def md5_uncached(path: Path) -> str:
    """The md5 of a downloaded file or folder (not remembered: it is deleted after the run)."""
    from mlrun_cli.data.hashing import md5_file

    return _md5(path, md5_file, ())
