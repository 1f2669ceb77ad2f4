"""What ``path`` parameters name: checked after the data step, recorded so a rerun finds them.

- A path inside the project is recorded relative to it, so ``reproduce`` and ``--reuse`` resolve
  it against their own checkout (where the data step restored the pinned version).
- A path the code and data records do not pin (outside the project, ignored by git and not
  tracked by DVC) is an *unpinned input*: its DVC-style md5 (cached by size, mtime and inode) is
  recorded as the tag ``mlrun.input.NAME`` and enters the fingerprint; ``reproduce`` refuses
  when it changed.
- A URL (``https://``, ``s3://``, ``gs://``...) is downloaded into a scratch folder of mlrun's
  cache for the life of the run, as MLflow does, and recorded without credentials with its md5.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli import paths
from mlrun_cli.data.hashing import HashState
from mlrun_cli.errors import DataError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from contextlib import AbstractContextManager

    from mlrun_cli.data.step import DataPin
    from mlrun_cli.spec.params import BoundParam

INPUT_TAG_PREFIX = "mlrun.input."


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
    git: bool  # the project is a git work tree (committed files and the snapshot pin it)
    data: DataPin | None = None
    offline: bool = False


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
    from mlrun_cli.spec.params import is_remote_path

    items: list[Input] = []
    scratch: Path | None = None
    state = HashState(paths.cache_dir() / "inputs")
    try:
        for param in params:
            if param.type != "path":
                continue
            if is_remote_path(param.value):
                if scratch is None:
                    root = paths.cache_dir() / "downloads"
                    root.mkdir(parents=True, exist_ok=True)
                    scratch = Path(tempfile.mkdtemp(prefix="run-", dir=root))
                item = _download(param.name, param.value, scratch, context.offline, progress,
                                 state)  # fmt: skip
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


def _local(
    name: str,
    path: Path,
    context: InputContext,
    state: HashState,
    expected: Mapping[str, str] | None,
) -> Input:
    if not path.exists():
        where = f"input {name!r}" if expected is not None else f"parameter {name!r}"
        error = DataError if expected is not None else UsageError
        raise error(f"{where}: expected an existing path; not found at {path}")
    project = Path(os.path.normpath(context.project))
    if path == project or path.is_relative_to(project):
        relative = path.relative_to(project).as_posix() if path != project else "."
        pinned = _pinned(path, context)
        return Input(name, relative, str(path), None if pinned else state.actual(path))
    return Input(name, str(path), str(path), state.actual(path))


def _pinned(path: Path, context: InputContext) -> bool:
    """True when the run's code or data record already fixes this path's content."""
    resolved = path.resolve()
    if not resolved.is_relative_to(context.top.resolve()):
        return False  # a symlink out of the project: its content is not in any record
    data = context.data
    if data is not None:
        root = data.dvc_root.resolve()
        for pin in data.pins:
            pinned = root / pin.path
            if resolved == pinned or resolved.is_relative_to(pinned):
                return True
    relative = resolved.relative_to(context.top.resolve()).as_posix()
    if context.git:
        result = subprocess.run(
            ["git", "check-ignore", "-q", "--", relative], cwd=context.top, check=False,
            capture_output=True,
        )  # fmt: skip
        return result.returncode == 1  # 1: not ignored, so committed or in the snapshot
    from mlrun_cli.source.ignore import IgnoreRules

    return not IgnoreRules.for_folder(context.top).ignored(relative, resolved.is_dir())


def _download(
    name: str,
    url: str,
    scratch: Path,
    offline: bool,
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]],
    state: HashState,
) -> Input:
    from mlrun_cli.source.uri import redact

    shown = redact(url)
    if offline:
        raise DataError(f"input {name!r}: {shown} is a remote path; --offline forbids downloading")
    folder = scratch / name
    folder.mkdir()
    basename = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or name
    target = folder / basename
    with progress(f"input {name}: downloading {shown}") as update:
        scheme = url.split("://", 1)[0].lower()
        if scheme in ("http", "https"):
            from mlrun_cli._http import DownloadError, download

            try:
                download(url, target, update)
            except DownloadError as exc:
                raise DataError(f"cannot download {shown}: {exc}") from None
        else:
            _fsspec_get(url, shown, scheme, target)
    return Input(name, shown, str(target), state.actual(target))


def _fsspec_get(url: str, shown: str, scheme: str, target: Path) -> None:
    extra = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}.get(scheme)
    try:
        import fsspec
    except ImportError:
        hint = f"pip install 'mlrun-cli[{extra}]'" if extra else "pip install fsspec"
        raise DataError(f"{shown}: {scheme}:// paths need fsspec ({hint})") from None
    try:
        fs, remote = fsspec.core.url_to_fs(url)
        if fs.isdir(remote):
            fs.get(remote.rstrip("/") + "/", str(target), recursive=True)
        else:
            fs.get_file(remote, str(target))
    except ImportError as exc:
        hint = f" (pip install 'mlrun-cli[{extra}]')" if extra else ""
        raise DataError(f"{shown}: {scheme}:// needs a missing package: {exc}{hint}") from None
    except FileNotFoundError:
        raise DataError(f"cannot download {shown}: not found") from None
    except Exception as exc:  # noqa: BLE001 - every filesystem raises its own types
        raise DataError(f"cannot download {shown}: {type(exc).__name__}: {exc}") from None
