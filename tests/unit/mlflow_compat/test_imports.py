"""The endpoint stays cheap to start: no web framework, no http.server (12 ms of imports)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
import mlrun_cli.mlflow_compat.loopback, mlrun_cli.mlflow_compat.handlers
import mlrun_cli.mlflow_compat.artifacts, mlrun_cli.mlflow_compat.logged_models
import mlrun_cli.mlflow_compat.registry
banned = ("http", "ssl", "email", "fastapi", "starlette", "flask", "uvicorn", "typer", "rich")
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in banned)))
"""


def test_endpoint_imports_no_web_framework() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []
