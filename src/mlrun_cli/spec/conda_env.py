"""The pip part of a ``conda.yaml`` (MLflow's conda_env), as an isolated-env spec.

mlrun builds virtual environments, not conda ones: the ``python=X`` pin and the ``pip:`` list
are used; every other conda dependency is dropped with a warning naming it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlrun_cli.spec._yaml import Node, describe, load_yaml
from mlrun_cli.spec.python_env import PythonEnvSpec

if TYPE_CHECKING:
    from pathlib import Path

_PYTHON_PIN = re.compile(r"^python\s*(?:==?|=)\s*([0-9][0-9.]*)\*?$")
_PIP_ITSELF = re.compile(r"^pip(\s*[=<>!~].*)?$")


def load_conda_env(path: Path) -> tuple[PythonEnvSpec, tuple[str, ...]]:
    """The spec and the warnings about conda packages that were dropped."""
    label = path.name
    root = Node(load_yaml(path, label), label)
    if root.value is None:
        raise root.error("the file is empty; expected a mapping with 'dependencies'")
    root.expect_mapping("a mapping with 'dependencies'")
    deps_node = root.child("dependencies")
    if deps_node.value is not None and not isinstance(deps_node.value, list):
        raise deps_node.error(f"expected a list; got {describe(deps_node.value)}")
    python: str | None = None
    pip: list[str] = []
    dropped: list[str] = []
    for index, item in enumerate(deps_node.value or []):
        node = deps_node.child(index)
        if isinstance(item, dict):
            if set(item) != {"pip"}:
                raise node.error(
                    f"expected a package string or a 'pip:' list; got {describe(item)}"
                )
            pip.extend(node.child("pip").expect_str_list())
        elif isinstance(item, str):
            spec = item.strip()
            match = _PYTHON_PIN.match(spec.replace(" ", ""))
            if spec == "python":
                continue
            if match:
                python = match.group(1).rstrip(".")
            elif not _PIP_ITSELF.match(spec):
                dropped.append(spec)
        else:
            raise node.error(f"expected a package string; got {describe(item)}")
    warnings: tuple[str, ...] = ()
    if dropped:
        names = ", ".join(dropped)
        message = (
            f"{label}: conda packages are not installed by mlrun (only python and pip: "
            f"are used); dropped: {names}"
        )
        warnings = (message,)
    return PythonEnvSpec(python=python, dependencies=tuple(pip), source=str(path)), warnings
