"""Remote ``path`` values, downloaded before the run as MLflow does.

Each run's downloads live in ``~/.cache/mlrun/downloads/run-<pid>-<random>`` and are removed
when the run ends; folders left by an mlrun that was killed are swept by the next run that
downloads (their pid is gone). ``http(s)`` uses the standard library; other schemes go through
fsspec (``mlrun-cli[s3]``, ``mlrun-cli[gcs]``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from mlrun_cli import paths
from mlrun_cli.errors import DataError

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

_EXTRAS = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs"}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def new_scratch() -> Path:
    """A fresh folder for this run's downloads; stale ones of dead mlrun processes are removed."""
    root = paths.cache_dir() / "downloads"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("run-*-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"run-{os.getpid()}-", dir=root))


def _basename(url: str, name: str) -> str:
    last = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    return last if last not in ("", ".", "..") and "/" not in last else name


def download_input(
    name: str,
    url: str,
    scratch: Path,
    offline: bool,
    progress: Callable[[str], AbstractContextManager[Callable[[str], None]]],
) -> tuple[str, str, str]:
    """(recorded URL, local path, md5) of a remote ``path`` value."""
    from mlrun_cli.data.inputs import md5_uncached
    from mlrun_cli.source.uri import redact, redact_text

    shown = redact(url)
    if offline:
        raise DataError(f"input {name!r}: {shown} is a remote path; --offline forbids downloading")
    folder = scratch / name
    folder.mkdir()
    target = folder / _basename(url, name)
    scheme = url.split("://", 1)[0].lower()
    with progress(f"input {name}: downloading {shown}") as update:
        if scheme in ("http", "https"):
            from mlrun_cli._http import DownloadError, download

            try:
                download(url, target, update)
            except DownloadError as exc:
                raise DataError(f"cannot download {shown}: {exc}") from None
        else:
            try:
                _fsspec_get(url, scheme, target)
            except DataError as exc:
                message = redact_text(str(exc), url).replace(url, shown)
                raise DataError(message.splitlines()[0] if message else "download failed") from None
    return shown, str(target), md5_uncached(target)


def _fsspec_get(url: str, scheme: str, target: Path) -> None:
    extra = _EXTRAS.get(scheme)
    hint = f"pip install 'mlrun-cli[{extra}]'" if extra else "pip install fsspec"
    try:
        import fsspec
    except ImportError:
        raise DataError(f"{url}: {scheme}:// paths need fsspec ({hint})") from None
    try:
        fs, remote = fsspec.core.url_to_fs(url)
        if fs.isdir(remote):
            fs.get(remote.rstrip("/") + "/", str(target), recursive=True)
        else:
            fs.get_file(remote, str(target))
    except ImportError as exc:
        raise DataError(f"{url}: {scheme}:// needs a missing package: {exc} ({hint})") from None
    except FileNotFoundError:
        raise DataError(f"cannot download {url}: not found") from None
    except Exception as exc:  # noqa: BLE001 - every filesystem raises its own types
        raise DataError(f"cannot download {url}: {type(exc).__name__}: {exc}") from None
