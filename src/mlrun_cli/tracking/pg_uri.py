"""PostgreSQL URIs as mlrun shows and names them (stdlib only: no driver needed)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit


def redacted(uri: str) -> str:
    """The URI without its password, for messages."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def local_name(uri: str) -> str:
    """A folder name for the database on this machine: ``HOST-PORT-DB`` (no user, password
    or options), made of safe characters."""
    parts = urlsplit(uri)
    database = parts.path.lstrip("/") or (parts.username or "postgres")
    name = f"{parts.hostname or 'localhost'}-{parts.port or 5432}-{database}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
