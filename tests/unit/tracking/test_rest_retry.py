"""The HTTP client store asks again while the server answers 503 (its database restarting)."""

from __future__ import annotations

import http.server
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from mlrun_cli.errors import StoreError
from mlrun_cli.tracking.stores.rest import RestStore

if TYPE_CHECKING:
    from collections.abc import Iterator


class _Flaky(http.server.ThreadingHTTPServer):
    unavailable = 0  # how many requests answer 503 before one answers 200
    seen = 0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Flaky

    def do_GET(self) -> None:
        self.server.seen += 1
        down = self.server.seen <= self.server.unavailable
        body = json.dumps(
            {"error": {"code": "StoreError", "message": "database is restarting"}}
            if down else {"offset": 7}
        ).encode()  # fmt: skip
        self.send_response(503 if down else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[_Flaky]:
    server = _Flaky(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_503_is_asked_again_until_the_server_answers(
    flaky: _Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRUN_TRACKING_RETRY_SECONDS", "30")
    flaky.unavailable = 3
    store = RestStore(f"http://127.0.0.1:{flaky.server_address[1]}")
    assert store.call("GET", "/runs/r/offset") == {"offset": 7}
    assert flaky.seen == 4


def test_a_503_past_the_deadline_is_the_servers_error(
    flaky: _Flaky, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLRUN_TRACKING_RETRY_SECONDS", "0.5")
    flaky.unavailable = 1_000
    store = RestStore(f"http://127.0.0.1:{flaky.server_address[1]}")
    with pytest.raises(StoreError, match="database is restarting"):
        store.call("GET", "/runs/r/offset")
    assert 2 <= flaky.seen < 1_000
