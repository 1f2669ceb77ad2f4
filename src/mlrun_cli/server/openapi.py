"""The OpenAPI document of ``/api/v1`` (served at ``/api/v1/openapi.json``; a copy is kept in
``docs/openapi-v1.json`` and a test keeps the two equal)."""

from __future__ import annotations

import inspect
import re
from typing import Any

from mlrun_cli import __version__
from mlrun_cli.server.api_v1 import ROUTES

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
_STATUSES = {"400": "bad request", "401": "no or wrong token", "403": "role missing",
             "404": "no such record"}  # fmt: skip
_BYTES = "application/octet-stream"
# A run's files (server/run_files.py answers them: bytes in or out, not JSON bodies):
# (method, path, operation id, summary, description, query parameters, request or answer type).
_FILES = (
    ("GET", "/runs/{run_id}/artifacts", "list_artifacts",
     "The run's files (read role): {\"files\": [{\"path\", \"size\"}]}, sorted by path.",
     "prefix: only those under that folder; path: only that file (none when it is missing).",
     ("prefix", "path"), "application/json"),
    ("GET", "/runs/{run_id}/artifacts/{path}", "get_artifact",
     "A file's bytes (read role), from byte offset, at most limit of them.",
     ("Paths are relative to the run; '.', '..', backslashes and symlinks leaving the run's "
     "folder are refused."), ("offset", "limit"), _BYTES),
    ("PUT", "/runs/{run_id}/artifacts/{path}", "put_artifact",
     "Store a file of the run (write role); the body is its bytes.",
     ("A RUNNING run's file is replaced (a retried upload is the same file); a run that is not "
     "RUNNING only receives files it lacks, or the same bytes again (409 otherwise). Paths "
     "through a symlink out of the run's folder, onto a folder, under a file or with a name "
     "over 255 bytes are refused (400). It is recorded by the run's events "
     "(POST /runs/{run_id}/events), not by this call. offset=N (a RUNNING run's "
     "_mlrun/output.log only): the bytes from N of that growing file, appended under a file "
     "lock; bytes it already has are "
     "compared, not written twice; an offset past its end answers 409 with error.size, "
     "where to send from. Answers {\"size\": N}, the file's size now; counts as a "
     "heartbeat."), ("offset",), _BYTES),
)  # fmt: skip
_WHOLE = {"type": "integer", "minimum": 0, "maximum": (1 << 63) - 1}
_QUERY_TYPES = {"offset": _WHOLE, "limit": _WHOLE}
_FILE_STATUSES = {
    "409": "the run is not RUNNING and has this file with other bytes",
    "503": "the artifact destination (S3) failed",
}


def _responses(answer: str) -> dict[str, Any]:
    schema = {"type": "string", "format": "binary"} if answer == _BYTES else {"type": "object"}
    return {
        "200": {"description": "ok", "content": {answer: {"schema": schema}}},
        **{
            code: {"description": text, "content": {"application/json": {"schema": _ERROR}}}
            for code, text in _STATUSES.items()
        },
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in re.findall(r"{(\w+)}", path)
    ]


def _file_operations() -> dict[str, dict[str, Any]]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, name, summary, description, query, kind in _FILES:
        operation: dict[str, Any] = {
            "operationId": name,
            "summary": summary,
            "description": description,
            "parameters": _path_parameters(path)
            + [{"name": q, "in": "query", "required": False,
                "schema": _QUERY_TYPES.get(q, {"type": "string"})} for q in query],
            "responses": _responses("application/json" if method == "PUT" else kind),
        }  # fmt: skip
        for code, text in _FILE_STATUSES.items():
            if code != "409" or method == "PUT":
                operation["responses"][code] = {
                    "description": text,
                    "content": {"application/json": {"schema": _ERROR}},
                }
        if method == "PUT":
            operation["requestBody"] = {
                "required": True,
                "content": {kind: {"schema": {"type": "string", "format": "binary"}}},
            }
        paths.setdefault(f"/api/v1{path}", {})[method.lower()] = operation
    return paths


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from the route table and the endpoints' docstrings."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, endpoint in ROUTES:
        doc = inspect.getdoc(endpoint) or ""
        summary, _, description = doc.partition("\n")
        operation: dict[str, Any] = {
            "operationId": endpoint.__name__,
            "summary": summary,
            "description": description.strip(),
            "parameters": _path_parameters(path),
            "responses": _responses("application/json"),
        }
        if method == "POST":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(f"/api/v1{path}", {})[method.lower()] = operation
    for path, operations in _file_operations().items():
        paths.setdefault(path, {}).update(operations)
    return {
        "openapi": "3.1.0",
        "info": {"title": "mlrun tracking server", "version": __version__.split("+")[0]},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
