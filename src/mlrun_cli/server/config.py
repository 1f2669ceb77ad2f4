"""What ``mlrun server`` was started with, and the store and auth it opens from that."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.errors import StoreError, UsageError

if TYPE_CHECKING:
    from mlrun_cli.tracking.postgres import PostgresStore
    from mlrun_cli.tracking.sqlite import SqliteStore
    from mlrun_cli.tracking.store import StoreLocation

# How the workers uvicorn starts (one process each) learn the configuration.
CONFIG_ENV = "MLRUN_SERVER_CONFIG"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class ServerConfig:
    """``mlrun server``'s options, validated."""

    backend_store_uri: str
    artifacts_destination: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    no_auth: bool = False

    def __post_init__(self) -> None:
        if self.no_auth and self.host not in LOOPBACK_HOSTS:
            raise UsageError(
                f"--no-auth with --host {self.host}: without auth the server may only listen "
                "on loopback (127.0.0.1, ::1, localhost)"
            )
        if self.workers < 1:
            raise UsageError(f"--workers {self.workers}: expected 1 or more")
        if not 1 <= self.port <= 65535:
            raise UsageError(f"--port {self.port}: expected 1..65535")

    def to_env(self) -> str:
        """The configuration as the JSON the workers read from :data:`CONFIG_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServerConfig:
        """The configuration the parent process handed the workers."""
        return cls(**json.loads(os.environ[CONFIG_ENV]))


def store_location(config: ServerConfig, *, serving: bool = True) -> StoreLocation:
    """Where the backend store and the local artifact root are.

    SQLite: artifacts default to ``artifacts/`` beside the database. PostgreSQL: a server
    needs ``--artifacts-destination`` (the database names no folder); the admin commands
    (users, tokens, db upgrade) do not. With ``s3://`` the files the server receives are kept
    in ``MLRUN_HOME/postgres/HOST-PORT-DB/artifacts`` (SQLite: beside the database).
    """
    from mlrun_cli.tracking.store import POSTGRES_SCHEMES, StoreLocation, postgres_location

    uri = config.backend_store_uri
    destination = config.artifacts_destination
    # A remote destination (s3://) gets every file the server receives in this folder.
    local = destination and "://" not in destination
    folder = Path(destination).expanduser().absolute() if local else None
    if uri.startswith(POSTGRES_SCHEMES):
        if serving and not destination:
            from mlrun_cli.tracking.pg_uri import redacted

            raise UsageError(
                f"--backend-store-uri {redacted(uri)}: a PostgreSQL backend needs "
                "--artifacts-destination DIR or s3://bucket/prefix"
            )
        return postgres_location(uri, "--backend-store-uri", folder)
    if not uri.startswith("sqlite:///"):
        scheme = uri.split("://", 1)[0] if "://" in uri else uri
        raise StoreError(
            f"--backend-store-uri {uri!r}: unsupported scheme {scheme!r}; expected "
            "sqlite:///relative.db, sqlite:////absolute.db or postgresql://user@host:port/db"
        )
    db = Path(uri[len("sqlite:///") :]).expanduser().absolute()
    return StoreLocation(db, folder or db.parent / "artifacts", "--backend-store-uri")


def open_backend(config: ServerConfig, *, serving: bool = True) -> SqliteStore | PostgresStore:
    """The backend store: SQLite is created and migrated if new; PostgreSQL must have been
    upgraded (``mlrun server db upgrade``), and one this mlrun is older than is refused."""
    from mlrun_cli.tracking.postgres import PostgresStore
    from mlrun_cli.tracking.sqlite import SqliteStore

    location = store_location(config, serving=serving)
    if location.database is not None:
        return PostgresStore(location)
    return SqliteStore(location)
