"""``mlrun ui``: serve the web UI over a local tracking store (read-only)."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.models import CommandInfo

from mlrun_cli.cli._options import TrackingUri
from mlrun_cli.cli._output import handle_errors, info, warn
from mlrun_cli.errors import UsageError

# Compare URLs carry every selected run id (500 runs: ~17 KB); h11's default cap is 16 KiB.
MAX_REQUEST_BYTES = 1024 * 1024


@handle_errors
def ui_command(
    tracking_uri: TrackingUri = None,
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", "-p", metavar="N", help="Port to listen on.")
    ] = 5000,
) -> None:
    """Serve the web UI: experiments, runs, run pages and comparisons, read-only."""
    try:
        import uvicorn

        from mlrun_cli.ui.app import create_app
    except ImportError as exc:
        raise UsageError(
            f"mlrun ui needs the ui extra ({exc.name} is missing)",
            hint="pip install 'mlrun-cli[ui]'",
        ) from None
    from mlrun_cli.tracking.store import open_store, resolve_location

    if not 0 < port < 65536:
        raise UsageError(f"--port: expected 1-65535; got {port}")
    location = resolve_location(tracking_uri)
    open_store(tracking_uri, create=False).close()  # a clear error now, not on the first page
    _check_free(host, port)
    app = create_app(lambda: open_store(tracking_uri, create=False))
    shown = location.db_path if location.database is None else location.shown_uri
    info(f"mlrun ui: http://{host}:{port}/  (store {shown}, read-only; Ctrl-C stops)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        warn(f"--host {host}: anyone who can reach this address can read every run in the store")
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        h11_max_incomplete_event_size=MAX_REQUEST_BYTES,
    )


def _check_free(host: str, port: int) -> None:
    """A taken port or an unknown host as one ``error:`` line (uvicorn would log and exit 1)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"--host {host!r}: cannot listen there ({exc})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror})",
                hint="choose another with --port",
            ) from None


UI = CommandInfo(
    "ui",
    callback=ui_command,
    epilog="""\b
Examples:
  mlrun ui
  mlrun ui --tracking-uri ./mlruns --port 8080""",
)
