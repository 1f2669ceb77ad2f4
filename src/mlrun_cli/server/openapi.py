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
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"{(\w+)}", path)
            ],
            "responses": {
                "200": {
                    "description": "ok",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                },
                **{
                    code: {
                        "description": text,
                        "content": {"application/json": {"schema": _ERROR}},
                    }
                    for code, text in _STATUSES.items()
                },
            },
        }
        if method == "POST":
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        paths.setdefault(f"/api/v1{path}", {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "mlrun tracking server", "version": __version__.split("+")[0]},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
