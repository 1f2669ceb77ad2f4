"""The tracking token reaches a remote worker through a one-time ticket, never through disk.

Every channel an engine offers to a job is written down: Ray keeps a job's ``env_vars`` in its
job info (shown by the Jobs API to anyone who reaches the dashboard) and in
``runtime_env_agent.log``; slurmctld saves a job's environment and script under its
``StateSaveLocation``. So the submitter keeps the token in its memory and serves it from a
small HTTP endpoint of its own; each job carries only a ticket (``MLRUN_TOKEN_TICKET``: the
endpoint's URL and 256 random bits) that the worker's mlrun redeems once at its start, keeping
the token in its process environment. A ticket is worth nothing once redeemed, or once the
submitter has ended; one redeemed by someone else makes the real worker fail (and the run with
it): a stolen ticket is seen, not silent.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import secrets
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

from mlrun_cli.errors import StoreError, UsageError

TOKEN_ENV = "MLRUN_TRACKING_TOKEN"  # noqa: S105 - a variable name
TICKET_ENV = "MLRUN_TOKEN_TICKET"
# Never passed to an engine: the submitter's secrets, and the ticket itself (only its own job's).
SECRET_ENV = (TOKEN_ENV, TICKET_ENV, "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_PASSWORD")
CLAIM_TIMEOUT_S = 30.0


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Handoff:
    """The submitter's endpoint: one ticket per job, each redeemed at most once."""

    def __init__(self, token: str, host: str, port: int) -> None:
        self._token = token
        self._open: dict[str, str] = {}  # digest of a ticket's secret -> run id
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        handoff = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                answer = handoff.redeem(self.path.lstrip("/"))
                body = (answer or "unknown or already redeemed ticket").encode()
                self.send_response(200 if answer else 404)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                """Silent: a request line names a ticket."""

        try:
            self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        except OSError as exc:
            raise UsageError(
                f"--backend-config: callback_host {host!r}, callback_port {port}: cannot listen "
                f"there for the workers' token tickets: {exc.strerror}"
            ) from None
        self._server.daemon_threads = True
        self.url = f"http://{_url_host(host)}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True,
                         name="mlrun-token-handoff").start()  # fmt: skip

    def ticket(self, run_id: str) -> str:
        """A new ticket for the job of ``run_id`` (the value of ``MLRUN_TOKEN_TICKET``)."""
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._open[_digest(secret)] = run_id
        return f"{self.url}/{secret}"

    def redeem(self, secret: str) -> str | None:
        """The token, once per ticket; None for an unknown or spent one."""
        with self._lock:
            run_id = self._open.pop(_digest(secret), None)
            if run_id is None:
                return None
            self._claimed.add(run_id)
        return self._token

    def serves(self, token: str) -> bool:
        """Whether this endpoint hands out ``token``."""
        return secrets.compare_digest(self._token, token)

    def claimed(self, run_id: str) -> bool:
        """Whether the job of ``run_id`` has redeemed its ticket."""
        with self._lock:
            return run_id in self._claimed


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


_HANDOFFS: dict[tuple[str, int], Handoff] = {}
_HANDOFFS_LOCK = threading.Lock()


def address_towards(host: str) -> str:
    """This machine's address on the route to ``host`` (no packet is sent)."""
    try:
        infos = socket.getaddrinfo(host, 9, type=socket.SOCK_DGRAM)
    except OSError:
        return "127.0.0.1"
    family, _, _, _, target = infos[0]
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(target)
        except OSError:
            return "127.0.0.1"
        return str(probe.getsockname()[0])


def handoff_for(config: dict[str, Any], target: str) -> Handoff | None:
    """The process's handoff endpoint facing ``target`` (started once), or None when there is
    no token to hand over. ``callback_host`` / ``callback_port`` in the backend's config choose
    where it listens (default: this machine's address towards the engine, any free port)."""
    token = os.environ.get(TOKEN_ENV)
    if not token:
        return None
    host = str(config.get("callback_host") or address_towards(target))
    try:
        port = int(config.get("callback_port") or 0)
    except (TypeError, ValueError):
        raise UsageError(
            f"--backend-config: callback_port {config.get('callback_port')!r}: expected a number"
        ) from None
    with _HANDOFFS_LOCK:
        for (known_host, known_port), handoff in _HANDOFFS.items():
            if known_host == host and port in (0, known_port) and handoff.serves(token):
                return handoff
        handoff = Handoff(token, host, port)
        _HANDOFFS[(host, port)] = handoff
        return handoff


def redeem_ticket() -> None:
    """On the worker: trade ``MLRUN_TOKEN_TICKET`` for the token, kept in this process's
    environment (the ticket is removed). The entry point inherits the token, as a local run's
    does, so that the steps it starts with ``mlrun run`` can record."""
    ticket = os.environ.pop(TICKET_ENV, None)
    if not ticket:
        return
    if not ticket.startswith("http://"):
        raise UsageError(f"{TICKET_ENV}: expected the URL of a ticket")
    request = urllib.request.Request(ticket, data=b"", method="POST")  # noqa: S310 - http only
    try:
        with urllib.request.urlopen(request, timeout=CLAIM_TIMEOUT_S) as answer:  # noqa: S310
            token = answer.read().decode()
    except urllib.error.HTTPError as exc:
        with contextlib.suppress(OSError):
            exc.close()
        raise StoreError(
            f"{TICKET_ENV}: the submitter refused this job's ticket (HTTP {exc.code}): it was "
            "redeemed already, by someone else if not by this job, or the submitter restarted",
            hint="resubmit the run; if nobody else ran it, treat the token as leaked",
        ) from None
    except (OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        raise StoreError(
            f"{TICKET_ENV}: cannot reach the submitter to redeem this job's ticket ({reason})",
            hint="the submitting mlrun must run until the job starts, and be reachable from "
            "the nodes (callback_host / callback_port in --backend-config)",
        ) from None
    os.environ[TOKEN_ENV] = token
