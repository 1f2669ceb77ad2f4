"""MLflow's proxied artifact endpoints (``/api/2.0/mlflow-artifacts/artifacts/<path>``).

Paths are ``<run_id>/<path in the run>``. Uploads land in this process's folder for the run:
the loopback endpoint's is the one the run stages in (what its MLflow client uploads joins
what mlrun's own API writes, ``StoreLocation.staging_dir``), the team server's its receiving
folder (server/app.py sends each file on to the destination). Listings go through the store
(``TrackingStore.artifacts``); downloads are served from that folder (the server fetches a
file it lacks from its destination first). Each file is recorded with its size and
sha256, exactly as the files mlrun's own API logs. An upload is written to a partial file
(``_mlrun/.partial/``, artifacts/run.py) and renamed, so a retried PUT replaces, never duplicates.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from mlrun_cli.artifacts.run import FolderArtifacts
from mlrun_cli.errors import UsageError
from mlrun_cli.mlflow_compat.protocol import (
    ARTIFACTS_API,
    MlflowError,
    Request,
    Response,
    invalid,
    missing,
)
from mlrun_cli.mlflow_compat.session import Session
from mlrun_cli.tracking.models import Artifact, EventBatch

if TYPE_CHECKING:
    from pathlib import Path

PREFIX = ARTIFACTS_API
_CHUNK = 1 << 20


def split_path(text: str) -> tuple[str, str]:
    """``run_id/a/b`` -> (run_id, ``a/b``); refuses anything that could leave the run's folder."""
    from mlrun_cli.artifacts.run import relative_path

    try:
        clean = relative_path(text.strip("/"), folder=True)
    except UsageError as exc:
        raise invalid(str(exc)) from None
    if not clean:
        raise invalid("artifact path: expected <run_id>/<path>")
    run_id, _, relative = clean.partition("/")
    return run_id, relative


def _run_files(session: Session, run_id: str, *, write: bool = False) -> FolderArtifacts:
    from mlrun_cli.mlflow_compat.handlers import get_run, own_run

    get_run(session, run_id)
    if write:
        own_run(session, run_id)
    return FolderArtifacts(run_id, session.store.location.staging_dir(run_id))


def _upload(session: Session, request: Request, run_id: str, relative: str) -> Response:
    """Stream the body into a partial file of the run's folder without the session's lock
    (other requests, a training loop's metrics, go on meanwhile); take it only to move the
    file into place and record its size and sha256, so the record always describes the file.

    The rules of ``PUT /api/v1/runs/{id}/artifacts/...`` (server/app.py): never through a
    symlink out of the run's folder; a run that is not RUNNING any more gets only files it
    lacks, or the same bytes again."""
    from mlrun_cli.artifacts.writes import check_replace
    from mlrun_cli.mlflow_compat.handlers import get_run
    from mlrun_cli.tracking.client import RESERVED_ARTIFACT_DIR, file_sha256

    if not relative:
        raise invalid("artifact path: expected <run_id>/<path>, got no file name")
    if relative.split("/", 1)[0] == RESERVED_ARTIFACT_DIR:
        raise invalid(f"artifact path {relative!r}: '{RESERVED_ARTIFACT_DIR}/' is mlrun's own")
    try:
        with session.lock:
            files = _run_files(session, run_id, write=True)
            target = files.writable(relative)
        partial = files.partial()
        try:
            size, digest = _receive(request, partial)
            with session.lock:
                existing = files.file(relative)
                if existing is None or file_sha256(existing) != digest:
                    check_replace(relative, get_run(session, run_id).status,
                                  replacing=existing is not None)  # fmt: skip
                    files.place(partial, target)
                session.store.log_batch(
                    run_id, EventBatch(artifacts=(Artifact(relative, size, digest),))
                )
        finally:
            partial.unlink(missing_ok=True)
    except UsageError as exc:
        raise invalid(str(exc)) from None
    return Response(200, {})


def _receive(request: Request, tmp: Path) -> tuple[int, str]:
    """Write the request's body to ``tmp``; return its size and sha256."""
    digest = hashlib.sha256()
    size = 0
    with tmp.open("wb") as out:
        if request.stream is None:
            digest.update(request.body)
            out.write(request.body)
            return len(request.body), digest.hexdigest()
        remaining = request.length
        while remaining > 0:
            chunk = request.stream.read(min(_CHUNK, remaining))
            if not chunk:
                raise invalid("the upload ended before its Content-Length")
            remaining -= len(chunk)
            digest.update(chunk)
            out.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _listing(session: Session, fields: dict[str, Any]) -> Response:
    """One level of a run's folder, read through the store (a server's destination too)."""
    from mlrun_cli.mlflow_compat.handlers import get_run

    path = str(fields.get("path") or "")
    if not path.strip("/"):
        return Response(200, {"files": []})
    run_id, relative = split_path(path)
    get_run(session, run_id)
    try:
        found = session.store.artifacts(run_id).entries(relative)
    except UsageError as exc:
        raise invalid(str(exc)) from None
    if not found:
        return Response(200, {})
    files = []
    for item in found:
        entry: dict[str, Any] = {"path": item.name, "is_dir": item.size is None}
        if item.size is not None:
            entry["file_size"] = item.size
        files.append(entry)
    return Response(200, {"files": files})


def handle(session: Session, request: Request) -> Response:
    """Upload (PUT), download (GET a path) or list (GET with ``?path=``) a run's files."""
    tail = request.path[len(PREFIX) :]
    if request.method == "GET" and tail.strip("/") == "":
        with session.lock:
            return _listing(session, request.params())
    if not tail.startswith("/"):
        raise MlflowError("ENDPOINT_NOT_FOUND", f"no such endpoint: {request.path}")
    run_id, relative = split_path(tail)
    if request.method == "PUT":
        return _upload(session, request, run_id, relative)
    with session.lock:
        return _read(session, request, run_id, relative, tail)


def _read(session: Session, request: Request, run_id: str, relative: str, tail: str) -> Response:
    if request.method == "GET":
        try:
            target = _run_files(session, run_id).file(relative) if relative else None
        except UsageError:
            target = None
        if target is None:
            raise missing(f"artifact {tail.strip('/')!r} does not exist")
        return Response(200, file=target)
    session.unknown[f"{request.method} {PREFIX}/..."] += 1
    raise MlflowError(
        "ENDPOINT_NOT_FOUND",
        f"mlrun's MLflow endpoint does not implement {request.method} on artifacts",
    )
