"""YAML loading and typed access; errors read ``file: key.path: expected ...; got ...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlrun_cli.errors import SpecError


def describe(value: object) -> str:
    """A short description of a YAML value for error messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_CACHE_FORMAT = "1"


def load_yaml(path: Path, label: str) -> object:
    """Parse a YAML file; syntax errors become SpecError with the line and column.

    Parsed documents are cached by the file's sha256 (as JSON, under the cache dir), so a run
    whose MLproject and python_env.yaml did not change imports no YAML parser (~25 ms).
    """
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except OSError as exc:
        raise SpecError(label, "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(label, "", "expected UTF-8 text") from exc
    cached = _cache_file(data)
    try:
        return json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = _parse(text, label)
    _remember(cached, value)
    return value


def _cache_file(data: bytes) -> Path:
    from mlrun_cli._sha import hexdigest
    from mlrun_cli.paths import cache_dir

    digest = hexdigest(data)
    return cache_dir() / "specs" / f"{_CACHE_FORMAT}-{digest}.json"


def _json_faithful(value: object) -> bool:
    """Whether JSON gives this value back exactly (YAML also makes dates, sets, int keys...)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return True
    if isinstance(value, list):
        return all(_json_faithful(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_faithful(v) for k, v in value.items())
    return False


def _remember(cached: Path, value: object) -> None:
    """Best effort: a read-only cache or an unencodable value only means no cache."""
    from mlrun_cli._files import write_text_atomic

    if not _json_faithful(value):
        return
    try:
        write_text_atomic(cached, json.dumps(value))
    except (OSError, ValueError):
        return


def _parse(text: str, label: str) -> object:
    import yaml

    try:
        # The C loader (when PyYAML has it) is several times faster; same safe semantics.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader, chosen above
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise SpecError(label, "", f"invalid YAML: {where}{exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise SpecError(label, "", f"invalid YAML: {exc}") from exc
    except (ValueError, OverflowError) as exc:
        # A scalar PyYAML cannot convert: an int over 4,300 digits, a date like 2024-13-45.
        raise SpecError(label, "", f"invalid YAML value: {str(exc).split(';')[0]}") from exc


class Node:
    """A YAML value with the file and key path it came from, for precise errors."""

    def __init__(self, value: object, file: str, path: str = "") -> None:
        self.value = value
        self.file = file
        self.path = path

    def error(self, message: str) -> SpecError:
        """A SpecError located at this node."""
        return SpecError(self.file, self.path, message)

    def child(self, key: str | int) -> Node:
        """The node at ``key`` below this one (the value may be missing: None)."""
        value: object = None
        if isinstance(self.value, dict):
            value = self.value.get(key)
        elif isinstance(self.value, list) and isinstance(key, int) and key < len(self.value):
            value = self.value[key]
        sep = "." if self.path else ""
        path = f"{self.path}[{key}]" if isinstance(key, int) else f"{self.path}{sep}{key}"
        return Node(value, self.file, path)

    def expect_mapping(self, what: str = "a mapping") -> dict[str, Any]:
        """The value as a dict with string keys."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected {what}; got {describe(self.value)}")
        for key in self.value:
            if not isinstance(key, str):
                raise self.error(f"expected string keys; got {describe(key)}")
        return self.value

    def expect_str(self, what: str = "a string") -> str:
        """The value as a non-empty string."""
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(f"expected {what}; got {describe(self.value)}")
        return self.value

    def expect_str_list(self, what: str = "a list of strings") -> list[str]:
        """The value as a list of strings (missing means empty)."""
        if self.value is None:
            return []
        if not isinstance(self.value, list):
            raise self.error(f"expected {what}; got {describe(self.value)}")
        items = []
        for index, item in enumerate(self.value):
            if not isinstance(item, str):
                raise self.child(index).error(f"expected a string; got {describe(item)}")
            items.append(item)
        return items
