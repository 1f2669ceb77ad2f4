"""Plain HTTP(S) downloads with the standard library (zip projects, remote ``path`` params)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class DownloadError(Exception):
    """A download failed; the message names the reason (never the URL's credentials)."""


def download(url: str, target: Path, update: Callable[[str], None] | None = None) -> None:
    """Stream ``url`` into ``target``. Credentials in the URL go as Basic auth, in memory only."""
    parts = urlsplit(url)
    headers = {"User-Agent": "mlrun"}
    if parts.username is not None:
        # urllib does not send a URL's userinfo by itself.
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    if parts.scheme.lower() not in ("http", "https"):
        raise DownloadError(f"expected an http(s) URL; got scheme {parts.scheme!r}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    done = 0
    try:
        with urllib.request.urlopen(request, timeout=60) as response, target.open("wb") as out:  # noqa: S310
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                if update is not None:
                    update(f"{done / 1e6:.1f} MB")
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(str(getattr(exc, "reason", exc))) from None
