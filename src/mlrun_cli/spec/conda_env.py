"""A ``conda.yaml`` (MLflow's conda_env), as an isolated-env spec.

mlrun builds virtual environments, not conda ones. The ``python`` pin becomes the spec's Python;
conda packages that are ordinary PyPI packages (``numpy``, ``scikit-learn=0.19.1``) become pip
requirements with their versions translated (conda's ``=1.2`` means ``1.2.*``); the ``pip:``
list is used as it is. What has no PyPI equivalent (compilers, CUDA, system libraries) or no
readable version is not installed, and a conda build string is dropped, each with a warning
naming it (``--strict`` refuses both).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mlrun_cli.spec._yaml import Node, describe, load_yaml
from mlrun_cli.spec.python_env import SPECIFIER_RE, PythonEnvSpec

if TYPE_CHECKING:
    from pathlib import Path

_PYTHON_PIN = re.compile(r"^python\s*(?:==?)?\s*([0-9][0-9.]*)\*?$")
_PYTHON_RANGE = re.compile(r"^python\s*((?:>=|<=|>|<|!=|~=)\s*[0-9][0-9.]*(?:\s*,.*)?)$")
_PIP_ITSELF = re.compile(r"^pip(\s*[=<>!~].*)?$")
# name, then an optional version part: "=1.2", "==1.2", ">=1.2,<2", " 1.2", "=1.2=build".
_MATCH_SPEC = re.compile(r"^(?:[\w.-]+::)?([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)$")
_VERSION = r"[0-9][0-9A-Za-z.+!]*\*?"
_CONDA_EQ = re.compile(rf"^=?\s*({_VERSION})(?:[= ](\S+))?$")
_PEP440 = re.compile(rf"^(?:(?:===?|>=|<=|>|<|!=|~=)\s*{_VERSION}\s*,?\s*)+$")

# Conda-only packages with no PyPI equivalent: native toolchains and libraries that wheels
# bundle themselves. Prefixes cover families (lib*, cuda-*).
_CONDA_ONLY = frozenset(
    ("blas", "bzip2", "ca-certificates", "c-compiler", "cudatoolkit", "cudnn", "cxx-compiler",
     "fortran-compiler", "gcc", "gxx", "intel-openmp", "mkl", "mkl-service", "nccl", "ncurses",
     "nomkl", "openblas", "openssl", "pytorch-cuda", "pytorch-mutex", "readline", "sqlite", "tk",
     "vc", "xz", "zlib")
)  # fmt: skip
_CONDA_ONLY_PREFIXES = ("_", "cuda-", "r-", "vs20", "libgcc", "libstdcxx", "libgfortran",
                        "libgomp", "libblas", "libcblas", "liblapack", "libopenblas", "libcurl",
                        "libffi", "libzlib", "libxml2")  # fmt: skip
# Conda names that differ on PyPI.
_PYPI_NAMES = {
    "pytorch": "torch",
    "py-xgboost": "xgboost",
    "pytables": "tables",
    "pyqt": "PyQt5",
    "python-graphviz": "graphviz",
    "msgpack-python": "msgpack",
}


def _pip_requirement(spec: str) -> tuple[str | None, str]:
    """The pip requirement for a conda match spec (None: no PyPI form), and what was lost."""
    match = _MATCH_SPEC.match(spec)
    if not match:
        return None, "is not a conda package spec mlrun can read"
    name, version = match.group(1).lower(), match.group(2).strip()
    if name in _CONDA_ONLY or name.startswith(_CONDA_ONLY_PREFIXES):
        return None, "has no PyPI equivalent mlrun can install with pip"
    name = _PYPI_NAMES.get(name, name)
    if not version:
        return name, ""
    if exact := _CONDA_EQ.match(version):
        # conda's "=1.2" and "1.2*" are fuzzy: 1.2, 1.2.1, ... (pip: ==1.2.*)
        requirement = f"{name}=={exact.group(1).rstrip('*').rstrip('.')}.*"
        if exact.group(2) is not None:
            return requirement, f"installed as {requirement!r}: the conda build string is ignored"
        return requirement, ""
    if _PEP440.match(version.replace(" ", "")):
        return f"{name}{version.replace(' ', '')}", ""
    return None, "has a version pip cannot read"


def _python_request(spec: str) -> str | None:
    """``python=3.10`` -> ``3.10``; ``python>=3.10`` -> ``>=3.10`` (None: not a python pin)."""
    if pin := _PYTHON_PIN.match(spec.replace(" ", "")):
        return pin.group(1).rstrip(".")
    if (span := _PYTHON_RANGE.match(spec)) and SPECIFIER_RE.match(span.group(1)):
        return span.group(1).replace(" ", "")
    return None


def load_conda_env(path: Path) -> tuple[PythonEnvSpec, tuple[str, ...]]:
    """The spec, and one warning per conda dependency that cannot be installed with pip."""
    label = path.name
    root = Node(load_yaml(path, label), label)
    if root.value is None:
        raise root.error("the file is empty; expected a mapping with 'dependencies'")
    root.expect_mapping("a mapping with 'dependencies'")
    deps_node = root.child("dependencies")
    if deps_node.value is not None and not isinstance(deps_node.value, list):
        raise deps_node.error(f"expected a list; got {describe(deps_node.value)}")
    python: str | None = None
    converted: list[str] = []
    pip: list[str] = []
    warnings: list[str] = []
    for index, item in enumerate(deps_node.value or []):
        node = deps_node.child(index)
        if isinstance(item, dict):
            if set(item) != {"pip"}:
                raise node.error(
                    f"expected a package string or a 'pip:' list; got {describe(item)}"
                )
            pip.extend(node.child("pip").expect_str_list())
            continue
        if not isinstance(item, str):
            raise node.error(f"expected a package string; got {describe(item)}")
        text = item.strip()
        if text == "python" or _PIP_ITSELF.match(text):
            continue
        if (wanted := _python_request(text)) is not None:
            python = wanted
        else:
            requirement, lost = _pip_requirement(text)
            if requirement is not None:
                converted.append(requirement)
            if lost:
                skipped = "" if requirement is not None else "; not installed"
                warnings.append(f"{label}: dependencies[{index}]: {text!r} {lost}{skipped}")
    spec = PythonEnvSpec(python=python, dependencies=(*converted, *pip), source=str(path))
    return spec, tuple(warnings)
