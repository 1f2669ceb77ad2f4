"""``python_env.yaml`` as MLflow defines it: python, build_dependencies, dependencies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlrun_cli.errors import SpecError
from mlrun_cli.spec._yaml import Node, describe, load_yaml

if TYPE_CHECKING:
    from pathlib import Path

_VERSION_RE = re.compile(r"^\d+(\.\d+){0,2}$")
# An mlrun extension (MLflow accepts only a version): a PEP 440 specifier set such as ">=3.10"
# or ">=3.10,<3.13", as uv accepts it; the exact version used is recorded with the run.
_CLAUSE = r"\s*(?:>=|<=|>|<|!=|~=|==)\s*\d+(?:\.\d+){0,2}(?:\.\*)?\s*"
SPECIFIER_RE = re.compile(rf"^{_CLAUSE}(?:,{_CLAUSE})*$")
_KEYS = ("python", "build_dependencies", "dependencies")


@dataclass(frozen=True)
class PythonEnvSpec:
    """What an isolated environment must contain. ``python`` None means 'the current Python'."""

    python: str | None
    build_dependencies: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    source: str = ""


def load_python_env(path: Path) -> PythonEnvSpec:
    """Parse and validate a python_env.yaml file."""
    label = path.name
    try:
        root = Node(load_yaml(path, label), label)
    except SpecError:
        _explain_unquoted_specifier(path, label)
        raise
    if root.value is None:
        raise root.error("the file is empty; expected a mapping with 'python' and 'dependencies'")
    body = root.expect_mapping("a mapping with 'python' and 'dependencies'")
    unknown = [key for key in body if key not in _KEYS]
    if unknown:
        # MLflow refuses unknown keys here too; say which key was probably meant.
        import difflib  # (only for a typo's hint)

        match = difflib.get_close_matches(unknown[0], _KEYS, n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        raise root.child(unknown[0]).error(f"unknown key{hint}; expected one of {', '.join(_KEYS)}")
    python_node = root.child("python")
    python = python_node.value
    if isinstance(python, float):
        # YAML reads 3.10 as the float 3.1: refuse instead of silently asking for Python 3.1.
        raise python_node.error(
            f'expected a version string such as "3.10"; got {describe(python)} '
            "(YAML reads unquoted 3.10 as 3.1: quote the version)"
        )
    if python is not None:
        if isinstance(python, int) and not isinstance(python, bool):
            python = str(python)
        if not isinstance(python, str) or not (
            _VERSION_RE.match(python) or SPECIFIER_RE.match(python)
        ):
            raise python_node.error(
                f'expected a version such as "3.11" or a specifier such as ">=3.10"; '
                f"got {describe(python)}"
            )
        python = python.replace(" ", "")
    return PythonEnvSpec(
        python=python,
        build_dependencies=tuple(root.child("build_dependencies").expect_str_list()),
        dependencies=tuple(root.child("dependencies").expect_str_list()),
        source=str(path),
    )


def _explain_unquoted_specifier(path: Path, label: str) -> None:
    """``python: >=3.10`` is not YAML (``>`` starts a folded block): say how to write it."""
    import re

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return
    match = re.search(r"^python:[ \t]*([<>=!~][^\n#]*)", text, re.MULTILINE)
    if match:
        wanted = match.group(1).strip()
        raise SpecError(label, "python", f'quote a version specifier: python: "{wanted}" '
                        "(unquoted, YAML reads > as the start of a folded block)")  # fmt: skip
