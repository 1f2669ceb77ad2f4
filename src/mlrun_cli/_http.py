"""Plain HTTP(S) downloads with the standard library (zip projects, remote ``path`` params)."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

REDACTED_USER = "***"  # what records hold in place of credentials (source.uri.redact)


class DownloadError(Exception):
    """A download failed; the message names the reason (never the URL's credentials)."""


class _SameOriginAuth(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but never carry credentials to another scheme, host or port."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            old, moved = urlsplit(req.full_url), urlsplit(newurl)
            if (old.scheme, old.hostname, old.port) != (moved.scheme, moved.hostname, moved.port):
                new.remove_header("Authorization")
        return new


def download(url: str, target: Path, update: Callable[[str], None] | None = None) -> None:
    """Stream ``url`` into ``target``. Credentials in the URL go as Basic auth, in memory only;
    a body shorter than its Content-Length is an error."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - validates the port (ValueError)
    except ValueError as exc:
        raise DownloadError(f"invalid URL: {exc}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise DownloadError(f"expected an http(s) URL; got scheme {parts.scheme!r}")
    headers = {"User-Agent": "mlrun"}
    placeholder = parts.username == REDACTED_USER
    if parts.username is not None:
        if not placeholder:  # a recorded URL's placeholder is no credential
            pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        url = urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - scheme checked above
    opener = urllib.request.build_opener(_SameOriginAuth)
    done = 0
    try:
        with opener.open(request, timeout=60) as response, target.open("wb") as out:
            expected = response.headers.get("Content-Length")
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                done += len(block)
                if update is not None:
                    update(f"{done / 1e6:.1f} MB")
        if expected is not None and expected.isdigit() and done != int(expected):
            raise DownloadError(f"incomplete: got {done} of {int(expected)} bytes")
    except DownloadError:
        raise
    except urllib.error.HTTPError as exc:
        hint = ""
        if placeholder and exc.code in (401, 403):
            hint = " (the run's URL held credentials, which mlrun never records)"
        raise DownloadError(f"HTTP {exc.code} {exc.reason}{hint}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadError(str(getattr(exc, "reason", exc))) from None
    except Exception as exc:  # noqa: BLE001 - http.client raises IncompleteRead and others
        raise DownloadError(f"{type(exc).__name__}: {exc}") from None
