"""Loopback servers for tests: a static HTTP server over a folder that records auth headers."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


Route = Callable[[http.server.BaseHTTPRequestHandler], None]


@contextlib.contextmanager
def serve_folder(
    folder: Path, routes: dict[str, Route] | None = None
) -> Iterator[tuple[str, list[str]]]:
    """Serve ``folder`` on 127.0.0.1; yields the base URL and the Authorization headers seen.

    ``routes``: path -> a function answering that request itself (redirects, broken bodies).
    """
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            route = (routes or {}).get(self.path)
            if route is not None:
                route(self)
                return
            super().do_GET()

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
