"""Command templates: a placeholder is refused wherever a shell-quoted value would not be safe
(inside quotes, inside heredocs); everywhere else a hostile value stays one inert word."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlrun_cli.spec.template import parse_template, render, unsafe_placeholders


@pytest.mark.parametrize(
    ("command", "where"),
    [
        ("cat <<EOF\nhello {x}\nEOF", "a heredoc"),
        ("cat <<-END\n\t{x}\n\tEND", "a heredoc"),
        ("cat <<'EOF'\n{x}\nEOF", "a heredoc"),
        ("python t.py <<EOF; echo ok\n{x}\nEOF", "a heredoc"),
        ('echo "{x}"', "quotes"),
        ("echo {x}\\{x}", "a backslash escape"),
        ("echo `ls {x}`", "backticks"),
        ("echo $(( {x} + 1 ))", "an arithmetic expression"),
        ('"b"\\\n#cat <<-EOF\n{x}', "a heredoc"),  # a continued word: no comment
        ("echo '{x}'", "quotes"),
    ],
)
def test_placeholders_in_heredocs_and_quotes_are_refused(command: str, where: str) -> None:
    assert unsafe_placeholders(parse_template(command)) == [("x", where)]


@pytest.mark.parametrize(
    "command",
    ["cat <<EOF\nbody\nEOF\npython t.py {x}", "python t.py {x} <<< {x}", "echo {x} # <<EOF",
     "python t.py --a {x} 2>&1 | tee log"],
)  # fmt: skip
def test_placeholders_outside_are_accepted(command: str) -> None:
    assert unsafe_placeholders(parse_template(command)) == []


_FRAGMENTS = st.sampled_from(
    ["cat <<EOF\n", "cat <<-EOF\n", "cat <<'EOF'\n", "cat << \"EOF\"\n", "EOF\n", "\tEOF\n",
     "{x}", "{x}", "{x}", "{x}", "echo ", "'a'", '"b"', "'", '"', "\\", "; ", "\n", " ", " ",
     "<<< ", "# ", "#", "$(", ")", "`", "=", "--a=", "$", "${", "}}", "{{", "\\\n", "&", "|",
     "((", "))", "$((", "<(", "[[ ", " ]]", "x[", "]"]
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(_FRAGMENTS, min_size=1, max_size=10).map("".join))
def test_an_accepted_template_never_runs_a_value(tmp_path: Path, command: str) -> None:
    try:
        pieces = parse_template(command)
    except ValueError:
        return
    if unsafe_placeholders(pieces) or "{x}" not in command:
        return
    marker = tmp_path / "PWNED"
    marker.unlink(missing_ok=True)  # tmp_path is shared by the examples
    value = f"$(touch {marker})`touch {marker}`"
    script = render(pieces, {"x": shlex.quote(value)})
    subprocess.run(["bash", "-c", script], cwd=tmp_path, stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=10, check=False)  # fmt: skip
    assert not marker.exists(), script


@pytest.mark.parametrize(
    "command",
    [
        "echo $[ {a} ]",
        "[[ {a} -eq 1 ]]",
        "let {a}",
        "declare -i x={a}",
        "printf -v {a} x",
        "read {a} <<< x",
        "test -v {a}",
        "if true; then unset {a}; fi",
    ],
)
def test_placeholders_where_bash_evaluates_words_are_refused(command: str) -> None:
    # `a[$(cmd)]` in arithmetic or a subscript runs cmd even from a quoted value.
    assert unsafe_placeholders(parse_template(command))


@pytest.mark.parametrize(
    "command", ["python train.py {a}", "echo {a}; let x=1", "echo $((1)) {a}", "echo [{a}]"]
)
def test_ordinary_arguments_stay_accepted(command: str) -> None:
    assert unsafe_placeholders(parse_template(command)) == []
