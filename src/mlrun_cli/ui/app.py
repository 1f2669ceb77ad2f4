"""The web UI as a Starlette app: ``create_app(open_store)``.

Every request opens the store through ``open_store`` and closes it afterwards, so the same
pages serve a local SQLite file (``mlrun ui``) or any other TrackingStore (the team server
mounts :func:`routes` or the app itself). Pages read only; there is no write endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from mlrun_cli import __version__
from mlrun_cli.errors import MlrunError, NotFoundError

if TYPE_CHECKING:
    from starlette.requests import Request

    from mlrun_cli.tracking.store import TrackingStore

HERE = Path(__file__).parent
StoreOpener = Callable[[], "TrackingStore"]


class Ui:
    """What every page needs: the store opener, the templates, the URL prefix."""

    def __init__(self, open_store: StoreOpener) -> None:
        self.open_store = open_store
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.globals["version"] = __version__

    @contextmanager
    def store(self) -> Iterator[TrackingStore]:
        store = self.open_store()
        try:
            yield store
        finally:
            store.close()

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        template = self.templates.get_template(name)
        html = template.render(root=root, request=request, **context)
        return HTMLResponse(html, status_code=status_code)

    def stream(self, request: Request, name: str, **context: Any) -> StreamingResponse:
        """A page sent as it renders: the head (and any early fetch it starts) arrives first."""
        root = request.scope.get("root_path", "")
        template = self.templates.get_template(name)
        chunks = template.generate(root=root, request=request, **context)
        return StreamingResponse(_batched(chunks), media_type="text/html; charset=utf-8")

    def error_page(self, request: Request, exc: MlrunError) -> HTMLResponse:
        status = 404 if isinstance(exc, NotFoundError) else 400
        return self.render(request, "error.html", status, title="Error", message=str(exc))


def _batched(chunks: Iterator[str], size: int = 16384) -> Iterator[bytes]:
    """Jinja's many small chunks, regrouped; everything up to ``<!--flush-->`` leaves at once."""
    buffer: list[str] = []
    length = 0
    first = True
    for chunk in chunks:
        buffer.append(chunk)
        length += len(chunk)
        if (first and "<!--flush-->" in chunk) or length >= size:
            yield "".join(buffer).encode()
            buffer, length, first = [], 0, False
    if buffer:
        yield "".join(buffer).encode()


def routes(open_store: StoreOpener) -> list[BaseRoute]:
    """The UI's routes, to mount under any prefix (``Mount("/ui", routes=routes(...))``)."""
    from mlrun_cli.ui import pages_compare, pages_run, pages_runs

    ui = Ui(open_store)

    def page(handler: Callable[[Ui, Request], Response]) -> Callable[[Request], Any]:
        def endpoint(request: Request) -> Response:
            try:
                return handler(ui, request)
            except MlrunError as exc:
                return ui.error_page(request, exc)

        return endpoint

    return [
        Route("/", page(pages_runs.experiments_page), name="experiments"),
        Route("/runs", page(pages_runs.runs_page), name="runs"),
        Route("/runs/{run_id}", page(pages_run.run_page), name="run"),
        Route("/runs/{run_id}/live", page(pages_run.live_fragment), name="live"),
        Route("/runs/{run_id}/metrics.json", page(pages_run.metrics_json), name="run_metrics"),
        Route("/runs/{run_id}/files/{path:path}", page(pages_run.artifact_page), name="file"),
        Route("/runs/{run_id}/raw/{path:path}", page(pages_run.artifact_raw), name="raw"),
        Route("/compare", page(pages_compare.compare_page), name="compare"),
        Route("/compare/curves.json", page(pages_compare.curves_json), name="curves"),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]


def create_app(open_store: StoreOpener) -> Starlette:
    """The whole UI as an ASGI app (read-only: GET pages and fragments only)."""
    return Starlette(routes=routes(open_store))
