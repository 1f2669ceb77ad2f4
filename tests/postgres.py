"""A real PostgreSQL for tests: ``initdb`` into a temp folder, started on a loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (the
Debian package creates it). Tests skip only when the server binaries are not installed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def server_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl (Debian's versioned one first), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if found:
        return Path(found[0]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; ``new_database()`` gives each test its own migrated database."""

    bindir: Path
    root: Path
    port: int
    as_user: list[str]
    _count: itertools.count[int]

    @property
    def admin_uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def uri(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, *, migrated: bool = True) -> str:
        """A fresh database (copied from a migrated template: fast); its URI."""
        import psycopg

        name = f"t{next(self._count)}"
        template = "mlrun_template" if migrated else "template0"
        with psycopg.connect(self.admin_uri, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.uri(name)

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: clients are disconnected, open transactions rolled back,
        and the server is back (same port and options) when this returns."""
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
             "-l", str(self.root / "log"), "-m", "fast", "-w", "restart"],
            check=True, capture_output=True,
        )  # fmt: skip

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"),
             "-m", "immediate", "-w", "stop"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def start_server() -> PostgresServer | None:
    """initdb + pg_ctl start on a free loopback port; None when PostgreSQL is not installed."""
    bindir = server_bindir()
    if bindir is None:
        return None
    root = Path(tempfile.mkdtemp(prefix="mlrun-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sockets = root / "data", root / "sock"
    for cmd in (
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
         "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
        ["mkdir", str(sockets)],
    ):  # fmt: skip
        subprocess.run([*as_user, *cmd], check=True, capture_output=True)
    port = _free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
         "-o", options, "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    server = PostgresServer(bindir, root, port, as_user, itertools.count())
    try:
        import psycopg

        from mlrun_cli.tracking.sql.migrate import upgrade_database

        with psycopg.connect(server.admin_uri, autocommit=True) as conn:
            conn.execute("CREATE DATABASE mlrun_template")
        upgrade_database(server.uri("mlrun_template"))
    except BaseException:
        with contextlib.suppress(Exception):
            server.stop()
        raise
    return server
