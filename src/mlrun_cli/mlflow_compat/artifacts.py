"""MLflow's proxied artifact endpoints (``/api/2.0/mlflow-artifacts/artifacts/<path>``).

Paths are ``<run_id>/<path in the run>``. Uploads land in this process's folder for the run:
the loopback endpoint's is the one the run stages in (what its MLflow client uploads joins
what mlrun's own API writes, ``StoreLocation.staging_dir``), the team server's its receiving
folder (server/app.py sends each file on to the destination). Listings go through the store
(``TrackingStore.artifacts``); downloads are served from that folder (the server fetches a
file it lacks from its destination first). Each file is recorded with its size and
sha256, exactly as the files mlrun's own API logs. An upload is written to a temporary file
and renamed, so a retried PUT replaces, never duplicates.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from mlrun_cli.artifacts.run import UPLOAD_SUFFIX
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
    from mlrun_cli.errors import UsageError

    try:
        clean = relative_path(text.strip("/"), folder=True)
    except UsageError:
        raise invalid(
            f"artifact path {text!r}: '.', '..' and backslashes are not allowed"
        ) from None
    if not clean:
        raise invalid("artifact path: expected <run_id>/<path>")
    run_id, _, relative = clean.partition("/")
    return run_id, relative


def _run_folder(session: Session, run_id: str, *, write: bool = False) -> Path:
    from mlrun_cli.mlflow_compat.handlers import get_run, own_run

    get_run(session, run_id)
    if write:
        own_run(session, run_id)
    return session.store.location.staging_dir(run_id)


def _upload(session: Session, request: Request, run_id: str, relative: str) -> Response:
    """Stream the body into a temporary file in its folder without the session's lock (other
    requests, a training loop's metrics, go on meanwhile); take it only to move the file into
    place and record its size and sha256, so the record always describes the file."""
    from mlrun_cli.tracking.client import RESERVED_ARTIFACT_DIR

    if not relative:
        raise invalid("artifact path: expected <run_id>/<path>, got no file name")
    if relative.split("/", 1)[0] == RESERVED_ARTIFACT_DIR:
        raise invalid(f"artifact path {relative!r}: '{RESERVED_ARTIFACT_DIR}/' is mlrun's own")
    with session.lock:
        target = _run_folder(session, run_id, write=True) / relative
    if target.is_dir():
        raise invalid(f"artifact path {relative!r} is a directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unique per request: two uploads of one path never write into the same file.
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}{UPLOAD_SUFFIX}")
    try:
        size, digest = _receive(request, tmp)
        with session.lock:
            tmp.replace(target)
            session.store.log_batch(
                run_id, EventBatch(artifacts=(Artifact(relative, size, digest),))
            )
    finally:
        tmp.unlink(missing_ok=True)
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
    found = session.store.artifacts(run_id).list(relative)
    if not found:
        return Response(200, {})
    depth = len(relative.split("/")) if relative else 0
    entries: dict[str, int | None] = {}  # name -> size (None: a folder)
    for item in found:
        parts = item.path.split("/")
        entries[parts[depth]] = item.size if len(parts) == depth + 1 else None
    files = []
    for name, size in sorted(entries.items()):
        entry: dict[str, Any] = {"path": name, "is_dir": size is None}
        if size is not None:
            entry["file_size"] = size
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
        target = _run_folder(session, run_id) / relative
        if not relative or not target.is_file():
            raise missing(f"artifact {tail.strip('/')!r} does not exist")
        return Response(200, file=target)
    session.unknown[f"{request.method} {PREFIX}/..."] += 1
    raise MlflowError(
        "ENDPOINT_NOT_FOUND",
        f"mlrun's MLflow endpoint does not implement {request.method} on artifacts",
    )
