"""Starting uvicorn: one process, or ``--workers N`` processes sharing the port."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.server.config import ServerConfig


def _check_port(host: str, port: int) -> None:
    """One error line for an address already in use (uvicorn would log and exit 3)."""
    import socket

    from mlrun_cli.errors import UsageError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(
                f"--host {host} --port {port}: cannot listen: {exc.strerror}"
            ) from None


def serve_forever(config: ServerConfig) -> None:
    """Serve until interrupted (the store is opened, and migrated, before listening)."""
    import sys

    from mlrun_cli.errors import UsageError
    from mlrun_cli.server.config import CONFIG_ENV, open_backend

    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError:
        raise UsageError(
            "mlrun server needs the server extra: pip install 'mlrun-cli[server]'"
        ) from None
    open_backend(config).close()  # fail before binding: a bad store URI is one error line
    _check_port(config.host, config.port)
    os.environ[CONFIG_ENV] = config.to_env()
    auth = "no auth (loopback only)" if config.no_auth else "tokens required"
    sys.stderr.write(f"mlrun server: http://{config.host}:{config.port} ({auth})\n")
    sys.stderr.flush()
    uvicorn.run(
        "mlrun_cli.server.app:create_app",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers if config.workers > 1 else None,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
