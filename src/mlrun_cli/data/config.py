"""The parts of a DVC project's config mlrun needs: the default remote and the cache folder."""

from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path

from mlrun_cli.source.uri import redact


@dataclass(frozen=True)
class DvcConfig:
    """The default remote (name, URL) and the configured cache folder, if any."""

    remote_name: str | None
    remote_url: str | None
    cache_dir: Path | None

    @property
    def remote_display(self) -> str | None:
        """The remote URL with credentials removed (what is recorded)."""
        return None if self.remote_url is None else redact(self.remote_url)


def _unquote(section: str) -> str:
    return section.strip().strip("'").strip()


def read_config(dvc_root: Path) -> DvcConfig:
    """Merge ``.dvc/config`` and ``.dvc/config.local`` (local wins)."""
    parser = configparser.ConfigParser(interpolation=None)
    for name in ("config", "config.local"):
        path = dvc_root / ".dvc" / name
        if path.is_file():
            parser.read(path)
    sections = {_unquote(s): dict(parser.items(s)) for s in parser.sections()}
    core = sections.get("core", {})
    remote_name = core.get("remote")
    remote_url = None
    if remote_name:
        remote_url = sections.get(f'remote "{remote_name}"', {}).get("url")
        if remote_url and "://" not in remote_url and not Path(remote_url).is_absolute():
            # DVC resolves relative local remotes against the .dvc folder.
            remote_url = str((dvc_root / ".dvc" / remote_url).resolve())
    cache = sections.get("cache", {}).get("dir")
    cache_dir = None
    if cache:
        cache_dir = (
            Path(cache) if Path(cache).is_absolute() else (dvc_root / ".dvc" / cache).resolve()
        )
    return DvcConfig(remote_name, remote_url, cache_dir)
