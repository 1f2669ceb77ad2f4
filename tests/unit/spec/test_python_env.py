from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_cli.errors import SpecError
from mlrun_cli.spec.python_env import load_python_env


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "python_env.yaml"
    path.write_text(text)
    return load_python_env(path)


def test_valid(tmp_path: Path) -> None:
    spec = load(
        tmp_path,
        "python: '3.10'\nbuild_dependencies: [pip]\ndependencies:\n  - numpy==2.0\n  - -r requirements.txt\n",
    )
    assert spec.python == "3.10"  # type: ignore[attr-defined]
    assert spec.build_dependencies == ("pip",)  # type: ignore[attr-defined]
    assert spec.dependencies == ("numpy==2.0", "-r requirements.txt")  # type: ignore[attr-defined]


def test_unquoted_version_is_an_error_not_python_3_1(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, "python: 3.10\n")
    assert str(info.value).startswith(
        'python_env.yaml: python: expected a version string such as "3.10"; got the number 3.1'
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "python_env.yaml: the file is empty"),
        ("[]", "python_env.yaml: expected a mapping with 'python' and 'dependencies'; got a list"),
        (
            "python: three\n",
            (
                'python_env.yaml: python: expected a version such as "3.11" or a specifier such '
                "as \">=3.10\"; got 'three'"
            ),
        ),
        (
            "dependencies: numpy\n",
            "python_env.yaml: dependencies: expected a list of strings; got 'numpy'",
        ),
        (
            "dependencies: [1]\n",
            "python_env.yaml: dependencies[0]: expected a string; got the number 1",
        ),
        ("pyhton: '3.11'\n", "python_env.yaml: pyhton: unknown key"),
    ],
)
def test_errors(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(SpecError) as info:
        load(tmp_path, text)
    assert str(info.value).startswith(expected)


def test_an_unquoted_specifier_says_how_to_quote_it(tmp_path: Path) -> None:
    path = tmp_path / "python_env.yaml"
    path.write_text("python: >=3.10\ndependencies: []\n")
    with pytest.raises(SpecError, match=r'quote a version specifier: python: ">=3\.10"'):
        load_python_env(path)
