"""The run-file endpoints: list, read and write a run's files (``/api/v1/runs/{id}/artifacts``).

Bytes go through the server, so clients need no credentials for the destination (S3). A file
is received into the run's receiving folder, beside it first, then renamed, and sent on to
the destination. A RUNNING run's output log also arrives in pieces while it runs
(``PUT ...?offset=N`` appends), so ``mlrun runs logs --follow`` on another machine shows it as
it comes; the whole file still goes up at the end, which sends it to the destination.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from mlrun_cli.artifacts.writes import ReplaceRefusedError, check_replace, written_error
from mlrun_cli.errors import MlrunError, NotFoundError, UsageError
from mlrun_cli.server import api_v1
from mlrun_cli.tracking.ingest import OUTPUT_LOG  # the one file that grows in pieces

if TYPE_CHECKING:
    from pathlib import Path

    from starlette.requests import Request

    from mlrun_cli.artifacts.run import ArtifactInfo
    from mlrun_cli.artifacts.served import ServedArtifacts
    from mlrun_cli.server.app import Server
    from mlrun_cli.tracking.models import Run

MAX_OFFSET = (1 << 63) - 1
PREFIX = "/api/v1/runs/{run_id}/artifacts"


def error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    """The API's error answer."""
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)


class RunFiles:
    """The run-file endpoints of one worker process."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def routes(self) -> list[Route]:
        """The endpoints, at their paths."""
        return [
            Route(PREFIX, self.list_artifacts, methods=["GET"]),
            Route(PREFIX + "/{path:path}", self.get_artifact, methods=["GET"]),
            Route(PREFIX + "/{path:path}", self.put_artifact, methods=["PUT"]),
        ]

    def _run_of(self, request: Request, role: str) -> tuple[str, Run | None, Response | None]:
        """(run id, run, None) when the request's user has ``role`` on the run; else the error.
        Asked once more when the database dropped the connection under it (a PostgreSQL
        restart), as every API endpoint is."""
        from mlrun_cli.tracking.postgres import ConnectionLostError

        server = self.server
        allowed, user = server.user(request)
        run_id = str(request.path_params["run_id"])
        if not allowed:
            return run_id, None, error(401, "UNAUTHENTICATED", "missing or wrong token")
        try:
            api_v1.path_run_id(request.path_params)  # never a path: "..", "a/b"
            try:
                run = server.store.get_run(run_id)
            except ConnectionLostError:
                run = server.store.get_run(run_id)
        except MlrunError as exc:
            return run_id, None, server.failure(exc)
        if user is not None and not user.may_run(role, run_id, run.experiment_id):
            return run_id, None, server.failure(api_v1.denied(user, role, run.experiment_id))
        return run_id, run, None

    async def list_artifacts(self, request: Request) -> Response:
        """GET /api/v1/runs/{run_id}/artifacts?prefix=FOLDER (or ?path=FILE, that one file):
        ``{"files": [{"path", "size"}]}``, sorted by path. The folder is walked in a thread:
        a big run's listing does not hold up other requests."""
        run_id, _, denied = self._run_of(request, "read")
        if denied is not None:
            return denied
        query = request.query_params
        files = self.server.run_files(run_id)

        def listing() -> list[ArtifactInfo]:
            if "path" in query:
                one = files.info(query["path"])
                return [] if one is None else [one]
            return files.list(query.get("prefix", ""))

        try:
            found = await run_in_threadpool(listing)
        except MlrunError as exc:
            return self.server.failure(exc)
        return JSONResponse({"files": [{"path": f.path, "size": f.size} for f in found]})

    async def get_artifact(self, request: Request) -> Response:
        """GET /api/v1/runs/{run_id}/artifacts/{path}?offset=N&limit=N: the file's bytes
        (from byte ``offset``, at most ``limit`` of them)."""
        run_id, _, denied = self._run_of(request, "read")
        if denied is not None:
            return denied
        try:
            offset = whole(request.query_params.get("offset")) or 0
            limit = whole(request.query_params.get("limit"))
        except ValueError:
            return error(400, "BAD_REQUEST", "offset and limit: expected whole numbers "
                         f"from 0 to {MAX_OFFSET}")  # fmt: skip
        path = request.path_params["path"]
        files = self.server.run_files(run_id)

        def found_file() -> Path:
            found = files.file(path)
            if found is None:
                raise NotFoundError(f"run {run_id} has no artifact {path!r}")
            return found

        try:
            found = await run_in_threadpool(found_file)
            if offset == 0 and limit is None:
                return FileResponse(found, media_type="application/octet-stream")
            data = await run_in_threadpool(files.read_bytes, path, offset, limit)
        except MlrunError as exc:
            return self.server.failure(exc)
        return Response(data, media_type="application/octet-stream")

    async def put_artifact(self, request: Request) -> Response:
        """PUT /api/v1/runs/{run_id}/artifacts/{path}: a staged file of our client's run
        (recorded by its events; this stores the bytes). Received beside, then renamed.

        A RUNNING run's files may be replaced; a finished run's only receive files they do not
        have yet (the runner uploads right before finishing, ``mlrun sync`` after a lost
        connection) or the same bytes again (a retry): what was recorded stays true.

        ``?offset=N`` (a RUNNING run only): the bytes from ``N`` of a file that grows (the
        output log). Bytes the file already has are compared, not written twice (a retry);
        an offset past its end answers 409 with the file's ``size``, to send from there.
        The answer is ``{"size": N}``, the file's size now. It counts as a heartbeat."""
        from mlrun_cli.artifacts.run import relative_path

        server = self.server
        run_id, run, denied = self._run_of(request, "write")
        if denied is not None or run is None:
            return denied or error(404, "NotFoundError", f"no run {run_id}")
        try:
            offset = whole(request.query_params.get("offset"))
        except ValueError:
            return error(400, "BAD_REQUEST", f"offset: expected a whole number to {MAX_OFFSET}")
        try:
            relative = relative_path(request.path_params["path"])
            data = await request.body()
            files = server.run_files(run_id)
            if offset is None:
                await run_in_threadpool(receive_whole, files, relative, data, run)
                return JSONResponse({})
            size = await run_in_threadpool(receive_appended, files, relative, offset, data, run)
        except AppendGapError as exc:
            return error(409, "CONFLICT", server.public(exc), size=exc.size)
        except ReplaceRefusedError as exc:
            return error(409, "CONFLICT", server.public(exc))
        except MlrunError as exc:
            return server.failure(exc)
        server.heartbeats.seen(run_id)  # a runner sending its log is alive
        return JSONResponse({"size": size})


def whole(text: str | None) -> int | None:
    """A query's offset or limit: None when absent; ValueError unless 0..MAX_OFFSET."""
    if text in (None, ""):
        return None
    if not (text.isascii() and text.isdigit()):  # not "1_0", "+0", " 3" nor other digits
        raise ValueError(text)
    value = int(text)
    if not 0 <= value <= MAX_OFFSET:
        raise ValueError(text)
    return value


def receive_whole(files: ServedArtifacts, relative: str, data: bytes, run: Run) -> None:
    """Write a PUT's body as the run's file ``relative`` (see ``RunFiles.put_artifact``)."""
    from mlrun_cli._sha import file_hexdigest, hexdigest

    target = files.local.writable(relative)
    existing = files.file(relative)  # the destination's too, when the folder lacks it
    digest = hexdigest(data)
    if existing is not None and file_hexdigest(existing) == digest:
        files.send(relative)  # a retry, or the log that arrived in pieces: on to the destination
        return
    # The output log that arrived in pieces, now whole: it grows, it is not replaced (the run
    # may have ended meanwhile: a heartbeat timeout while its host was suspended).
    # Compared only for an ended run: a RUNNING one's files may be replaced anyway.
    replacing = existing is not None
    if existing is not None and run.status != "RUNNING" and _starts(data, existing):
        replacing = False
    check_replace(relative, run.status, replacing=replacing)
    recorded = {artifact.path: artifact.sha256 for artifact in run.artifacts}
    if run.status != "RUNNING" and recorded.get(relative) != digest:
        # After its end a run receives only what it recorded (a token that outlived its run,
        # a run-scoped one above all, cannot add files to it).
        raise ReplaceRefusedError(
            f"artifact {relative!r}: the run is {run.status}; an ended run receives only the "
            "files it recorded, with the bytes it recorded"
        )
    partial = files.local.partial()
    try:
        partial.write_bytes(data)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise written_error(relative, exc) from None
    files.local.place(partial, target)
    files.send(relative)


def _starts(data: bytes, path: Path) -> bool:
    """Whether ``data`` starts with the bytes of the file ``path``."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        return size <= len(data) and handle.read() == data[:size]


class AppendGapError(ReplaceRefusedError):
    """Bytes from past the file's end (the server lost some): send from ``size``."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


def receive_appended(
    files: ServedArtifacts, relative: str, offset: int, data: bytes, run: Run
) -> int:
    """Append a PUT's body to the RUNNING run's file ``relative`` at ``offset``; its new size.

    Only the receiving folder grows (the destination gets the whole file at the end). The
    overlap with what the file has must be the same bytes: a retry is not written twice, even
    one that arrives while the first is being written (appends to a file take its lock)."""
    import fcntl

    if relative != OUTPUT_LOG:
        raise UsageError(f"artifact {relative!r}: only {OUTPUT_LOG} is sent in pieces (offset)")
    if run.status != "RUNNING":
        raise ReplaceRefusedError(
            f"artifact {relative!r}: the run is {run.status}; only a RUNNING run's files grow "
            "(upload the whole file)"
        )
    target = files.local.writable(relative)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "ab+") as handle:  # noqa: PTH123 - one descriptor for read and append
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)  # released when the file is closed
            size = os.fstat(handle.fileno()).st_size
            if offset > size:
                raise AppendGapError(
                    f"artifact {relative!r} has {size} bytes; bytes from {offset} leave a gap",
                    size,
                )
            overlap = min(size - offset, len(data))
            handle.seek(offset)
            if handle.read(overlap) != data[:overlap]:
                raise ReplaceRefusedError(
                    f"artifact {relative!r}: bytes from {offset} differ from what it has; "
                    "a growing file is only appended to"
                )
            handle.write(data[overlap:])  # append mode: at the end, whatever the position
            return size + len(data) - overlap
    except OSError as exc:
        raise written_error(relative, exc) from None
