"""Canonical environment specs: dependency lines with every referenced file made absolute.

``-r file`` / ``-c file`` lines (and their long forms) are resolved relative to the project (or
to the including file, for nested ones) and their contents hashed, so that editing a referenced
requirements file gives a new environment instead of a stale one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlrun_cli.errors import SpecError

if TYPE_CHECKING:
    from mlrun_cli.spec.python_env import PythonEnvSpec

_REF = re.compile(r"^(-r|-c|--requirement|--constraint)(?:\s*=\s*|\s+)(\S.*)$")
_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^]]*\])?\s*(?:[=<>!~;@]|$)")
_INDEX_OPTION = re.compile(r"^(--index-url|-i|--extra-index-url|--find-links|-f|--no-index)\b")


@dataclass(frozen=True)
class ResolvedSpec:
    """What an environment must contain, independent of where the project lives."""

    python: str | None
    build_dependencies: tuple[str, ...]
    dependencies: tuple[str, ...]
    referenced: tuple[tuple[str, str], ...]  # (absolute path, sha256 of its bytes)
    source: str

    def keyed(self, lines: tuple[str, ...]) -> tuple[str, ...]:
        """``lines`` with each file reference replaced by its content hash (for cache keys)."""
        digests = dict(self.referenced)
        out = []
        for line in lines:
            match = _REF.match(line)
            digest = digests.get(match.group(2)) if match else None
            out.append(f"{match.group(1)} sha256:{digest}" if match and digest else line)
        return tuple(out)

    def requested(self) -> frozenset[str]:
        """Normalised names of the packages the spec asks for (its top-level packages),
        including those listed in referenced files."""
        lines = list(self.build_dependencies + self.dependencies)
        for path, _ in self.referenced:
            try:
                lines += Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                continue
        names = set()
        for line in lines:
            match = _NAME.match(line.split(" #", 1)[0].strip())
            if match:
                names.add(normalise(match.group(1)))
        return frozenset(names)

    @property
    def index_options(self) -> tuple[str, ...]:
        """Lines such as ``--find-links DIR`` that a lock must keep to reinstall."""
        lines = self.build_dependencies + self.dependencies
        return tuple(line for line in lines if _INDEX_OPTION.match(line))


def normalise(name: str) -> str:
    """A package name as PyPI compares them (``Scikit_Learn`` -> ``scikit-learn``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _collect(path: Path, seen: dict[str, str]) -> None:
    """Hash ``path`` and, recursively, the files it references."""
    key = str(path)
    if key in seen:
        return
    seen[key] = _sha256(path)
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _REF.match(raw.split(" #", 1)[0].strip())
        if match:
            nested = (path.parent / match.group(2).strip()).resolve()
            if nested.is_file():
                _collect(nested, seen)


def resolve_spec(spec: PythonEnvSpec, project_dir: Path) -> ResolvedSpec:
    """Make file references absolute and hash the referenced files."""
    label = Path(spec.source).name if spec.source else "python_env.yaml"
    seen: dict[str, str] = {}

    def resolve(lines: tuple[str, ...], field: str) -> tuple[str, ...]:
        out = []
        for index, line in enumerate(lines):
            stripped = line.strip()
            match = _REF.match(stripped)
            if match:
                path = (project_dir / match.group(2).strip()).resolve()
                if not path.is_file():
                    raise SpecError(
                        label, f"{field}[{index}]",
                        f"expected an existing file; got {match.group(2).strip()!r} "
                        f"(not found at {path})",
                    )  # fmt: skip
                _collect(path, seen)
                stripped = f"{match.group(1)} {path}"
            out.append(stripped)
        return tuple(out)

    return ResolvedSpec(
        python=spec.python,
        build_dependencies=resolve(spec.build_dependencies, "build_dependencies"),
        dependencies=resolve(spec.dependencies, "dependencies"),
        referenced=tuple(sorted(seen.items())),
        source=spec.source,
    )
