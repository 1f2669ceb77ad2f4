"""The loopback MLflow endpoint ``mlrun run`` serves while an entry point that has MLflow runs.

A small HTTP/1.1 server (sockets, selectors and threads from the standard library: importing
``http.server`` alone costs ~12 ms, which would be most of the budget for deciding and
starting) on ``127.0.0.1:<free port>``, one thread per connection, keep-alive. Every request
goes to ``handlers.handle``; the store is used by one request at a time.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
import selectors
import socket
import threading
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

if TYPE_CHECKING:
    from mlrun_cli.mlflow_compat.protocol import MlflowError, Request, Response
    from mlrun_cli.mlflow_compat.session import Session

if TYPE_CHECKING:
    from collections.abc import Callable


_log = logging.getLogger(__name__)

# Uploads larger than this are streamed to their file instead of read into memory.
STREAM_UPLOADS_OVER = 1 << 20
_MAX_LINE = 65536
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            500: "Internal Server Error", 503: "Service Unavailable"}  # fmt: skip


class _BadRequestError(Exception):
    pass


# A JSON request body larger than this is refused (uploads above STREAM_UPLOADS_OVER stream).
_MAX_BODY = 256 << 20


def _read_chunked(stream: BinaryIO) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = stream.readline(_MAX_LINE)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequestError from None
        if size < 0 or total + size > _MAX_BODY:
            raise _BadRequestError
        if size == 0:
            while True:
                trailer = stream.readline(_MAX_LINE)
                if not trailer:
                    raise _BadRequestError  # cut off before the last chunk's end
                if trailer in (b"\r\n", b"\n"):
                    return b"".join(parts)
        chunk = stream.read(size)
        if len(chunk) < size:
            raise _BadRequestError  # the client went away mid-chunk: nothing is recorded
        parts.append(chunk)
        total += size
        stream.readline(_MAX_LINE)


def _read_request(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], stream: BinaryIO
) -> Request | MlflowError | None:
    """The request with its body (a large upload's to be streamed); an error to answer; or
    None when the body ended before its Content-Length."""
    from mlrun_cli.mlflow_compat.protocol import MlflowError, Request

    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        length = -1
    if length < 0:
        return MlflowError("BAD_REQUEST", "Content-Length must be a non-negative integer")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Request(method, path, query, _read_chunked(stream))
    if method == "PUT" and length > STREAM_UPLOADS_OVER:
        return Request(method, path, query, stream=stream, length=length)
    if length > _MAX_BODY:
        return MlflowError("BAD_REQUEST", f"a request body over {_MAX_BODY} bytes")
    body = stream.read(length)
    return Request(method, path, query, body) if len(body) == length else None


class LoopbackEndpoint:
    """Serves MLflow's REST API for one mlrun run until ``close``."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._wake_r, self._wake_w = socket.socketpair()
        self._connections: set[socket.socket] = set()
        self._guard = threading.Lock()
        self._closed = False
        # Other users of a shared machine can reach 127.0.0.1 too: only the child, which gets
        # this token as MLFLOW_TRACKING_TOKEN (sent by MLflow as a bearer token), may write.
        self.token = secrets.token_urlsafe(24)
        self._thread = threading.Thread(target=self._accept_loop, name="mlrun-mlflow", daemon=True)
        self._thread.start()

    @property
    def uri(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def child_environment(self, env: dict[str, str]) -> None:
        """Point the child's MLflow client at this endpoint and at the mlrun run."""
        # A name would make MLflow look the experiment up instead of using the run's.
        env.pop("MLFLOW_EXPERIMENT_NAME", None)
        env.update(
            {
                "MLFLOW_TRACKING_URI": self.uri,
                "MLFLOW_REGISTRY_URI": self.uri,
                "MLFLOW_RUN_ID": self.session.run_id,
                "MLFLOW_EXPERIMENT_ID": self.session.experiment_id,
                "MLFLOW_TRACKING_TOKEN": self.token,
            }
        )
        for name in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
            env.pop(name, None)  # basic auth would replace the token
        # MLflow prints "View run at <url>" links: this endpoint has no web UI to view.
        env.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

    # -- serving ------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        conn, _ = self._listener.accept()
                    except OSError:
                        continue
                    with self._guard:
                        self._connections.add(conn)
                    try:
                        threading.Thread(
                            target=self._serve, args=(conn,), name="mlrun-mlflow-conn",
                            daemon=True,
                        ).start()  # fmt: skip
                    except RuntimeError as exc:  # no thread to spare: refuse this connection
                        _log.debug("mlflow endpoint: connection refused: %s", exc)
                        with self._guard:
                            self._connections.discard(conn)
                        conn.close()

    def _serve(self, conn: socket.socket) -> None:
        from mlrun_cli.mlflow_compat.handlers import handle

        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stream = conn.makefile("rb")
        try:
            while self._serve_one(conn, stream, handle):
                pass
        except (OSError, _BadRequestError):
            pass
        except Exception as exc:  # noqa: BLE001 - a thread's traceback would land in the user's terminal
            _log.debug("mlflow endpoint: connection dropped: %s: %s", type(exc).__name__, exc)
        finally:
            with self._guard:
                self._connections.discard(conn)
            stream.close()
            conn.close()

    def _serve_one(
        self, conn: socket.socket, stream: BinaryIO, handle: Callable[[Session, Request], Response]
    ) -> bool:
        from mlrun_cli.mlflow_compat.protocol import MlflowError, error_response

        line = stream.readline(_MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = stream.readline(_MAX_LINE)
        if not line:
            return False
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            raise _BadRequestError
        method, target, version = parts
        headers: dict[str, str] = {}
        while True:
            header = stream.readline(_MAX_LINE)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        # Authenticated before a byte of the body is read: another local user cannot make
        # mlrun read (and hold) an arbitrary body.
        if not hmac.compare_digest(headers.get("authorization", ""), f"Bearer {self.token}"):
            response = error_response(
                MlflowError("UNAUTHENTICATED", "missing or wrong MLFLOW_TRACKING_TOKEN")
            )
            self._send(conn, response, keep=False)
            return False
        if headers.get("expect", "").lower() == "100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        split = urlsplit(target)
        request = _read_request(
            method, unquote(split.path), parse_qs(split.query, keep_blank_values=True), headers,
            stream,
        )  # fmt: skip
        if isinstance(request, MlflowError):
            self._send(conn, error_response(request), keep=False)
            return False
        if request is None:
            return False  # the client went away mid-body: nothing is recorded
        streamed = request.stream is not None
        response = handle(self.session, request)
        # A streamed upload refused half-way leaves unread bytes: this connection is done.
        keep = keep and not (streamed and response.status != 200)
        self._send(conn, response, keep)
        return keep

    @staticmethod
    def _send(conn: socket.socket, response: Response, keep: bool) -> None:
        reason = _REASONS.get(response.status, "Error")
        if response.file is not None:
            size = response.file.stat().st_size
            content_type = "application/octet-stream"
        else:
            payload = response.json_bytes()
            size = len(payload)
            content_type = "application/json"
        head = (
            f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {size}\r\nConnection: {'keep-alive' if keep else 'close'}\r\n\r\n"
        )
        if response.file is None:
            conn.sendall(head.encode("latin-1") + payload)
            return
        conn.sendall(head.encode("latin-1"))
        with response.file.open("rb") as handle:
            conn.sendfile(handle)

    # -- the end of the run ---------------------------------------------------------------
    def close(self) -> list[str]:
        """Stop serving, end the runs the code left RUNNING; return warnings for the user."""
        if self._closed:
            return []
        self._closed = True
        self._wake_w.send(b"x")
        self._thread.join()
        with self._guard:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        for sock in (self._listener, self._wake_r, self._wake_w):
            sock.close()
        with self.session.lock:
            try:
                return finish_session(self.session)
            finally:
                if self.session.store_opened:
                    self.session.store.close()


def finish_session(session: Session) -> list[str]:
    """End the runs the code created and left RUNNING (with the mlrun run's status)."""
    from mlrun_cli.tracking import models

    warnings = []
    if session.created or session.ignored_statuses:
        store = session.store
        final = store.get_run(session.run_id)
        status = final.status if final.status != models.RUNNING else models.FAILED
        reason = f"the mlrun run {session.run_id} ended ({status})"
        for run_id in session.created:
            store.finish_run(run_id, status, reason=reason)
        said = session.ignored_statuses[-1:]
        if final.status == models.FINISHED and said not in ([], [models.FINISHED]):
            warnings.append(
                f"the code ended its MLflow run as {said[0]}; mlrun recorded FINISHED from the "
                "entry point's exit status"
            )
    if session.unknown:
        calls = sum(session.unknown.values())
        names = ", ".join(f"{name} ({n})" for name, n in sorted(session.unknown.items())[:5])
        warnings.append(
            f"{calls} MLflow call(s) to endpoints mlrun does not implement were refused "
            f"(ENDPOINT_NOT_FOUND): {names}"
        )
    return warnings
