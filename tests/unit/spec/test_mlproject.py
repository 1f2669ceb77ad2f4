from __future__ import annotations

from pathlib import Path

import pytest

from mlrun_cli.errors import SpecError, UsageError
from mlrun_cli.spec.mlproject import load_project


def project(tmp_path: Path, text: str, name: str = "MLproject") -> Path:
    folder = tmp_path / "proj"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def error_of(folder: Path) -> str:
    with pytest.raises(SpecError) as info:
        load_project(folder)
    return str(info.value)


def test_full_mlflow_format(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        """
name: wine
python_env: env.yaml
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
      l1_ratio: float
      epochs: {type: int, default: 10}
      data: {type: path, default: data.csv}
      flag: {type: bool, default: true}
      name: {default: x}
    command: "python train.py --alpha {alpha} --l1 {l1_ratio}"
""",
    )
    (folder / "env.yaml").write_text("python: '3.11'\n")
    loaded = load_project(folder)
    assert loaded.name == "wine"
    assert loaded.env.kind == "python_env"
    assert loaded.env.path == folder / "env.yaml"
    main = loaded.entry_point("main")
    assert [p.name for p in main.parameters] == [
        "alpha",
        "l1_ratio",
        "epochs",
        "data",
        "flag",
        "name",
    ]
    assert [p.type for p in main.parameters] == ["float", "float", "int", "path", "bool", "string"]
    assert main.parameter("alpha").default == "0.5"  # type: ignore[union-attr]
    assert main.parameter("l1_ratio").required  # type: ignore[union-attr]
    assert main.parameter("flag").default == "True"  # type: ignore[union-attr] # as MLflow


def test_bad_type_names_file_key_expected_and_found(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        "entry_points:\n  main:\n    parameters:\n      alpha: {type: flaot}\n    command: x\n",
    )
    assert error_of(folder) == (
        "MLproject: entry_points.main.parameters.alpha.type: expected one of float, int, "
        "string, bool, path, uri; got 'flaot'"
    )


def test_shorthand_bad_type(tmp_path: Path) -> None:
    folder = project(
        tmp_path, "entry_points:\n  main:\n    parameters:\n      a: flaot\n    command: x\n"
    )
    assert "entry_points.main.parameters.a: expected one of" in error_of(folder)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "MLproject: the file is empty; expected a mapping with 'entry_points'"),
        (
            "- a\n- b\n",
            "MLproject: expected a mapping with keys such as 'name' and 'entry_points'; got a list",
        ),
        ("entry_points: [main]\n", "MLproject: entry_points: expected a mapping; got a list"),
        (
            "entry_points:\n  main: python x.py\n",
            "MLproject: entry_points.main: expected a mapping with 'command' and optional 'parameters'; got 'python x.py'",
        ),
        (
            "entry_points:\n  main:\n    parameters: {}\n",
            "MLproject: entry_points.main.command: expected a command string; got nothing (null)",
        ),
        (
            "entry_points:\n  main:\n    parameters: [a]\n    command: x\n",
            "MLproject: entry_points.main.parameters: expected a mapping; got a list",
        ),
        (
            "entry_points:\n  main:\n    command: python {alpha}\n",
            "MLproject: entry_points.main.command: {alpha} is not a declared parameter; declared: none",
        ),
        (
            "entry_points:\n  main:\n    command: python {a\n",
            "MLproject: entry_points.main.command: invalid template",
        ),
        (
            "entry_points:\n  main:\n    parameters:\n      a: {type: float, default: abc}\n    command: x\n",
            "MLproject: entry_points.main.parameters.a.default: expected a float; got 'abc'",
        ),
        (
            "entry_points:\n  main:\n    parameters:\n      a: {type: int, default: 1.5}\n    command: x\n",
            "MLproject: entry_points.main.parameters.a.default: expected an int; got the number 1.5",
        ),
        ("name: [x]\nentry_points: {}\n", "MLproject: name: expected a string; got a list"),
        ("key: : bad\n", "MLproject: invalid YAML: line 1"),
        (
            "python_env: a.yaml\nconda_env: b.yaml\n",
            "MLproject: expected at most one of python_env, conda_env, docker_env",
        ),
        (
            "python_env: missing.yaml\n",
            "MLproject: python_env: expected an existing file; got 'missing.yaml' (no such file)",
        ),
    ],
)
def test_spec_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(project(tmp_path, text)).startswith(expected)


def test_lowercase_mlproject_is_accepted(tmp_path: Path) -> None:
    folder = project(tmp_path, "entry_points:\n  main:\n    command: echo hi\n", name="mlproject")
    assert load_project(folder).entry_point("main").command == "echo hi"


def test_unknown_keys_warn_with_suggestion(tmp_path: Path) -> None:
    folder = project(tmp_path, "entry_point:\n  main:\n    command: x\n")
    loaded = load_project(folder)
    assert loaded.warnings == (
        "MLproject: entry_point: unknown key ignored (did you mean 'entry_points'?)",
    )


def test_env_discovery_order(tmp_path: Path) -> None:
    folder = project(tmp_path, "entry_points: {}\n")
    assert load_project(folder).env.kind == "none"
    (folder / "conda.yaml").write_text("dependencies: []\n")
    assert load_project(folder).env.kind == "conda_env"
    (folder / "python_env.yaml").write_text("python: '3.11'\n")
    assert load_project(folder).env.path == folder / "python_env.yaml"
    (folder / "MLproject").write_text("conda_env: conda.yaml\n")
    assert load_project(folder).env.kind == "conda_env"


def test_docker_env_is_parsed(tmp_path: Path) -> None:
    folder = project(tmp_path, "docker_env:\n  image: python:3.11\n")
    assert load_project(folder).env.docker_image == "python:3.11"


def test_script_entry_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = project(tmp_path, "entry_points:\n  main:\n    command: x\n")
    (folder / "train.py").write_text("")
    (folder / "run me.sh").write_text("")
    loaded = load_project(folder)
    monkeypatch.delenv("SHELL", raising=False)
    assert loaded.entry_point("train.py").command == "python train.py"
    assert loaded.entry_point("run me.sh").command == "bash 'run me.sh'"
    monkeypatch.setenv("SHELL", "/usr/bin/zsh")  # MLflow runs .sh files with $SHELL
    assert loaded.entry_point("run me.sh").command == "/usr/bin/zsh 'run me.sh'"
    with pytest.raises(UsageError, match="no such file"):
        loaded.entry_point("other.py")
    with pytest.raises(UsageError, match="did you mean 'main'"):
        loaded.entry_point("mian")


def test_no_mlproject_at_all(tmp_path: Path) -> None:
    folder = tmp_path / "bare"
    folder.mkdir()
    (folder / "train.py").write_text("")
    loaded = load_project(folder)
    assert loaded.mlproject_path is None
    assert loaded.entry_point("train.py").is_script


@pytest.mark.parametrize("command", ['echo "name={name}"', "echo '{name}'", 'echo "a \\" {name}"'])
def test_placeholders_inside_quotes_are_refused(tmp_path: Path, command: str) -> None:
    import yaml

    text = yaml.safe_dump(
        {"entry_points": {"main": {"parameters": {"name": "string"}, "command": command}}}
    )
    assert error_of(project(tmp_path, text)) == (
        "MLproject: entry_points.main.command: {name} stands inside quotes; "
        "mlrun shell-quotes values itself: remove the quotes around it"
    )


def test_quotes_elsewhere_are_fine(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        "entry_points:\n  main:\n    parameters: {n: string}\n    command: echo 'it''s' \"x\" {n}\n",
    )
    assert load_project(folder).entry_point("main").command.endswith("{n}")


def test_script_entry_points_must_stay_inside_the_project(tmp_path: Path) -> None:
    folder = project(tmp_path, "entry_points: {}\n")
    (tmp_path / "outside.py").write_text("")
    with pytest.raises(UsageError, match="expected a file inside the project"):
        load_project(folder).entry_point("../outside.py")


def test_yaml_1_1_surprises_in_defaults_are_warned(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        "entry_points:\n  main:\n    parameters:\n"
        "      answer: {type: string, default: yes}\n"
        "      mode: {type: int, default: 010}\n"
        "      version: {type: string, default: 1.10}\n"
        '      plain: {type: string, default: "yes"}\n'
        "      n: {type: int, default: 10}\n"
        "      flag: {type: bool, default: yes}\n"
        "      octal_text: {type: string, default: 0o17}\n"
        "      big: {type: int, default: 1_000}\n"
        "    command: x {answer} {mode} {version} {plain} {n} {flag} {octal_text} {big}\n",
    )
    loaded = load_project(folder)
    assert loaded.entry_points["main"].parameters[0].default == "True"  # as MLflow passes it
    prefix = "MLproject: line {}: entry_points.main.parameters."
    assert list(loaded.warnings) == [
        prefix.format(4) + "answer.default: yes is read by YAML 1.1 as the boolean True; "
        "quote it (default: \"yes\") if you meant the text 'yes'",
        prefix.format(5) + "mode.default: 010 is read by YAML 1.1 as the number 8; "
        "quote it (default: \"010\") if you meant the text '010'",
        prefix.format(6) + "version.default: 1.10 is read by YAML 1.1 as the number 1.1; "
        "quote it (default: \"1.10\") if you meant the text '1.10'",
    ]


def test_a_heredoc_placeholder_and_a_huge_int_literal_are_spec_errors(tmp_path: Path) -> None:
    heredoc = "entry_points:\n  main:\n    command: |\n      cat <<EOF\n      {x}\n      EOF\n"
    assert "{x} stands inside a heredoc" in error_of(project(tmp_path, heredoc))
    huge = "entry_points:\n  main:\n    parameters:\n      n: {type: int, default: %s}\n" % (
        "9" * 5000
    )
    assert error_of(project(tmp_path, huge + "    command: echo {n}\n")).startswith(
        "MLproject: invalid YAML value: Exceeds the limit"
    )
