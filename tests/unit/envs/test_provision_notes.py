"""The note a build prints about the Python it chose fits a terminal's 80 columns."""

from __future__ import annotations

from pathlib import Path

from mlrun_cli.envs.interpreters import Interpreter
from mlrun_cli.envs.provision import _unpinned_python


def test_a_python_range_note_fits_80_columns_and_names_the_path_where_it_fits() -> None:
    short = Interpreter(Path("/usr/bin/python3"), "3.11.7")
    note = _unpinned_python("/p/python_env.yaml", short, ">=3.10")
    assert note == "python_env.yaml asks for Python >=3.10: using 3.11.7 (/usr/bin/python3)"
    long = Interpreter(Path("/home/someone/.pyenv/versions/3.11.7/bin/python3.11"), "3.11.7")
    note = _unpinned_python("/p/python_env.yaml", long, ">=3.10")
    assert note == "python_env.yaml asks for Python >=3.10: using 3.11.7"
    assert len("mlrun: " + note) <= 80


def test_an_exact_python_needs_no_note() -> None:
    interpreter = Interpreter(Path("/usr/bin/python3"), "3.11.7")
    assert _unpinned_python("/p/python_env.yaml", interpreter, "3.11.7") is None
