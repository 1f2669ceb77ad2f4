"""Paths as people recognise them: ``~/work/wine`` rather than an absolute path, and
``https://host/repo.git@3f2a9c1b5d7e#sub`` rather than a git checkout under the cache."""

from __future__ import annotations

from pathlib import Path


def _mirror_url(mirror: Path) -> str | None:
    """The remote URL a bare mirror was cloned from (its config, read as text: no git call)."""
    try:
        lines = (mirror / "config").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    in_origin = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            in_origin = stripped.replace(" ", "") in ('[remote"origin"]',)
        elif in_origin and stripped.startswith("url"):
            return stripped.partition("=")[2].strip() or None
    return None


def project_place(text: str) -> str:
    """A recorded project folder shown as a place: a git checkout as its URL, commit and
    subdirectory; a folder under the home directory with ``~``."""
    from mlrun_cli import paths
    from mlrun_cli.source.uri import redact

    path = Path(text)
    checkouts = paths.git_cache_dir() / "checkouts"
    if path.is_relative_to(checkouts):
        parts = path.relative_to(checkouts).parts
        if len(parts) >= 2:
            key, commit, sub = parts[0], parts[1].partition("+")[0], "/".join(parts[2:])
            url = _mirror_url(paths.git_cache_dir() / "mirrors" / f"{key}.git") or "git"
            return f"{redact(url)}@{commit[:12]}" + (f"#{sub}" if sub else "")
    home = Path.home()
    if path.is_relative_to(home) and path != home:
        return str(Path("~") / path.relative_to(home))
    return text
