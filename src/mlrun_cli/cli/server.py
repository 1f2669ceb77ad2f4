"""``mlrun server``: the team tracking server, and its users and tokens (admin commands)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Annotated

import typer

from mlrun_cli.cli._output import handle_errors, info
from mlrun_cli.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mlrun_cli.server.auth import AuthStore

app = typer.Typer(
    help="Run the team tracking server; manage its users, tokens and database.",
    invoke_without_command=True,
    rich_markup_mode=None,
    add_completion=False,
)
users_app = typer.Typer(help="Users and their roles (run on the server's machine).",
                        no_args_is_help=True)  # fmt: skip
tokens_app = typer.Typer(help="Tokens users authenticate with.", no_args_is_help=True)
db_app = typer.Typer(help="The backend database's schema.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
app.add_typer(db_app, name="db")

BackendStore = Annotated[
    str | None,
    typer.Option(
        "--backend-store-uri",
        metavar="URI",
        help="Where runs are stored: sqlite:///relative.db, sqlite:////absolute.db or "
        "postgresql://user@host:port/db.",
        show_default=False,
    ),
]


def _config(backend_store_uri: str | None, **options: object) -> object:
    from mlrun_cli.server.config import ServerConfig

    if not backend_store_uri:
        raise UsageError(
            "--backend-store-uri is required (e.g. sqlite:////srv/mlrun/mlrun.db or "
            "postgresql://mlrun@db.internal:5432/mlrun)"
        )
    return ServerConfig(backend_store_uri, **options)  # type: ignore[arg-type]


@app.callback()
@handle_errors
def serve(
    ctx: typer.Context,
    backend_store_uri: BackendStore = None,
    artifacts_destination: Annotated[
        str,
        typer.Option(
            "--artifacts-destination",
            metavar="DIR",
            help="A folder or s3://bucket/prefix (SQLite's default: 'artifacts' beside the "
            "database; required with PostgreSQL).",
        ),
    ] = "",
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 5000,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 1,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without tokens (loopback only).")
    ] = False,
) -> None:
    """Serve the tracking store to a team: our API (/api/v1) and MLflow's REST API."""
    if ctx.invoked_subcommand is not None:
        ctx.obj = backend_store_uri
        return
    config = _config(backend_store_uri, artifacts_destination=artifacts_destination,
                     host=host, port=port, workers=workers, no_auth=no_auth)  # fmt: skip
    from mlrun_cli.server.run import serve_forever

    serve_forever(config)  # type: ignore[arg-type]


@contextlib.contextmanager
def _auth(ctx: typer.Context, backend_store_uri: str | None) -> Iterator[AuthStore]:
    from mlrun_cli.server.auth import AuthStore
    from mlrun_cli.server.config import ServerConfig, open_backend

    config = _config(backend_store_uri or ctx.obj)
    assert isinstance(config, ServerConfig)  # noqa: S101 - built above
    # SQLite: created and migrated if new; PostgreSQL: refused unless upgraded.
    store = open_backend(config, serving=False)
    try:
        yield AuthStore(store)
    finally:
        store.close()


@users_app.command("add")
@handle_errors
def users_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user's name.")],
    role: Annotated[str, typer.Option("--role", help="read, write or admin.")],
    experiment_id: Annotated[
        str,
        typer.Option("--experiment-id", metavar="ID", help="The experiment ('*': every one)."),
    ] = "*",
    backend_store_uri: BackendStore = None,
) -> None:
    """Create a user (or change their role) on one experiment or every one."""
    with _auth(ctx, backend_store_uri) as auth:
        auth.add_user(name, role, experiment_id)
    where = "every experiment" if experiment_id == "*" else f"experiment {experiment_id}"
    info(f"user {name}: {role} on {where}")


@users_app.command("list")
@handle_errors
def users_list(ctx: typer.Context, backend_store_uri: BackendStore = None) -> None:
    """List users and their roles."""
    with _auth(ctx, backend_store_uri) as auth:
        users = auth.users()
    for user in users:
        roles = ", ".join(f"{role} on {target}" for target, role in user.roles) or "no role"
        typer.echo(f"{user.name}\t{roles}")


@tokens_app.command("create")
@handle_errors
def tokens_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user the token is for.")],
    backend_store_uri: BackendStore = None,
) -> None:
    """Create a token for a user; it is printed once (only its hash is stored)."""
    with _auth(ctx, backend_store_uri) as auth:
        token = auth.create_token(name)
    typer.echo(token)


@users_app.command("remove")
@handle_errors
def users_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user to remove.")],
    backend_store_uri: BackendStore = None,
) -> None:
    """Remove a user, their roles and every token of theirs (refused from the next request)."""
    with _auth(ctx, backend_store_uri) as auth:
        gone = auth.remove_user(name)
    info(f"user {name} removed, with {gone} token(s)")


@tokens_app.command("list")
@handle_errors
def tokens_list(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="[NAME]", help="Only this user's tokens.")
    ] = None,
    backend_store_uri: BackendStore = None,
) -> None:
    """List live tokens by id (never the tokens): user, created (UTC), and a run-scoped one's
    run and expiry."""
    import datetime

    from mlrun_cli.cli._table import Table, print_table

    def utc(ms: int | None) -> str:
        if ms is None:
            return ""
        moment = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
        return moment.strftime("%Y-%m-%d %H:%M")

    with _auth(ctx, backend_store_uri) as auth:
        found = auth.tokens(name)
    table = Table(["id", "user", "created (UTC)", "run", "expires (UTC)"], fixed={0, 2, 4})
    for token in found:
        run = token.run_id[:8] if token.run_id else ""
        table.add_row(token.token_id, token.name, utc(token.created_at), run,
                      utc(token.expires_at))  # fmt: skip
    if found:
        print_table(table)


@tokens_app.command("revoke")
@handle_errors
def tokens_revoke(
    ctx: typer.Context,
    token: Annotated[
        str,
        typer.Argument(
            metavar="TOKEN_OR_ID",
            help="The token, or its id from `tokens list` (a unique prefix of 8 or more).",
        ),
    ],
    backend_store_uri: BackendStore = None,
) -> None:
    """Revoke a token and the run-scoped tokens it minted: refused from the next request on."""
    with _auth(ctx, backend_store_uri) as auth:
        gone, minted = auth.revoke_token(token)
    also = f", with the {minted} run token(s) it minted" if minted else ""
    info(f"token {gone.token_id} of {gone.name} revoked{also}")


@db_app.command("upgrade")
@handle_errors
def db_upgrade(ctx: typer.Context, backend_store_uri: BackendStore = None) -> None:
    """Bring the backend database to this mlrun's schema (safe to repeat, or to run twice at
    once); prints the schema version before and after."""
    from mlrun_cli.server.config import store_location
    from mlrun_cli.tracking.sql.migrate import upgrade_database

    config = _config(backend_store_uri or ctx.obj)
    location = store_location(config, serving=False)  # type: ignore[arg-type]
    before, after = upgrade_database(location.uri)
    state = "already current" if before == after else "upgraded"
    typer.echo(f"{location.shown_uri}: schema version {before} -> {after} ({state})")


def _command() -> object:
    from typer.main import get_command

    return get_command(app)


# What ``mlrun``'s lazy command table loads: the whole group, callback and subgroups.
COMMAND = _command()
