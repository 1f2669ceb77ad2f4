"""Parsed spec files are cached by content hash, so warm runs import no YAML parser."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlrun_cli import paths
from mlrun_cli.errors import SpecError
from mlrun_cli.spec._yaml import load_yaml

PROBE = """
import json, sys
from pathlib import Path
from mlrun_cli.spec.mlproject import load_project
project = load_project(Path(sys.argv[1]))
print(json.dumps([sorted(project.entry_points), "yaml" in sys.modules]))
"""


def cached_files() -> list[Path]:
    return sorted((paths.cache_dir() / "specs").glob("*.json"))


def test_second_load_uses_the_cache_and_imports_no_yaml(tmp_path: Path) -> None:
    (tmp_path / "MLproject").write_text("entry_points:\n  main:\n    command: python t.py\n")
    argv = [sys.executable, "-c", PROBE, str(tmp_path)]
    runs = [subprocess.run(argv, capture_output=True, text=True, check=True) for _ in range(2)]
    assert [json.loads(r.stdout) for r in runs] == [[["main"], True], [["main"], False]]
    assert len(cached_files()) == 1


def test_a_changed_file_is_parsed_again(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("a: 1\n")
    assert load_yaml(spec, "x.yaml") == {"a": 1}
    spec.write_text("a: 2\n")
    assert load_yaml(spec, "x.yaml") == {"a": 2}
    assert len(cached_files()) == 2


def test_values_json_cannot_hold_are_not_cached(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("when: 2020-01-02\n1: one\n")
    first = load_yaml(spec, "x.yaml")
    assert first == load_yaml(spec, "x.yaml")
    assert isinstance(first, dict)
    assert 1 in first  # an int key stays an int (JSON would make it a string)
    assert cached_files() == []


def test_a_corrupt_cache_entry_is_ignored(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("a: [1, 2]\n")
    load_yaml(spec, "x.yaml")
    (entry,) = cached_files()
    entry.write_text("{not json")
    assert load_yaml(spec, "x.yaml") == {"a": [1, 2]}
    assert json.loads(entry.read_text()) == {"a": [1, 2]}


def test_syntax_errors_are_never_cached(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("a: [1, 2\n")
    for _ in range(2):
        with pytest.raises(SpecError, match="invalid YAML: line"):
            load_yaml(spec, "x.yaml")
    assert cached_files() == []


def test_an_unwritable_cache_still_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MLRUN_CACHE_DIR", str(blocker))  # a file: no folder can be made in it
    spec = tmp_path / "x.yaml"
    spec.write_text("a: 1\n")
    assert load_yaml(spec, "x.yaml") == {"a": 1}
