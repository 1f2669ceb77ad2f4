"""The data step of a run: read the pins, make the workspace match, report what was recorded.

Projects without ``.dvc/`` return None at once (no YAML read, no dvc import).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli import paths
from mlrun_cli.data import find_dvc_root
from mlrun_cli.data.config import read_config
from mlrun_cli.data.hashing import HashState
from mlrun_cli.data.objects import ObjectStore
from mlrun_cli.data.pins import (
    GitRevisionReader,
    Pin,
    PinReader,
    WorkTreeReader,
    check_pins,
    data_fingerprint,
    read_pins,
)
from mlrun_cli.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

    from mlrun_cli.tracking.models import DataRecord


@dataclass(frozen=True)
class DataRequest:
    """How the data step should behave."""

    project: Path
    top: Path  # the repository (or folder) the project belongs to
    own_workspace: bool  # True: the user's folder (changed data is theirs); False: mlrun's checkout
    data_version: str | None = None
    allow_dirty: bool = False
    offline: bool = False


@dataclass(frozen=True)
class DataPin:
    """What a run records about its data."""

    dvc_root: Path
    pins: tuple[Pin, ...]
    fingerprint: str
    revision: str | None
    remote_name: str | None
    remote_url: str | None
    pulled: tuple[str, ...]
    dirty: bool


def _changed_message(changed: list[tuple[str, str]]) -> str:
    listing = ", ".join(path for path, _ in changed[:20])
    more = f" ... ({len(changed)} in all)" if len(changed) > 20 else ""
    return f"data differs from what the commit pins: {listing}{more}"


def _compare(
    pins: list[Pin], dvc_root: Path, state: HashState, request: DataRequest,
    warn: Callable[[str], None],
) -> tuple[list[tuple[str, str]], list[Pin]]:  # fmt: skip
    """(paths the user changed, with their actual md5) and the pins to restore."""
    changed: list[tuple[str, str]] = []
    to_restore: list[Pin] = []
    for pin in pins:
        if not pin.is_output:
            continue
        if pin.legacy:
            warn(f"{pin.source}: {pin.path} uses DVC 2 hashes; not verified (run `dvc commit`)")
            continue
        actual = state.actual(dvc_root / pin.path)
        if actual == pin.md5:
            continue
        if actual is not None and request.own_workspace and request.data_version is None:
            changed.append((pin.path, actual))
        else:
            to_restore.append(pin)
    return changed, to_restore


def pin_data(
    request: DataRequest,
    warn: Callable[[str], None],
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]] | None = None,
) -> DataPin | None:
    """Pin, verify and restore a DVC project's data; None for a project without DVC."""
    dvc_root = find_dvc_root(request.project, request.top)
    if dvc_root is None:
        return None
    config = read_config(dvc_root)
    reader: PinReader = WorkTreeReader(dvc_root)
    if request.data_version is not None:
        prefix = dvc_root.relative_to(request.top).as_posix()
        reader = GitRevisionReader(
            request.top, "" if prefix == "." else prefix, request.data_version
        )
    pins = read_pins(reader)
    check_pins(pins, dvc_root)
    if request.own_workspace:
        cache = config.cache_dir or dvc_root / ".dvc" / "cache"
    else:
        # mlrun's clean checkouts share one cache across commits: data is downloaded once. A
        # cache.dir committed in the repository is someone else's setting: following it would
        # let any repository point mlrun's writes at any folder, so it is not.
        cache = paths.cache_dir() / "dvc-cache"
        if config.cache_dir is not None:
            warn(f"{dvc_root / '.dvc' / 'config'}: cache.dir ignored for mlrun's checkout "
                 f"(objects go to {cache})")  # fmt: skip
    store = ObjectStore(cache, config, dvc_root, request.offline, request.data_version)
    state = HashState(dvc_root)
    changed, to_restore = _compare(pins, dvc_root, state, request, warn)
    if changed and not request.allow_dirty:
        state.save()
        raise DataError(
            _changed_message(changed),
            hint="`dvc checkout` restores the pinned data; `dvc add` / `dvc commit` records new "
            "data; --allow-dirty-data runs anyway and records the actual hashes",
        )
    if request.data_version is not None and request.own_workspace and to_restore:
        warn(f"restoring data of {request.data_version} in {dvc_root}; `dvc checkout` returns "
             "to the current version")  # fmt: skip
    if to_restore:
        title = f"data: restoring {len(to_restore)} tracked path(s)"
        with progress(title) if progress else contextlib.nullcontext(lambda _: None) as step:
            for pin in to_restore:
                step(pin.path)
                store.materialize(pin, dvc_root / pin.path)
                state.actual(dvc_root / pin.path)  # remember the fresh files' hashes
    state.save()
    recorded = list(pins)
    if changed:
        actual_md5 = dict(changed)
        recorded = [
            Pin(p.path, actual_md5.get(p.path, p.md5), p.size, p.nfiles, p.source, p.is_output)
            for p in pins
        ]
    return DataPin(
        dvc_root=dvc_root,
        pins=tuple(recorded),
        fingerprint=data_fingerprint(recorded),
        revision=request.data_version,
        remote_name=config.remote_name,
        remote_url=config.remote_display,
        pulled=tuple(store.fetched),
        dirty=bool(changed),
    )


def restore_pins(
    record: DataRecord,
    project: Path,
    top: Path,
    *,
    offline: bool,
    extra_caches: tuple[Path, ...] = (),
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]] | None = None,
) -> DataPin:
    """Put a run's recorded data (its pins) in a checkout mlrun made, for ``reproduce``."""
    dvc_root = find_dvc_root(project, top)
    if dvc_root is None:
        raise DataError(f"cannot restore data: no .dvc folder at or above {project}")
    config = read_config(dvc_root)
    cache = config.cache_dir or paths.cache_dir() / "dvc-cache"
    store = ObjectStore(cache, config, dvc_root, offline, record.revision,
                        extra_caches=extra_caches)  # fmt: skip
    state = HashState(dvc_root)
    pins = tuple(
        Pin(p.path, p.md5, p.size, p.nfiles, "recorded run", p.is_output, legacy=False)
        for p in record.pins
    )
    check_pins(pins, dvc_root)
    missing = [p for p in pins if p.is_output and state.actual(dvc_root / p.path) != p.md5]
    if missing:
        with progress(f"data: restoring {len(missing)} recorded path(s)") if progress else (
            contextlib.nullcontext(lambda _: None)
        ) as step:  # fmt: skip
            for pin in missing:
                step(pin.path)
                store.materialize(pin, dvc_root / pin.path)
                state.actual(dvc_root / pin.path)
    state.save()
    return DataPin(dvc_root, pins, record.fingerprint, record.revision, config.remote_name,
                   config.remote_display, tuple(store.fetched), record.dirty)  # fmt: skip
