"""``mlrun server``: the team tracking server, and its users and tokens (admin commands)."""

from __future__ import annotations

from typing import Annotated

import typer

from mlrun_cli.cli._output import handle_errors, info
from mlrun_cli.errors import UsageError

app = typer.Typer(
    help="Run the team tracking server; manage its users and tokens.",
    invoke_without_command=True,
    rich_markup_mode=None,
    add_completion=False,
)
users_app = typer.Typer(help="Users and their roles (run on the server's machine).",
                        no_args_is_help=True)  # fmt: skip
tokens_app = typer.Typer(help="Tokens users authenticate with.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

BackendStore = Annotated[
    str | None,
    typer.Option(
        "--backend-store-uri",
        metavar="URI",
        help="Where runs are stored: sqlite:///relative.db or sqlite:////absolute.db.",
        show_default=False,
    ),
]


def _config(backend_store_uri: str | None, **options: object) -> object:
    from mlrun_cli.server.config import ServerConfig

    if not backend_store_uri:
        raise UsageError("--backend-store-uri is required (e.g. sqlite:////srv/mlrun/mlrun.db)")
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
            help="Where artifacts go (default: 'artifacts' beside the database).",
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


def _auth(ctx: typer.Context) -> object:
    from mlrun_cli.server.auth import AuthStore
    from mlrun_cli.server.config import ServerConfig, open_backend

    config = _config(ctx.obj)
    assert isinstance(config, ServerConfig)  # noqa: S101 - built above
    store = open_backend(config)  # creates and migrates the store
    db_path = store.location.db_path
    store.close()
    return AuthStore(db_path)


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
) -> None:
    """Create a user (or change their role) on one experiment or every one."""
    from mlrun_cli.server.auth import AuthStore

    auth = _auth(ctx)
    assert isinstance(auth, AuthStore)  # noqa: S101
    auth.add_user(name, role, experiment_id)
    auth.close()
    where = "every experiment" if experiment_id == "*" else f"experiment {experiment_id}"
    info(f"user {name}: {role} on {where}")


@users_app.command("list")
@handle_errors
def users_list(ctx: typer.Context) -> None:
    """List users and their roles."""
    from mlrun_cli.server.auth import AuthStore

    auth = _auth(ctx)
    assert isinstance(auth, AuthStore)  # noqa: S101
    for user in auth.users():
        roles = ", ".join(f"{role} on {target}" for target, role in user.roles) or "no role"
        typer.echo(f"{user.name}\t{roles}")
    auth.close()


@tokens_app.command("create")
@handle_errors
def tokens_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The user the token is for.")],
) -> None:
    """Create a token for a user; it is printed once (only its hash is stored)."""
    from mlrun_cli.server.auth import AuthStore

    auth = _auth(ctx)
    assert isinstance(auth, AuthStore)  # noqa: S101
    token = auth.create_token(name)
    auth.close()
    typer.echo(token)


def _command() -> object:
    from typer.main import get_command

    return get_command(app)


# What ``mlrun``'s lazy command table loads: the whole group, callback and subgroups.
COMMAND = _command()
