"""``-P name=value`` arguments: parse, type-check against an entry point, render the command."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from mlrun_cli.errors import UsageError
from mlrun_cli.spec.template import parse_template, render
from mlrun_cli.spec.values import convert
from mlrun_cli.tracking.record import Record

if TYPE_CHECKING:
    from collections.abc import Iterable

    from mlrun_cli.spec.mlproject import EntryPoint, ParameterSpec

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class BoundParam(Record):
    """A parameter value after validation: canonical, unquoted text."""

    name: str
    value: str
    type: str | None  # None: not declared by the entry point (passed as --name value)


class BoundParams(Record):
    """The entry point's parameters bound to values, and the command they render."""

    params: tuple[BoundParam, ...]
    command: str
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, str]:
        """Name -> canonical value."""
        return {p.name: p.value for p in self.params}


def parse_cli_params(items: Iterable[str]) -> dict[str, str]:
    """Split each ``-P`` item at its first ``=``; names must be unique and well-formed."""
    parsed: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            shape = f"{item}=VALUE" if _NAME_RE.match(item) else "NAME=VALUE"
            raise UsageError(f"-P {item!r}: expected NAME=VALUE", hint=f"-P {shape}")
        if not _NAME_RE.match(name):
            raise UsageError(
                f"-P {item!r}: parameter name {name!r} must start with a letter or '_' and "
                "contain only letters, digits, '_', '.', '-'"
            )
        if name in parsed:
            raise UsageError(f"-P {name}: given more than once ({parsed[name]!r} and {value!r})")
        parsed[name] = value
    return parsed


_URL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")


def is_remote_path(text: str) -> bool:
    """A ``path`` value naming a URL (``s3://``, ``https://``...) rather than a local path.

    ``file://`` URLs are local paths; one-letter schemes are Windows drive letters.
    """
    return bool(_URL_RE.match(text)) and not text.lower().startswith("file://")


def _resolve_path(text: str, base: Path, where: str, check: bool) -> str:
    if is_remote_path(text):
        return text  # downloaded by the inputs step, after the data step
    if text.lower().startswith("file://"):
        parsed = urlparse(text)
        if parsed.netloc not in ("", "localhost"):
            raise UsageError(f"{where}: expected a local file:// URL; got {text!r}")
        text = unquote(parsed.path)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    if check and not path.exists():
        raise UsageError(f"{where}: expected an existing path; got {text!r} (not found at {path})")
    # Normalised without following symlinks: a path into the project stays inside it.
    return os.path.normpath(path)


def _bind_one(
    spec: ParameterSpec, raw: str | None, user_cwd: Path, project_dir: Path, check: bool
) -> str:
    if raw is None:
        assert spec.default is not None  # noqa: S101 - required params were checked before
        if spec.type == "path":
            where = f"parameter {spec.name!r} default"
            return _resolve_path(spec.default, project_dir, where, check)
        return spec.default
    if spec.type == "path":
        return _resolve_path(raw, user_cwd, f"-P {spec.name}", check)
    try:
        return convert(spec.type, raw)
    except ValueError as exc:
        raise UsageError(f"-P {spec.name}={raw}: {exc} for parameter {spec.name!r}") from None


def bind_params(
    entry_point: EntryPoint,
    given: dict[str, str],
    *,
    user_cwd: Path,
    project_dir: Path,
    strict: bool = False,
    check_paths: bool = True,
) -> BoundParams:
    """Validate ``given`` against the entry point and render its command.

    ``path`` values become absolute (``-P`` values against ``user_cwd``, defaults against
    ``project_dir``); ``check_paths=False`` leaves their existence to be checked later (the data
    step may restore them first). URLs stay as they are.

    Declared values are substituted into the template ``shlex.quote``-d; undeclared ones are
    appended as ``--name value`` (MLflow's behaviour) with a warning, or refused when ``strict``.
    """
    missing = [p.name for p in entry_point.parameters if p.required and p.name not in given]
    if missing:
        flags = " ".join(f"-P {name}=VALUE" for name in missing)
        raise UsageError(
            f"entry point {entry_point.name!r}: missing required parameter(s) "
            f"{', '.join(missing)} (pass {flags})"
        )
    bound: list[BoundParam] = []
    for spec in entry_point.parameters:
        value = _bind_one(spec, given.get(spec.name), user_cwd, project_dir, check_paths)
        bound.append(BoundParam(spec.name, value, spec.type))
    declared = [p.name for p in entry_point.parameters]
    warnings: list[str] = []
    extras: list[BoundParam] = []
    for name, value in given.items():
        if name in declared:
            continue
        extras.append(BoundParam(name, value, None))
        if entry_point.is_script:
            continue
        import difflib  # (only for a typo's hint)

        match = difflib.get_close_matches(name, declared, n=1)
        hint = f" (did you mean {match[0]!r}?)" if match else ""
        message = f"parameter {name!r} is not declared by entry point {entry_point.name!r}{hint}"
        if strict:
            listing = ", ".join(declared) or "none"
            raise UsageError(f"{message}; declared: {listing} (--strict)")
        warnings.append(f"{message}; passing it as --{name} {shlex.quote(value)}")
    quoted = {p.name: shlex.quote(p.value) for p in bound}
    command = render(parse_template(entry_point.command), quoted)
    for extra in extras:
        command += f" --{extra.name} {shlex.quote(extra.value)}"
    return BoundParams(tuple(bound + extras), command, tuple(warnings))
