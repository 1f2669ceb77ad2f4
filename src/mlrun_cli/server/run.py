"""Starting uvicorn: one process, or ``--workers N`` processes sharing the port."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlrun_cli.server.config import ServerConfig


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
