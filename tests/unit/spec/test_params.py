from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from mlrun_cli.errors import UsageError
from mlrun_cli.spec.mlproject import EntryPoint, ParameterSpec
from mlrun_cli.spec.params import bind_params, parse_cli_params

EP = EntryPoint(
    "main",
    "python train.py --alpha {alpha} --name {name}",
    (
        ParameterSpec("alpha", "float", None),
        ParameterSpec("name", "string", "default name"),
        ParameterSpec("epochs", "int", "10"),
    ),
)


def bind(ep: EntryPoint, given: dict[str, str], tmp_path: Path, strict: bool = False):  # type: ignore[no-untyped-def]
    return bind_params(ep, given, user_cwd=tmp_path, project_dir=tmp_path, strict=strict)


def test_parse_cli_params_splits_at_first_equals() -> None:
    assert parse_cli_params(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["alpha"], "-P 'alpha': expected NAME=VALUE"),
        (["a=1", "a=2"], "-P a: given more than once ('1' and '2')"),
        (["a;b=1"], "-P 'a;b=1': parameter name 'a;b' must start with a letter"),
        (["=1"], "-P '=1': parameter name '' must start"),
    ],
)
def test_parse_cli_params_errors(items: list[str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_cli_params(items)
    assert str(info.value).startswith(message)


def test_typed_values_are_canonical(tmp_path: Path) -> None:
    bound = bind(EP, {"alpha": ".5", "epochs": "+007"}, tmp_path)
    assert bound.as_dict() == {"alpha": "0.5", "name": "default name", "epochs": "7"}
    assert bound.command == "python train.py --alpha 0.5 --name 'default name'"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"alpha": "abc"}, "-P alpha=abc: expected a float for parameter 'alpha'"),
        ({"alpha": "1", "epochs": "1.5"}, "-P epochs=1.5: expected an int for parameter 'epochs'"),
    ],
)
def test_invalid_values(tmp_path: Path, given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        bind(EP, given, tmp_path)
    assert str(info.value) == message


def test_missing_required_listed_in_declaration_order(tmp_path: Path) -> None:
    ep = EntryPoint(
        "main", "x", (ParameterSpec("zeta"), ParameterSpec("beta"), ParameterSpec("c", default="1"))
    )
    with pytest.raises(UsageError) as info:
        bind(ep, {}, tmp_path)
    assert str(info.value) == (
        "entry point 'main': missing required parameter(s) zeta, beta "
        "(pass -P zeta=VALUE -P beta=VALUE)"
    )


def test_bool_and_uri(tmp_path: Path) -> None:
    ep = EntryPoint("m", "x {b} {u}", (ParameterSpec("b", "bool"), ParameterSpec("u", "uri")))
    assert bind(ep, {"b": "Yes", "u": "s3://bucket/x"}, tmp_path).as_dict() == {
        "b": "Yes",
        "u": "s3://bucket/x",
    }
    # MLflow passes a bool's literal: its example does int(sys.argv[1]) for -P flag=1.
    assert bind(ep, {"b": "1", "u": "s3://x"}, tmp_path).command == "x 1 s3://x"
    with pytest.raises(UsageError, match="expected a bool"):
        bind(ep, {"b": "maybe", "u": "s3://x"}, tmp_path)
    with pytest.raises(UsageError, match="expected a uri with a scheme"):
        bind(ep, {"b": "0", "u": "just/a/path"}, tmp_path)


def test_path_must_exist_and_becomes_absolute(tmp_path: Path) -> None:
    user_cwd = tmp_path / "cwd"
    project = tmp_path / "project"
    user_cwd.mkdir()
    project.mkdir()
    (user_cwd / "data.csv").write_text("x")
    (project / "default.csv").write_text("x")
    ep = EntryPoint("m", "x {p}", (ParameterSpec("p", "path", "default.csv"),))
    given = bind_params(ep, {"p": "data.csv"}, user_cwd=user_cwd, project_dir=project)
    assert given.as_dict() == {"p": str(user_cwd / "data.csv")}
    default = bind_params(ep, {}, user_cwd=user_cwd, project_dir=project)
    assert default.as_dict() == {"p": str(project / "default.csv")}
    with pytest.raises(UsageError, match=r"-P p: expected an existing path; got 'nope\.csv'"):
        bind_params(ep, {"p": "nope.csv"}, user_cwd=user_cwd, project_dir=project)
    # Checked later (after the data step restores it), still made absolute.
    later = bind_params(ep, {"p": "nope.csv"}, user_cwd=user_cwd, project_dir=project,
                        check_paths=False)  # fmt: skip
    assert later.as_dict() == {"p": str(user_cwd / "nope.csv")}


def test_path_urls(tmp_path: Path) -> None:
    ep = EntryPoint("m", "x {p}", (ParameterSpec("p", "path"),))
    remote = bind_params(ep, {"p": "s3://bucket/train.csv"}, user_cwd=tmp_path,
                         project_dir=tmp_path, check_paths=False)  # fmt: skip
    assert remote.as_dict() == {"p": "s3://bucket/train.csv"}
    (tmp_path / "a b.csv").write_text("x")
    local = bind_params(ep, {"p": f"file://{tmp_path}/a%20b.csv"}, user_cwd=tmp_path,
                        project_dir=tmp_path)  # fmt: skip
    assert local.as_dict() == {"p": str(tmp_path / "a b.csv")}
    with pytest.raises(UsageError, match="expected a local file:// URL"):
        bind_params(ep, {"p": "file://host/x"}, user_cwd=tmp_path, project_dir=tmp_path)


def test_values_are_shell_quoted_never_executed(tmp_path: Path) -> None:
    ep = EntryPoint("m", "echo {name}", (ParameterSpec("name"),))
    bound = bind(ep, {"name": "x; echo pwned $(id) `id`"}, tmp_path)
    assert bound.as_dict()["name"] == "x; echo pwned $(id) `id`"
    out = subprocess.run(["bash", "-c", bound.command], capture_output=True, text=True, check=True)
    assert out.stdout == "x; echo pwned $(id) `id`\n"


def test_undeclared_params_are_appended_with_a_suggestion(tmp_path: Path) -> None:
    bound = bind(EP, {"alpha": "1", "alpah": "2", "extra": "a b"}, tmp_path)
    assert bound.command.endswith(" --alpah 2 --extra 'a b'")
    assert bound.warnings == (
        (
            "parameter 'alpah' is not declared by entry point 'main' (did you mean 'alpha'?); "
            "passing it as --alpah 2"
        ),
        "parameter 'extra' is not declared by entry point 'main'; passing it as --extra 'a b'",
    )
    assert [p.type for p in bound.params][-2:] == [None, None]


def test_strict_refuses_undeclared(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        bind(EP, {"alpha": "1", "alpah": "2"}, tmp_path, strict=True)
    assert "did you mean 'alpha'?" in str(info.value)
    assert "(--strict)" in str(info.value)


def test_script_entry_points_take_any_params_silently(tmp_path: Path) -> None:
    ep = EntryPoint("train.py", "python train.py", (), is_script=True)
    bound = bind(ep, {"lr": "0.1"}, tmp_path, strict=True)
    assert shlex.split(bound.command) == ["python", "train.py", "--lr", "0.1"]
    assert bound.warnings == ()


def test_placeholder_names_are_substituted_literally(tmp_path: Path) -> None:
    ep = EntryPoint("m", "run {a.b} {0} {{literal}}", (ParameterSpec("a.b"), ParameterSpec("0")))
    assert bind(ep, {"a.b": "x y", "0": "z"}, tmp_path).command == "run 'x y' z {literal}"


def test_int_rejects_doubled_signs_and_unicode_digits(tmp_path: Path) -> None:
    ep = EntryPoint("m", "x {n}", (ParameterSpec("n", "int"),))
    for bad in ("--5", "²", "1_000"):
        with pytest.raises(UsageError, match="expected an int"):
            bind(ep, {"n": bad}, tmp_path)
