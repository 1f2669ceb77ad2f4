"""`mlrun --help` must stay fast: no heavy or optional module is imported for it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlite3", "yaml", "rich", "dvc", "git", "virtualenv", "psycopg", "psycopg2", "pydantic")

PROBE = """
import json, sys
from mlrun_cli.cli.app import app
try:
    app(["--help"], prog_name="mlrun")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in %r)))
"""


def test_help_imports_nothing_heavy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,)], capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_training_api_import_is_stdlib_only() -> None:
    probe = "import sys, mlrun_cli; print(sorted(m for m in sys.modules if m.startswith(('typer', 'rich', 'yaml', 'sqlite3'))))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
