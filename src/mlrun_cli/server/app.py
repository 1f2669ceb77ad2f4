"""The ASGI app: health, version, ``/api/v1`` and MLflow's paths over one backend store.

Requests are answered on the event loop's thread, one at a time per worker: the store is one
connection (SQLite or PostgreSQL), shared by the auth and heartbeat tables, and a write is a
few milliseconds. ``--workers N`` runs N processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route

from mlrun_cli import __version__
from mlrun_cli.artifacts.base import open_artifacts
from mlrun_cli.errors import MlrunError, NotFoundError, StoreError, UsageError
from mlrun_cli.server import api_v1, mlflow_mount
from mlrun_cli.server.auth import AuthStore, token_from_header
from mlrun_cli.server.config import ServerConfig, open_backend
from mlrun_cli.server.heartbeat import Heartbeats, timeout_seconds
from mlrun_cli.server.run_files import RunFiles
from mlrun_cli.server.run_files import error as _error

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from mlrun_cli.artifacts.served import ServedArtifacts
    from mlrun_cli.mlflow_compat.protocol import Request as MlflowRequest
    from mlrun_cli.mlflow_compat.protocol import Response as MlflowResponse
    from mlrun_cli.mlflow_compat.session import Session
    from mlrun_cli.server.auth import User
    from mlrun_cli.tracking.store import TrackingStore

_STATUS = ((api_v1.DeniedError, 403), (NotFoundError, 404), (UsageError, 400), (StoreError, 503))


class Server:
    """The backend store, the auth tables and the MLflow session of one worker process."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.store = open_backend(config)
        self.auth = None if config.no_auth else AuthStore(self.store)
        self.context = api_v1.Context(self.store, self.auth)
        self.session = mlflow_mount.server_session(self.store)
        self.heartbeats = Heartbeats(self.store, timeout_seconds())
        self.artifacts = open_artifacts(config.artifacts_destination, self.store.artifact_root)
        self.store.destination = self.artifacts  # what MLflow's handlers list comes from both

    def close(self) -> None:
        """Close the store's connection."""
        self.store.close()

    def user(self, request: Request) -> tuple[bool, User | None]:
        """(allowed, user): with auth off everyone is allowed (user None)."""
        if self.auth is None:
            return True, None
        found = self.auth.authenticate(token_from_header(request.headers.get("authorization")))
        return found is not None, found

    def public(self, exc: MlrunError) -> str:
        """An error's message for a client: without the backend store's own location (its
        file or database), which the client names by the server's URL instead."""
        return str(exc).replace(f" in {self.store.label}", "")

    def failure(self, exc: MlrunError) -> JSONResponse:
        """The answer to an error: its status by class, its public message."""
        status = next((s for cls, s in _STATUS if isinstance(exc, cls)), 500)
        return _error(status, type(exc).__name__, self.public(exc))

    # -- our API ------------------------------------------------------------------------------
    def api_route(self, method: str, path: str, endpoint: api_v1.Endpoint) -> Route:
        async def serve(request: Request) -> Response:
            allowed, user = self.user(request)
            if not allowed:
                return _error(401, "UNAUTHENTICATED", api_v1.unauthenticated(
                    request.headers.get("authorization")))  # fmt: skip
            body: dict[str, Any] = dict(request.query_params)
            if method == "POST":
                try:
                    loaded = json.loads(await request.body() or b"{}")
                except ValueError:
                    return _error(400, "BAD_REQUEST", "the request body is not valid JSON")
                if not isinstance(loaded, dict):
                    return _error(400, "BAD_REQUEST", "the request body must be a JSON object")
                body.update(loaded)
            run_id = request.path_params.get("run_id")
            try:
                answer = self._answer(endpoint, user, body, dict(request.path_params))
                if run_id and (method != "GET" or endpoint is api_v1.events_offset):
                    self.heartbeats.seen(run_id)  # the runner is alive (and allowed to write)
                return JSONResponse(answer)
            except MlrunError as exc:
                return self.failure(exc)
            except (ValueError, TypeError, KeyError) as exc:
                return _error(400, "BAD_REQUEST", f"malformed request: {type(exc).__name__}")

        return Route(f"/api/v1{path}", serve, methods=[method], name=endpoint.__name__)

    def _answer(
        self, endpoint: api_v1.Endpoint, user: User | None, body: dict[str, Any],
        path: dict[str, Any],
    ) -> Any:  # fmt: skip
        """The endpoint's answer; once more when the database dropped the connection under it
        (a PostgreSQL restart): that attempt was rolled back, and every endpoint is idempotent."""
        from mlrun_cli.tracking.postgres import ConnectionLostError

        try:
            return endpoint(self.context, user, body, path)
        except ConnectionLostError:
            return endpoint(self.context, user, body, path)

    # -- a run's files ------------------------------------------------------------------------
    def run_files(self, run_id: str) -> ServedArtifacts:
        """The run's files: the receiving folder, with the destination behind it."""
        from mlrun_cli.artifacts.served import ServedArtifacts

        return ServedArtifacts(run_id, self.store.artifact_root / run_id, self.artifacts)

    # -- MLflow's API -------------------------------------------------------------------------
    async def mlflow(self, request: Request) -> Response:
        from mlrun_cli.mlflow_compat.handlers import handle
        from mlrun_cli.mlflow_compat.protocol import MlflowError, error_response
        from mlrun_cli.mlflow_compat.protocol import Request as MlflowRequest

        query: dict[str, list[str]] = {}
        for key, value in request.query_params.multi_items():
            query.setdefault(key, []).append(value)
        path = mlflow_mount.canonical_path(request.url.path)
        call = MlflowRequest(request.method, path, query, await request.body())
        allowed, user = self.user(request)
        if not allowed:
            answer = error_response(
                MlflowError(
                    "UNAUTHENTICATED",
                    "missing or wrong token (MLFLOW_TRACKING_TOKEN, "
                    "or basic auth with the token as password)",
                )
            )
        elif user is not None and (denied := mlflow_mount.authorize(self.store, user, call)):
            answer = error_response(denied)
        else:
            answer = self._mlflow_artifacts(call, handle)
        if answer.file is not None:
            return FileResponse(answer.file, status_code=answer.status)
        return Response(answer.json_bytes(), answer.status, media_type="application/json")

    def _mlflow_artifacts(
        self, call: MlflowRequest, handle: Callable[[Session, MlflowRequest], MlflowResponse]
    ) -> MlflowResponse:
        """MLflow's request, with the artifact destination beside the receiving folder: a file
        downloaded is fetched first if the folder lacks it; one uploaded is sent on."""
        from mlrun_cli.mlflow_compat.artifacts import PREFIX, split_path
        from mlrun_cli.mlflow_compat.protocol import MlflowError, error_response

        tail = call.path[len(PREFIX) :] if call.path.startswith(PREFIX) else ""
        if not tail.strip("/"):
            return handle(self.session, call)
        try:
            run_id, relative = split_path(tail)
            files = self.run_files(run_id)
            if relative and (
                call.method == "GET"
                or (call.method == "PUT" and self.store.get_run(run_id).status != "RUNNING")
            ):
                # Fetched into the folder, which MLflow's handler serves, or compares an
                # upload to a finished run with (it only gets files it lacks).
                files.file(relative)
            answer = handle(self.session, call)
            if call.method == "PUT" and answer.status == 200:
                files.send(relative)
        except MlflowError as exc:
            return error_response(exc)
        except MlrunError as exc:
            return error_response(MlflowError("INTERNAL_ERROR", str(exc)))
        return answer


def _guarded_ui(server: Server) -> Any:
    """The web UI's pages (``mlrun ui``'s) under ``/ui``, for users who may read every
    experiment (the pages list them all); browsers are asked for Basic credentials (any name,
    the token as password). None when the ``ui`` extra (Jinja2) is not installed."""
    try:
        from mlrun_cli.ui.app import create_app as create_ui
    except ImportError:
        return None
    from mlrun_cli.tracking.sql.experiments import SqlExperiments
    from mlrun_cli.tracking.store import open_location

    location = server.store.location  # the server's SQLite file or PostgreSQL database

    def open_store() -> TrackingStore:
        # A connection per request, as under `mlrun ui`: the pages close what they open.
        store = open_location(location, create=False)
        if isinstance(store, SqlExperiments):
            store.destination = server.artifacts  # files only S3 has, on a new server host
        return store

    pages = create_ui(open_store)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            allowed, user = server.user(request)
            if not allowed or (user is not None and not user.may("read", None)):
                response = PlainTextResponse(
                    "mlrun: the UI needs a token that may read every experiment", 401,
                    headers={"WWW-Authenticate": 'Basic realm="mlrun"'},
                )  # fmt: skip
                await response(scope, receive, send)
                return
        await pages(scope, receive, send)

    return app


def create_app(config: ServerConfig | None = None) -> Starlette:
    """The app for one worker (the configuration from the environment when not given)."""
    from mlrun_cli.server.openapi import document

    server = Server(config or ServerConfig.from_env())

    async def health(_: Request) -> Response:
        return PlainTextResponse("OK")

    async def version(_: Request) -> Response:
        return PlainTextResponse(__version__)

    async def openapi(_: Request) -> Response:
        return JSONResponse(document())

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    ui = _guarded_ui(server)
    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/version", version, methods=["GET"]),
        Route("/api/v1/openapi.json", openapi, methods=["GET"]),
        *RunFiles(server).routes(),
        *(server.api_route(m, p, e) for m, p, e in api_v1.ROUTES),
        *(
            Route(prefix + "{rest:path}", server.mlflow, methods=methods)
            for prefix in mlflow_mount.MLFLOW_PREFIXES
        ),
        *((Mount("/ui", app=ui),) if ui is not None else ()),
    ]

    async def expire_heartbeats() -> None:
        interval = min(server.heartbeats.timeout / 2, 30.0)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(MlrunError):
                server.heartbeats.expire()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(expire_heartbeats())
        yield
        task.cancel()
        server.close()

    return Starlette(routes=routes, lifespan=lifespan)
